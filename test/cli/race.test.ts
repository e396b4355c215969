import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, sh } from '../fixtures/repo.js';
import { cli, expectConsistent, makeCoordRepo, refs, worktrees } from './helpers.js';

afterAll(cleanup);

describe('must show: racing claims (real processes)', () => {
  it('16 processes race for one key: one wins, fifteen exit 3 naming the winner; one worktree', async () => {
    const dir = makeCoordRepo();
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) => cli(dir, ['claim', '65', '--holder', `agent-${i}`])),
    );
    const winners = results.flatMap((r, i) => (r.code === 0 ? [i] : []));
    expect(winners, results.map((r) => `${r.code} ${r.stderr}`).join('\n')).toHaveLength(1);
    const winner = `agent-${winners[0]}`;
    const losers = results.filter((r) => r.code !== 0);
    expect(losers).toHaveLength(15);
    for (const r of losers) {
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`lease 65 is held by ${winner}`);
      expect(r.stderr).toContain('takeover');
    }

    const lease = expectConsistent(dir, '65');
    expect(lease).toMatchObject({ state: 'open', token: 1, transitions: 0, branch: 'coord/65' });
    expect(lease.holder.id).toBe(winner);
    expect(lease.worktree!.path).toBe(join(dir, '.coord', 'worktrees', '65'));
    expect(refs(dir, 'refs/coord/')).toEqual([
      'refs/coord/branches/coord/65',
      'refs/coord/leases/65',
      `refs/coord/worktrees/${lease.worktree!.id}`,
    ]);
    // Exactly one worktree besides the main one, on the leased branch; nothing else left on disk.
    expect(worktrees(dir)).toEqual([
      { path: dir, branch: 'refs/heads/main' },
      { path: lease.worktree!.path, branch: 'refs/heads/coord/65' },
    ]);
    expect(readdirSync(join(dir, '.coord', 'worktrees'))).toEqual(['65']);
    expect(sh(dir, 'branch', '--list', '--format=%(refname:short)')).toBe('coord/65\nmain');
    expect(existsSync(join(dir, '.git', 'coord-provision.lock'))).toBe(false);
    // The worktrees directory is excluded, so the main worktree is clean.
    expect(sh(dir, 'status', '--porcelain')).toBe('');
  });

  it('8 processes claim 8 different keys at once: 8 worktrees, 8 branches, 8 leases', async () => {
    const dir = makeCoordRepo();
    const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
    const results = await Promise.all(keys.map((k) => cli(dir, ['claim', k, '--holder', `agent-${k}`])));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(refs(dir, 'refs/coord/leases/')).toEqual(keys.map((k) => `refs/coord/leases/${k}`));
    expect(refs(dir, 'refs/coord/branches/')).toEqual(keys.map((k) => `refs/coord/branches/coord/${k}`));
    expect(refs(dir, 'refs/coord/worktrees/')).toHaveLength(8);
    for (const k of keys) {
      const l = expectConsistent(dir, k);
      expect(l.holder.id).toBe(`agent-${k}`);
    }
    const wts = worktrees(dir);
    expect(wts).toHaveLength(9);
    expect(
      wts
        .slice(1)
        .map((w) => w.branch)
        .sort(),
    ).toEqual(keys.map((k) => `refs/heads/coord/${k}`));
    expect(sh(dir, 'branch', '--list', 'coord/*', '--format=%(refname:short)').split('\n')).toHaveLength(8);
    expect(sh(dir, 'status', '--porcelain')).toBe('');
  });

  it('two keys ask for the same branch at once: one wins, the other exits 3', async () => {
    for (const worktree of [[], ['--no-worktree']]) {
      const dir = makeCoordRepo();
      const [a, b] = await Promise.all([
        cli(dir, ['claim', 'a', '--branch', 'feature/shared', '--holder', 'agent-a', ...worktree]),
        cli(dir, ['claim', 'b', '--branch', 'feature/shared', '--holder', 'agent-b', ...worktree]),
      ]);
      expect([a.code, b.code].sort(), `${a.stderr}\n${b.stderr}`).toEqual([0, 3]);
      const [winKey, lose] = a.code === 0 ? ['a', b] : ['b', a];
      expect(lose.stderr).toContain(`branch feature/shared is held by lease ${winKey}`);
      expect(refs(dir, 'refs/coord/leases/')).toEqual([`refs/coord/leases/${winKey}`]);
      expectConsistent(dir, winKey);
      expect(worktrees(dir)).toHaveLength(worktree.length ? 1 : 2);
    }
  });
});
