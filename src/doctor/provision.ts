import { join } from 'node:path';
import { formatAge, type ProcessProbe } from '../leases/liveness.js';
import {
  breakStaleLock,
  describeOwner,
  EMPTY_LOCK_GRACE_MS,
  judgeLock,
  PROVISION_LOCK,
  snapshotLock,
} from '../leases/provision-lock.js';
import type { Repo } from '../refs/repo.js';
import { STALE_LOCK_MS } from './locks.js';

/** One problem with the provisioning lock (the shape of a doctor problem). */
export interface ProvisionLockProblem {
  kind: 'stale-lock' | 'lock-held';
  path: string;
  message: string;
  fixed: boolean;
}

/**
 * Checks `<common dir>/coord-provision.lock`, held by a claim while it provisions a worktree
 * (src/leases/provision-lock.ts), judged as a claim judges it:
 * - owner on this host and running: fine while younger than 60 s; older, `lock-held` (never removed);
 * - owner on this host gone, or its pid reused: `stale-lock`; `fix` removes it at once (the same safe
 *   break a claim makes, so a claim racing doctor cannot lose a fresh lock);
 * - no owner written: `lock-held` for the first 5 s (a claim starting), then `stale-lock` (removable);
 * - owner on another host (its process cannot be checked): `lock-held`, never removed.
 */
export function provisionLockProblem(
  repo: Pick<Repo, 'commonDir'>,
  host: string,
  probe: ProcessProbe,
  fix: boolean,
  now: number,
): ProvisionLockProblem | null {
  const path = join(repo.commonDir, PROVISION_LOCK);
  const seen = snapshotLock(path);
  if (!seen) return null;
  const age = formatAge(Math.max(0, now - seen.mtimeMs));
  const verdict = judgeLock(seen, host, probe, now);
  const owner = describeOwner(seen);
  switch (verdict) {
    case 'live':
      if (now - seen.mtimeMs < STALE_LOCK_MS) return null;
      return {
        kind: 'lock-held',
        path,
        message:
          `${PROVISION_LOCK} is ${age} old and its holder, ${owner}, is still running (a claim provisioning a ` +
          `worktree); left alone. If that process is stuck, stop it (\`kill ${seen.owner.pid}\`): the next claim ` +
          'or `git coord doctor --fix` then removes the lock',
        fixed: false,
      };
    case 'foreign':
      return {
        kind: 'lock-held',
        path,
        message:
          `${PROVISION_LOCK} (${age} old) is held by ${owner}, which cannot be checked from ${host}; ` +
          `if no git-coord claim is running on ${seen.owner.host}, remove it: \`rm ${path}\``,
        fixed: false,
      };
    case 'starting':
      return {
        kind: 'lock-held',
        path,
        message:
          `${PROVISION_LOCK} is ${age} old and names no owner yet: probably a claim starting; left alone ` +
          `(if it still names none after ${EMPTY_LOCK_GRACE_MS / 1000}s, the next claim or \`git coord doctor --fix\` removes it)`,
        fixed: false,
      };
    default: {
      const fixed = fix && (breakStaleLock(seen, host, probe) || snapshotLock(path) === null);
      const why =
        verdict === 'dead'
          ? `was left by ${owner}, which is gone (or its pid now runs another program): a claim crashed while provisioning a worktree`
          : 'names no owner: left by a claim killed while creating it';
      return {
        kind: 'stale-lock',
        path,
        message:
          `${PROVISION_LOCK} (${age} old) ${why}` +
          (fixed
            ? ': removed'
            : '; the next claim removes it by itself, `git coord doctor --fix` removes it now'),
        fixed,
      };
    }
  }
}
