import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, sh } from '../fixtures/repo.js';
import { cli, cliJson, expectConsistent, expectExit, makeCoordRepo, refs, worktrees } from './helpers.js';

afterAll(cleanup);

interface LeaseJson {
  branch: string | null;
  baseRef: string | null;
  worktree: { id: string; path: string } | null;
}

describe('claim: worktree provisioning', () => {
  it('never clobbers an unknown directory at the path: exit 1 naming what to remove, nothing written', async () => {
    const dir = makeCoordRepo();
    const path = join(dir, '.coord', 'worktrees', '65');
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'precious.txt'), 'keep me\n');
    const res = await expectExit(dir, ['claim', '65', '--holder', 'a'], 1);
    expect(res.stderr).toContain(`${path} already exists and is not a git worktree`);
    expect(res.stderr).toContain('Remove or move it');
    expect(readFileSync(join(path, 'precious.txt'), 'utf8')).toBe('keep me\n');
    expect(refs(dir, 'refs/coord/')).toEqual([]);
    expect(sh(dir, 'branch', '--list', 'coord/65')).toBe('');
    expect(worktrees(dir)).toHaveLength(1);
  });

  it('adopts a leftover branch with no lease, keeping its commits', async () => {
    const dir = makeCoordRepo();
    sh(dir, 'branch', 'coord/65');
    sh(dir, 'checkout', '-q', 'coord/65');
    writeFileSync(join(dir, 'work.txt'), 'earlier work\n');
    sh(dir, 'add', 'work.txt');
    sh(dir, 'commit', '-q', '-m', 'earlier work');
    const tip = sh(dir, 'rev-parse', 'HEAD');
    sh(dir, 'checkout', '-q', 'main');
    const res = await expectExit(dir, ['claim', '65', '--holder', 'a'], 0);
    expect(res.stdout).toContain('existing branch adopted');
    const lease = expectConsistent(dir, '65');
    expect(sh(lease.worktree!.path, 'rev-parse', 'HEAD')).toBe(tip);
    expect(readFileSync(join(lease.worktree!.path, 'work.txt'), 'utf8')).toBe('earlier work\n');
  });

  it('rolls the worktree and branch back when the ref transaction fails', async () => {
    const dir = makeCoordRepo();
    // A ref named like a directory of the branch index makes the transaction fail after `worktree add`.
    const blob = sh(dir, 'hash-object', '-w', '--stdin');
    sh(dir, 'update-ref', 'refs/coord/branches/coord', blob);
    const res = await expectExit(dir, ['claim', '65', '--holder', 'a'], 1);
    expect(res.stderr).toContain('refs/coord/branches/coord/65');
    expect(worktrees(dir)).toHaveLength(1);
    expect(existsSync(join(dir, '.coord', 'worktrees', '65'))).toBe(false);
    expect(sh(dir, 'branch', '--list', 'coord/65')).toBe('');
    expect(refs(dir, 'refs/coord/leases/')).toEqual([]);
    expect(existsSync(join(dir, '.git', 'coord-provision.lock'))).toBe(false);
  });

  it('honours --worktree (relative to the cwd), --branch, --base, config dir/branch pattern, and info/exclude', async () => {
    const dir = makeCoordRepo({ worktrees: { dir: 'wt', branch: 'work/{key}' } });
    const first = sh(dir, 'rev-parse', 'HEAD');
    writeFileSync(join(dir, 'later.txt'), 'x\n');
    sh(dir, 'add', 'later.txt');
    sh(dir, 'commit', '-q', '-m', 'later');
    const a = await cliJson<LeaseJson>(dir, ['claim', 'a', '--holder', 'h', '--base', 'HEAD~1']);
    expect(a).toMatchObject({ branch: 'work/a', baseRef: first, worktree: { path: join(dir, 'wt', 'a') } });
    expect(sh(a.worktree!.path, 'rev-parse', 'HEAD')).toBe(first);
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const b = await cliJson<LeaseJson>(sub, [
      'claim',
      'b',
      '--holder',
      'h',
      '--worktree',
      '../elsewhere/b',
      '--branch',
      'feat/b',
    ]);
    expect(b).toMatchObject({ branch: 'feat/b', worktree: { path: join(dir, 'elsewhere', 'b') } });
    await cliJson(dir, ['claim', 'c', '--holder', 'h']);
    const exclude = readFileSync(join(dir, '.git', 'info', 'exclude'), 'utf8').split('\n');
    expect(exclude.filter((l) => l === '/wt/')).toHaveLength(1);
    expect(exclude.filter((l) => l === '/elsewhere/b/')).toHaveLength(1);
    expect(sh(dir, 'status', '--porcelain')).toBe('');
    // A branch checked out elsewhere (here: main in the main worktree) is refused without side effects:
    // first as a shared branch (exit 2), then, with the flag, by git worktree add (exit 1).
    const shared = await expectExit(dir, ['claim', 'd', '--holder', 'h', '--branch', 'main'], 2);
    expect(shared.stderr).toContain('--allow-shared-branch');
    const main = await expectExit(
      dir,
      ['claim', 'd', '--holder', 'h', '--branch', 'main', '--allow-shared-branch'],
      1,
    );
    expect(main.stderr).toContain('branch main is already checked out');
    expect(refs(dir, 'refs/coord/leases/').map((r) => r.split('/').pop())).toEqual(['a', 'b', 'c']);
  });

  it('usage errors exit 2 before anything is written', async () => {
    const dir = makeCoordRepo();
    for (const args of [
      ['claim', '..'],
      ['claim', 'x.lock'],
      ['claim', 'ok', '--branch', 'bad..branch'],
      ['claim', 'ok', '--ttl', '0s'],
      ['claim', 'ok', '--ttl', 'forever'],
      ['claim', 'ok', '--base', 'no-such-ref'],
      ['claim', 'ok', '--pid', 'abc'],
      ['takeover', 'ok', '--force'],
      ['renew'],
    ]) {
      const res = await cli(dir, [...args, '--holder', 'h']);
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(2);
      expect(res.stderr).not.toMatch(/\n\s+at /);
    }
    expect(refs(dir, 'refs/coord/')).toEqual([]);
    expect(worktrees(dir)).toHaveLength(1);
  });
});
