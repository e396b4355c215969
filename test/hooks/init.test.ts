import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OUTPUT_SCHEMAS } from '../../src/cli/schemas.js';
import { parseConfig, STARTER_CONFIG } from '../../src/config/config.js';
import { cli } from '../cli/helpers.js';
import { cleanup, makeBareRemote, makeRepo, sh } from '../fixtures/repo.js';

afterAll(cleanup);

describe('git coord init', () => {
  it('installs the hooks, writes the starter config, excludes the worktrees directory; idempotent', async () => {
    const dir = makeRepo();
    const res = await cli(dir, ['init', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    OUTPUT_SCHEMAS.init!.parse(out);
    expect(out.configWritten).toBe(join(dir, '.coord', 'config.json'));
    const text = readFileSync(join(dir, '.coord', 'config.json'), 'utf8');
    expect(JSON.parse(text)).toEqual(STARTER_CONFIG);
    expect(parseConfig(text, 'x').gates.done).toBeDefined();
    expect(readFileSync(join(dir, '.git', 'info', 'exclude'), 'utf8')).toContain('/.coord/worktrees/\n');
    for (const h of ['pre-commit', 'commit-msg', 'pre-push'])
      expect(existsSync(join(dir, '.git', 'hooks', h))).toBe(true);
    // The hooks call this very CLI (tests run a private snapshot of dist/), by absolute path.
    const cliLine = /^coord_cli='(.*)'$/m.exec(
      readFileSync(join(dir, '.git', 'hooks', 'pre-commit'), 'utf8'),
    );
    expect(cliLine?.[1]).toMatch(/^\/.*\/git-coord\.mjs$/);
    expect(existsSync(cliLine![1]!)).toBe(true);
    expect(sh(dir, 'status', '--porcelain', '-uall')).toBe('?? .coord/config.json');
    // git gc keeps blob-valued record reflogs quietly.
    expect(out.gcConfigured).toBe(true);
    expect(sh(dir, 'config', 'gc.refs/coord/*.reflogExpireUnreachable')).toBe('never');

    const again = JSON.parse((await cli(dir, ['init', '--json'])).stdout);
    expect(again.configWritten).toBeNull();
    expect(again.excluded).toBe(false);
    expect(again.gcConfigured).toBe(false);
    expect(again.hooks.actions.map((a: { action: string }) => a.action)).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
    expect(readFileSync(join(dir, '.coord', 'config.json'), 'utf8')).toBe(text);
    expect(
      readFileSync(join(dir, '.git', 'info', 'exclude'), 'utf8').match(/coord\/worktrees/g),
    ).toHaveLength(1);
  });

  it('keeps an existing config; refuses an invalid one naming the file (exit 1)', async () => {
    const dir = makeRepo();
    const mine = '{ "protect": ["release"] }\n';
    mkdirSync(join(dir, '.coord'));
    writeFileSync(join(dir, '.coord', 'config.json'), mine);
    expect((await cli(dir, ['init'])).code).toBe(0);
    expect(readFileSync(join(dir, '.coord', 'config.json'), 'utf8')).toBe(mine);
    writeFileSync(
      join(dir, '.coord', 'config.json'),
      '{ "gates": { "done": { "require": ["../../etc/passwd"] } } }',
    );
    const bad = await cli(dir, ['init']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('.coord/config.json');
    expect(bad.stderr).toContain('leaves the repository');
  });

  it('--remote R sets team mode; an unknown remote is a usage error', async () => {
    const dir = makeRepo();
    expect((await cli(dir, ['init', '--remote', 'origin'])).code).toBe(2);
    sh(dir, 'remote', 'add', 'origin', makeBareRemote());
    const res = await cli(dir, ['init', '--remote', 'origin', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).remote).toBe('origin');
    expect(sh(dir, 'config', 'coord.remote')).toBe('origin');
  });
});
