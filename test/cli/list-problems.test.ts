import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ListOutput } from '../../src/cli/schemas.js';
import { cleanup, GIT_ENV, sh } from '../fixtures/repo.js';
import { cli, makeCoordRepo } from './helpers.js';

afterAll(cleanup);

describe('list --json reports corrupt records instead of dropping them (issue 9 item 13)', () => {
  it('problems names each unreadable lease ref with its oid, reason and what to do', async () => {
    const dir = makeCoordRepo();
    const env = { COORD_HOLDER: 'agent-1' };
    expect((await cli(dir, ['claim', 'good', '--no-worktree'], env)).code).toBe(0);
    const bad = execFileSync('git', ['hash-object', '-w', '--stdin'], {
      cwd: dir,
      input: '{"schema": "coord.lease/v1", oops\n',
      env: { ...process.env, ...GIT_ENV },
      encoding: 'utf8',
    }).trim();
    sh(dir, 'update-ref', 'refs/coord/leases/bad', bad);
    writeFileSync(join(dir, '.git', 'refs/coord/leases/gone'), `${'ab'.repeat(20)}\n`);

    const res = await cli(dir, ['list', '--json'], env);
    expect(res.code, res.stderr).toBe(0);
    const out = ListOutput.parse(JSON.parse(res.stdout));
    expect(out.leases.map((l) => l.key)).toEqual(['good']);
    expect(out.problems.map((p) => [p.kind, p.ref, p.oid, p.objectMissing])).toEqual([
      ['corrupt-record', 'refs/coord/leases/bad', bad, false],
      ['corrupt-record', 'refs/coord/leases/gone', 'ab'.repeat(20), true],
    ]);
    expect(out.problems[0]!.reason).toMatch(/^not JSON/);
    expect(out.problems[0]!.message).toContain('git coord doctor --fix');
    expect(out.problems[1]!.message).not.toContain('cat-file');
    // human output: the same, as warnings on stderr, and the table of the readable ones
    const human = await cli(dir, ['list'], env);
    expect(human.code).toBe(0);
    expect(human.stderr).toContain('corrupt record refs/coord/leases/bad');
    expect(human.stderr).toContain('corrupt record refs/coord/leases/gone');
    // none: an empty array, always present
    const clean = makeCoordRepo();
    expect(JSON.parse((await cli(clean, ['list', '--json'], env)).stdout)).toEqual({
      leases: [],
      problems: [],
    });
  });

  it('the size error states the real size of a 10 MiB object, loose and packed', async () => {
    const dir = makeCoordRepo();
    const big = execFileSync('git', ['hash-object', '-w', '--stdin'], {
      cwd: dir,
      input: Buffer.alloc(10 * 1024 * 1024, 0x20),
      env: { ...process.env, ...GIT_ENV },
      encoding: 'utf8',
    }).trim();
    sh(dir, 'update-ref', 'refs/coord/leases/big', big);
    for (const layout of ['loose', 'packed']) {
      if (layout === 'packed') sh(dir, 'gc', '-q');
      const show = await cli(dir, ['show', 'big'], { COORD_HOLDER: 'a' });
      expect(show.code, layout).toBe(1);
      expect(show.stderr, layout).toContain(
        `object ${big} is 10485760 bytes; records are limited to 1048576 bytes`,
      );
    }
  });
});
