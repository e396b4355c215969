import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LeaseType } from '../../src/records/schemas.js';
import { writeRecord } from '../../src/records/store.js';
import { discoverRepo } from '../../src/refs/index.js';
import { currentHost } from '../../src/refs/worktree-id.js';
import { cleanup, sh, tempDir } from '../fixtures/repo.js';
import { sampleLease } from '../records/sample.js';
import { cli, expectConsistent, expectExit, makeCoordRepo, worktrees } from './helpers.js';

afterAll(cleanup);

const HOST = currentHost();

/** A closed lease `key` of this host, written with plain git, whose recorded worktree is `path`. */
function closedLeaseAt(dir: string, key: string, path: string): void {
  const lease = sampleLease({
    key,
    state: 'closed',
    outcome: 'released',
    closedAt: '2026-11-21T10:05:00.000Z',
    holder: { id: 'old-agent', host: HOST, pid: null, pidStart: null, user: null },
    branch: `coord/${key}`,
    worktree: { id: `x-${key}`, path, host: HOST },
    attempts: [],
  });
  sh(dir, 'update-ref', `refs/coord/leases/${key}`, writeRecord(discoverRepo(dir), LeaseType, lease));
}

describe('a recorded worktree.path is not trusted (issue 9 item 4)', () => {
  it('a closed lease recording /etc or a path outside the repository: the next claim provisions in the worktrees directory', async () => {
    const dir = makeCoordRepo();
    const outside = join(tempDir('coord-outside-'), 'wt');
    closedLeaseAt(dir, 'etc', '/etc');
    closedLeaseAt(dir, 'out', outside);
    for (const [key, recorded] of [
      ['etc', '/etc'],
      ['out', outside],
    ] as const) {
      const res = await cli(dir, ['claim', key, '--holder', 'agent-1', '--json']);
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout).worktree.path).toBe(join(dir, '.coord', 'worktrees', key));
      expect(res.stderr).toContain(`recorded the worktree ${recorded}, outside the worktrees directory`);
      expect(res.stderr).not.toMatch(/rm -r/);
      expectConsistent(dir, key);
    }
    expect(existsSync(outside)).toBe(false);
    expect(worktrees(dir).map((w) => w.path)).toEqual([
      dir,
      join(dir, '.coord', 'worktrees', 'etc'),
      join(dir, '.coord', 'worktrees', 'out'),
    ]);
  });

  it('--worktree outside the repository: only an empty or absent path; never advises removing it', async () => {
    const dir = makeCoordRepo();
    for (const path of ['/etc', '/proc/self']) {
      const res = await expectExit(dir, ['claim', 'k', '--holder', 'agent-1', '--worktree', path], 1);
      expect(res.stderr).toContain('already exists and is not a git worktree');
      expect(res.stderr).toContain('It is outside the repository: leave it alone');
      expect(res.stderr).not.toMatch(/\brm\b/);
    }
    expect(sh(dir, 'for-each-ref', 'refs/coord')).toBe('');
    // inside the repository the advice stays
    mkdirSync(join(dir, 'stuff'));
    writeFileSync(join(dir, 'stuff', 'f'), 'x');
    const inside = await expectExit(dir, ['claim', 'k', '--holder', 'agent-1', '--worktree', 'stuff'], 1);
    expect(inside.stderr).toContain(`rm -r ${join(dir, 'stuff')}`);
    // an empty directory or a new path outside the repository is fine when asked for explicitly
    const empty = tempDir('coord-empty-');
    const ok = await cli(dir, ['claim', 'k', '--holder', 'agent-1', '--worktree', empty, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).worktree.path).toBe(empty);
    const fresh = join(tempDir('coord-new-'), 'new');
    const ok2 = await cli(dir, ['claim', 'k2', '--holder', 'agent-1', '--worktree', fresh, '--json']);
    expect(ok2.code, ok2.stderr).toBe(0);
    expect(existsSync(join(fresh, 'README.md'))).toBe(true);
  });
});

describe('re-claiming one own lease whose worktree was deleted (issue 9 item 13)', () => {
  it('makes the worktree again on the same branch, commits kept, instead of "next cd <missing path>"', async () => {
    const dir = makeCoordRepo();
    const env = { COORD_HOLDER: 'agent-1' };
    const first = await cli(dir, ['claim', '5', '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const path = JSON.parse(first.stdout).worktree.path as string;
    writeFileSync(join(path, 'work.txt'), 'work\n');
    sh(path, 'add', 'work.txt');
    sh(path, 'commit', '-q', '--no-verify', '-m', 'work');
    const head = sh(path, 'rev-parse', 'HEAD');
    rmSync(path, { recursive: true, force: true });

    const again = await cli(dir, ['claim', '5'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(
      `worktree  ${path} (made again: it was gone; its branch and commits kept)`,
    );
    expect(again.stdout).toContain(`next      cd ${path}`);
    expect(existsSync(join(path, 'work.txt'))).toBe(true);
    expect(sh(path, 'rev-parse', 'HEAD')).toBe(head);
    expect(sh(path, 'branch', '--show-current')).toBe('coord/5');
    const lease = expectConsistent(dir, '5');
    expect(lease).toMatchObject({ state: 'open', token: 1, revision: 2 });
    // a plain re-entry afterwards just renews
    const third = await cli(dir, ['claim', '5'], env);
    expect(third.code).toBe(0);
    expect(third.stdout).not.toContain('made again');
    expect(worktrees(dir)).toEqual([
      { path: dir, branch: 'refs/heads/main' },
      { path, branch: 'refs/heads/coord/5' },
    ]);
  });
});
