import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, run, sh } from '../fixtures/repo.js';
import { cliJson, expectExit, makeCoordRepo, refs, worktrees } from './helpers.js';

afterAll(cleanup);

/** Every ref under refs/coord and refs/heads with its oid, and the worktrees: "nothing was written". */
const snapshot = (dir: string) => ({
  refs: [...refs(dir, 'refs/coord/'), ...refs(dir, 'refs/heads/')].map(
    (r) => `${r} ${sh(dir, 'rev-parse', r)}`,
  ),
  worktrees: worktrees(dir).map((w) => w.path),
});

const A = { COORD_HOLDER: 'agent-a' };

/** Runs a refused command: exit 2, a one-line message containing `says`, no internal error, nothing written. */
async function refused(dir: string, args: string[], says: string | RegExp, env: Record<string, string> = A) {
  const before = snapshot(dir);
  const res = await expectExit(dir, args, 2, env);
  expect(res.stderr, args.join(' ')).toMatch(typeof says === 'string' ? new RegExp(literal(says)) : says);
  expect(res.stderr, args.join(' ')).not.toMatch(/internal error|Unknown argument|\n\s+at /);
  expect(snapshot(dir), args.join(' ')).toEqual(before);
  const json = await expectExit(dir, [...args, '--json'], 2, env);
  expect(JSON.parse(json.stdout).error.code).not.toBe('internal');
  return res;
}
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('bad input is a clear usage error, exit 2, nothing written (issue 9 item 11)', () => {
  it('--ttl: empty, negative (as a separate word too), zero, over 365d', async () => {
    const dir = makeCoordRepo();
    await refused(dir, ['claim', '1', '--ttl', ''], 'invalid --ttl ""');
    await refused(dir, ['claim', '1', '--ttl', '-5m'], 'invalid --ttl "-5m": a duration cannot be negative');
    await refused(dir, ['claim', '1', '--ttl=-5m'], 'cannot be negative');
    await refused(dir, ['run', '1', '--no-worktree', '--ttl', '-5m', '--', 'true'], 'cannot be negative', A);
    await refused(
      dir,
      ['parallel', '1', '2', '--yes', '--ttl', '-5m', '--', 'true'],
      'cannot be negative',
      A,
    );
    await refused(dir, ['claim', '1', '--ttl', '0s'], '--ttl must be at least 1s');
    await refused(dir, ['claim', '1', '--ttl', '400d'], '--ttl "400d" is too long: at most 365d');
    await refused(dir, ['claim', '1', '--ttl', '99999999999999d'], /--ttl .* too long|invalid --ttl/);
    await expectExit(dir, ['claim', '1', '--no-worktree', '--ttl', '365d'], 0, A);
    await refused(dir, ['renew', '1', '--ttl', ''], 'invalid --ttl ""');
    await refused(dir, ['renew', '1', '--ttl', '-1s'], 'cannot be negative');
    await refused(dir, ['takeover', '1', '--ttl', ''], 'invalid --ttl ""', { COORD_HOLDER: 'agent-b' });
  });

  it('--holder "" is refused, not a silent fall-back to the next identity', async () => {
    const dir = makeCoordRepo();
    await refused(dir, ['claim', '1', '--no-worktree', '--holder', ''], '--holder needs a non-empty id', {});
    await expectExit(dir, ['claim', '1', '--no-worktree'], 0, A);
    await refused(dir, ['release', '1', '--holder', ''], '--holder needs a non-empty id');
    await refused(dir, ['renew', '1', '--holder', '   '], '--holder needs a non-empty id');
  });

  it('--note and --reason: too long or with control characters', async () => {
    const dir = makeCoordRepo();
    await refused(
      dir,
      ['claim', '1', '--note', 'x'.repeat(4097)],
      '--note is too long: 4097 characters, at most 4096',
    );
    await refused(dir, ['claim', '1', '--note', 'a\x1b[31mred'], '--note "a\\x1b[31mred" holds control');
    await expectExit(dir, ['claim', '1', '--no-worktree', '--note', `${'x'.repeat(4000)}\n\tok`], 0, A);
    await refused(dir, ['crash', '1', '--reason', 'r'.repeat(5000)], '--reason is too long');
    await refused(dir, ['done', '1', '--force', '--reason', 'r'.repeat(5000)], '--reason is too long');
    await refused(dir, ['takeover', '1', '--force', '--reason', 'r'.repeat(5000)], '--reason is too long', {
      COORD_HOLDER: 'agent-b',
    });
  });

  it('--worktree "" is refused (it used to mean the main worktree)', async () => {
    const dir = makeCoordRepo();
    await refused(dir, ['claim', '1', '--worktree', ''], '--worktree needs a path');
  });

  it('--pid of a process that is gone, or that cannot exist, is refused; $COORD_PID too', async () => {
    const dir = makeCoordRepo();
    const child = spawn('true');
    await new Promise((r) => child.once('close', r));
    const dead = String(child.pid);
    await refused(
      dir,
      ['claim', '1', '--no-worktree', '--pid', dead],
      `no process ${dead} on this host (from --pid)`,
    );
    await refused(dir, ['claim', '1', '--no-worktree', '--pid', '99999999999'], 'invalid pid "99999999999"');
    await refused(dir, ['claim', '1', '--no-worktree', '--pid', '-3'], /invalid pid|Unknown/);
    await refused(dir, ['claim', '1', '--no-worktree', '--pid', '12abc'], 'invalid pid "12abc"');
    await refused(dir, ['claim', '1', '--no-worktree'], `(from $COORD_PID)`, { ...A, COORD_PID: dead });
    // A live agent process is recorded.
    const agent = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const l = await cliJson<{ holder: { pid: number } }>(
        dir,
        ['claim', '1', '--no-worktree', '--pid', String(agent.pid)],
        0,
        A,
      );
      expect(l.holder.pid).toBe(agent.pid);
    } finally {
      agent.kill('SIGKILL');
    }
  });

  it('--branch refs/heads/main (or heads/…, tags/…) is refused: git would find the name ambiguous', async () => {
    const dir = makeCoordRepo();
    const res = await refused(
      dir,
      ['claim', '1', '--branch', 'refs/heads/main'],
      'give the short name, main',
    );
    expect(res.stderr).toContain('ambiguous');
    await refused(dir, ['claim', '1', '--no-worktree', '--branch', 'heads/main'], 'starts with "heads/"');
    await refused(dir, ['claim', '1', '--branch', 'tags/v1'], 'starts with "tags/"');
    // What it prevented: git's own warning about refs/heads/main once such a branch exists.
    sh(dir, 'branch', 'refs/heads/main');
    const warned = await run('git', ['rev-parse', 'refs/heads/main'], { cwd: dir });
    expect(warned.stderr).toMatch(/ambiguous/);
  });
});

