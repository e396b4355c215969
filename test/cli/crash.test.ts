import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup } from '../fixtures/repo.js';
import { findLocks } from '../refs/helpers.js';
import { cli, expectConsistent, makeCoordRepo, refs, worktrees } from './helpers.js';

afterAll(cleanup);

/** Lock paths named in an error message (absolute paths ending in `.lock`). */
function lockPathsIn(message: string): string[] {
  return [...new Set(message.match(/\/[^\s'`]+\.lock/g) ?? [])];
}

describe('must show: claim killed with SIGKILL at its fault points', () => {
  it.each(['blob-temp', 'ref-locked', 'ref-written'])(
    'at %s: the lease is fully absent or fully present, the stale locks are reported, a retried claim succeeds',
    async (fault) => {
      const dir = makeCoordRepo();
      const killed = await cli(dir, ['claim', '65', '--holder', 'agent-a'], { GIT_COORD_TEST_FAULT: fault });
      expect(killed.signal).toBe('SIGKILL');
      const coordRefs = refs(dir, 'refs/coord/');
      if (coordRefs.length > 0) {
        expect(coordRefs).toHaveLength(3);
        expectConsistent(dir, '65');
      } else {
        expect(refs(dir, 'refs/coord/')).toEqual([]);
      }

      // The retry reports what the crash left; we remove exactly what it names, as a user would.
      const retry = await cli(dir, ['claim', '65', '--holder', 'agent-a']);
      expect(retry.code).toBe(1);
      expect(retry.stderr).toContain('coord-provision.lock');
      expect(retry.stderr).toMatch(/left by process \d+ on .*, which is gone/);
      const named = lockPathsIn(retry.stderr);
      const onDisk = findLocks(join(dir, '.git')).map((f) => join(dir, '.git', f));
      expect(named.sort()).toEqual(onDisk.sort());
      for (const p of named) rmSync(p);

      const ok = await cli(dir, ['claim', '65', '--holder', 'agent-a']);
      expect(ok.code, ok.stderr).toBe(0);
      const lease = expectConsistent(dir, '65');
      expect(lease).toMatchObject({ state: 'open', token: 1 });
      // One worktree: the one the crashed claim made (if it got that far) is reused, not duplicated.
      expect(worktrees(dir)).toEqual([
        { path: dir, branch: 'refs/heads/main' },
        { path: join(dir, '.coord', 'worktrees', '65'), branch: 'refs/heads/coord/65' },
      ]);
      expect(findLocks(join(dir, '.git'))).toEqual([]);
      expect(existsSync(join(dir, '.git', 'coord-provision.lock'))).toBe(false);
    },
  );
});
