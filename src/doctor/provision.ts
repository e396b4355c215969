import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatAge, type ProcessProbe } from '../leases/liveness.js';
import { PROVISION_LOCK } from '../leases/provision-lock.js';
import type { Repo } from '../refs/repo.js';
import { removeStaleLock, STALE_LOCK_MS } from './locks.js';

/** One problem with the provisioning lock (the shape of a doctor problem). */
export interface ProvisionLockProblem {
  kind: 'stale-lock' | 'lock-held';
  path: string;
  message: string;
  fixed: boolean;
}

/** The `<pid> <host>` a claim writes into the lock; nulls when unreadable or empty. */
function readOwner(path: string): { pid: number | null; host: string | null; text: string } {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { pid: null, host: null, text };
  }
  const [pid, host] = text.trim().split(' ');
  const n = Number(pid);
  return { pid: Number.isSafeInteger(n) && n > 0 ? n : null, host: host || null, text };
}

/**
 * Checks `<common dir>/coord-provision.lock`, held by a claim while it provisions a worktree
 * (src/leases/provision-lock.ts):
 * - holder on this host and alive: fine while younger than 60 s; older, reported as `lock-held`
 *   (never removed);
 * - holder on this host and gone: `stale-lock`; `fix` removes it only once it is older than 60 s
 *   (and still holds the same owner), the same age rule as ref locks;
 * - no readable owner: `lock-held` while younger than 60 s, else `stale-lock` (removable);
 * - holder on another host (its process cannot be checked): `lock-held`, never removed.
 */
export function provisionLockProblem(
  repo: Pick<Repo, 'commonDir'>,
  host: string,
  probe: ProcessProbe,
  fix: boolean,
  now: number,
): ProvisionLockProblem | null {
  const path = join(repo.commonDir, PROVISION_LOCK);
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st?.isFile()) return null;
  const ageMs = Math.max(0, now - st.mtimeMs);
  const age = formatAge(ageMs);
  const old = ageMs >= STALE_LOCK_MS;
  const owner = readOwner(path);
  const rm = `rm ${path}`;
  const remove = (): boolean =>
    fix && old && readOwner(path).text === owner.text && removeStaleLock(path, now);

  if (owner.pid !== null && owner.host === host) {
    if (probe.alive(owner.pid)) {
      if (!old) return null;
      return {
        kind: 'lock-held',
        path,
        message: `${PROVISION_LOCK} is ${age} old and its holder, process ${owner.pid}, is still running (a claim provisioning a worktree); left alone`,
        fixed: false,
      };
    }
    const fixed = remove();
    return {
      kind: 'stale-lock',
      path,
      message:
        `${PROVISION_LOCK} (${age} old) was left by process ${owner.pid} on ${host}, which is gone: a claim crashed ` +
        `while provisioning a worktree and every claim with a worktree now fails` +
        (fixed
          ? ': removed'
          : old
            ? ` (\`git coord doctor --fix\` removes it, or \`${rm}\`)`
            : `; \`git coord doctor --fix\` removes it once it is ${STALE_LOCK_MS / 1000}s old (or \`${rm}\`)`),
      fixed,
    };
  }
  if (owner.pid !== null && owner.host !== null) {
    return {
      kind: 'lock-held',
      path,
      message: `${PROVISION_LOCK} (${age} old) is held by process ${owner.pid} on host ${owner.host}, which cannot be checked from ${host}; if that claim is gone, \`${rm}\``,
      fixed: false,
    };
  }
  if (!old) {
    return {
      kind: 'lock-held',
      path,
      message: `${PROVISION_LOCK} is ${age} old with no owner yet: probably a claim starting; left alone`,
      fixed: false,
    };
  }
  const fixed = remove();
  return {
    kind: 'stale-lock',
    path,
    message: `${PROVISION_LOCK} is ${age} old and names no owner: left by a crashed claim${fixed ? ': removed' : ` (\`git coord doctor --fix\` removes it, or \`${rm}\`)`}`,
    fixed,
  };
}
