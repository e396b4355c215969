import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { listPaths } from '../../src/gates/index.js';
import { cli, makeCoordRepo } from '../cli/helpers.js';
import { cleanup, GIT_ENV, sh } from '../fixtures/repo.js';

afterAll(cleanup);

function git(dir: string, args: string[], input: string): string {
  return execFileSync('git', args, {
    cwd: dir,
    input,
    env: { ...process.env, ...GIT_ENV },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  }).trim();
}

describe('a gate rule matching 20,000 files (issue 9 item 13)', () => {
  it('summarises the paths: gate, done and their --json stay short', async () => {
    const dir = makeCoordRepo({ gates: { done: { require: ['data/*.txt'] } } });
    // A commit whose tree holds data/f00000.txt … data/f19999.txt (plumbing: one blob, one tree).
    const blob = git(dir, ['hash-object', '-w', '--stdin'], 'x\n');
    const lines = Array.from(
      { length: 20_000 },
      (_, i) => `100644 blob ${blob}\tf${String(i).padStart(5, '0')}.txt`,
    );
    const data = git(dir, ['mktree'], `${lines.join('\n')}\n`);
    const root = git(dir, ['mktree'], `${sh(dir, 'ls-tree', 'HEAD')}\n040000 tree ${data}\tdata\n`);
    const commit = git(dir, ['commit-tree', root, '-p', 'HEAD', '-m', 'data'], '');
    sh(dir, 'update-ref', 'refs/heads/coord/big', commit);
    const env = { COORD_HOLDER: 'agent-1' };
    expect((await cli(dir, ['claim', 'big', '--no-worktree', '--branch', 'coord/big'], env)).code).toBe(0);

    const gate = await cli(dir, ['gate', 'big'], env);
    expect(gate.code, gate.stderr).toBe(0);
    const longest = Math.max(...`${gate.stdout}${gate.stderr}`.split('\n').map((l) => l.length));
    expect(longest).toBeLessThan(300);
    expect(gate.stdout).toContain(
      'data/f00000.txt, data/f00001.txt, data/f00002.txt, data/f00003.txt, data/f00004.txt and 19,995 more (20,000 in all)',
    );
    const json = await cli(dir, ['gate', 'big', '--json'], env);
    expect(json.stdout.length).toBeLessThan(2000);
    const done = await cli(dir, ['done', 'big'], env);
    expect(done.code, done.stderr).toBe(0);
    expect(Math.max(...done.stdout.split('\n').map((l) => l.length))).toBeLessThan(300);
  });

  it('listPaths keeps short lists as they are', () => {
    expect(listPaths(['a', 'b'])).toBe('a, b');
    expect(listPaths(['1', '2', '3', '4', '5', '6'])).toBe('1, 2, 3, 4, 5 and 1 more (6 in all)');
  });
});
