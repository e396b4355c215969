import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeProject, PROJECT_GIT_ENV } from '../../demo/project.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tmp = () => {
  const d = realpathSync(mkdtempSync(join(tmpdir(), 'coord-example-')));
  dirs.push(d);
  return d;
};

/** The one ```sh block under "## Recreating it" in docs/example-project.md. */
function recreateBlock(): string {
  const doc = readFileSync(join(ROOT, 'docs', 'example-project.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Recreating it'));
  const start = section.indexOf('```sh\n') + 6;
  return section.slice(start, section.indexOf('\n```\n', start));
}

const git = (cwd: string, ...args: string[]) =>
  spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...PROJECT_GIT_ENV },
  }).stdout.trim();

describe('docs/example-project.md (issue 9 item 15)', () => {
  it('recreates the project the docs examples run in: the same git tree as demo/project.ts', () => {
    const byDocs = tmp();
    const res = spawnSync('bash', ['-e', '-c', recreateBlock()], {
      cwd: byDocs,
      encoding: 'utf8',
      env: { ...process.env, ...PROJECT_GIT_ENV, GIT_CONFIG_GLOBAL: '/dev/null' },
    });
    expect(res.status, res.stderr).toBe(0);
    const byCode = join(tmp(), 'shop');
    makeProject(byCode);
    const shop = join(byDocs, 'shop');
    expect(git(shop, 'status', '--porcelain')).toBe('');
    expect(git(shop, 'rev-parse', 'HEAD^{tree}')).toBe(git(byCode, 'rev-parse', 'HEAD^{tree}'));
    expect(git(shop, 'branch', '--show-current')).toBe('main');
  });
});