describe('claiming a branch everyone shares needs --allow-shared-branch (issue 9 item 11)', () => {
  it("the main worktree's branch with --no-worktree: refused, then held with the flag (and it does block others)", async () => {
    const dir = makeCoordRepo({ protect: [] });
    const res = await refused(
      dir,
      ['claim', '1', '--no-worktree', '--branch', 'main'],
      'branch main is the branch checked out in the main worktree',
    );
    expect(res.stderr).toContain('--allow-shared-branch');
    const held = await cliJson<{ branch: string }>(
      dir,
      ['claim', '1', '--no-worktree', '--branch', 'main', '--allow-shared-branch'],
      0,
      A,
    );
    expect(held.branch).toBe('main');
    // What the flag means (and why it is asked for): another holder's commit on main is refused now.
    await expectExit(dir, ['init'], 0);
    const env = (holder: string) => ({ COORD_HOLDER: holder, COORD_PID: undefined, COORD: undefined });
    const other = await run('git', ['commit', '--allow-empty', '-m', 'b on main'], {
      cwd: dir,
      env: env('agent-b'),
    });
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('agent-a');
    const own = await run('git', ['commit', '--allow-empty', '-m', 'a on main'], {
      cwd: dir,
      env: env('agent-a'),
    });
    expect(own.code, own.stderr).toBe(0);
  });

  it('a protected branch, with or without a worktree: refused unless --allow-shared-branch', async () => {
    const dir = makeCoordRepo({ protect: ['main', 'release'] });
    sh(dir, 'branch', 'release');
    await refused(
      dir,
      ['claim', '2', '--branch', 'release'],
      'branch release is protected (`protect` in .coord/config.json)',
    );
    await refused(dir, ['claim', '2', '--no-worktree', '--branch', 'release'], 'is protected');
    expect(existsSync(join(dir, '.coord', 'worktrees', '2'))).toBe(false);
    const l = await cliJson<{ branch: string; worktree: { path: string } }>(
      dir,
      ['claim', '2', '--branch', 'release', '--allow-shared-branch'],
      0,
      A,
    );
    expect([l.branch, existsSync(l.worktree.path)]).toEqual(['release', true]);
    // An ordinary branch needs no flag.
    await expectExit(dir, ['claim', '3', '--no-worktree', '--branch', 'feature-3'], 0, A);
  });
});
