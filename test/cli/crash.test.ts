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
    'at %s: the lease is fully absent or fully present, the claim lock is broken by the retry, ref locks are named with the command that removes them',
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

      // The retry breaks the claim lock of the dead claim by itself (issue 9 item 6). Ref locks the
      // crash left (no owner recorded in them) are named with the exact command; we remove exactly
      // what it names, as a user would.
      const retry = await cli(dir, ['claim', '65', '--holder', 'agent-a']);
      expect(existsSync(join(dir, '.git', 'coord-provision.lock'))).toBe(false);
      if (fault === 'blob-temp') {
        expect(retry.code, retry.stderr).toBe(0);
        expect(retry.stderr).toMatch(/removed the claim lock left by process \d+ on .* \(gone\)/);
      } else {
        expect(retry.code).toBe(1);
        const named = lockPathsIn(retry.stderr);
        const onDisk = findLocks(join(dir, '.git')).map((f) => join(dir, '.git', f));
        expect(named.length).toBeGreaterThan(0);
        expect(named.sort()).toEqual(onDisk.sort());
        expect(retry.stderr).toContain(`\`rm ${named[0]}\``);
        for (const p of named) rmSync(p);
      }

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
