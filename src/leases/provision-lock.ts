import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findCoordLocks } from '../doctor/locks.js';
import { CoordError } from '../errors.js';
import { Lockfile, LockTimeoutError, lockAge, sleepSync } from '../refs/lock.js';
import type { Repo } from '../refs/repo.js';
import { formatAge, type ProcessProbe, systemProbe } from './liveness.js';

/** File name of the provisioning lock in the common git dir. */
export const PROVISION_LOCK = 'coord-provision.lock';

/** How long a claim waits for another claim's provisioning, by default (ms). */
export const DEFAULT_PROVISION_TIMEOUT_MS = 30_000;

/**
 * The provisioning lock is left by a process that no longer exists (exit 1). It is never removed
 * automatically: two waiters could both decide so and one would delete the other's fresh lock.
 */
export class StaleProvisionLockError extends CoordError {
  readonly lockPath: string;
  /** Other lock files the crashed claim may have left (ref locks under refs/coord/, packed-refs.lock). */
  readonly leftovers: string[];
  constructor(lockPath: string, owner: string, ageMs: number | null, leftovers: string[]) {
    const also = leftovers.length
      ? ` It may also have left these ref locks; remove them too if no git command is running: ${leftovers.join(' ')}.`
      : '';
    super(
      'stale-lock',
      `the claim lock ${lockPath} was left by ${owner}, which is gone (lock ${ageMs === null ? '?' : formatAge(ageMs)} ` +
        `old): a claim or merge crashed while changing a worktree. Remove it (\`rm ${lockPath}\`) and retry; ` +
        `\`git worktree list\` shows what that claim left (a retried claim reuses its worktree).${also}`,
    );
    this.lockPath = lockPath;
    this.leftovers = leftovers;
  }
}

/**
 * A repository-wide lock (`<common dir>/coord-provision.lock`, O_EXCL like git's lockfiles) held by a
 * claim from just before `git worktree add` until its ref transaction has committed or been rolled
 * back. It serialises worktree provisioning, so racing claims never see each other's half-made
 * worktree: the second claimer re-reads the lease under the lock and stops before touching the disk.
 * The file holds `<pid> <host>` so a lock left by a crash is recognised at once on the same host.
 * Claims without a worktree do not take it. `git coord merge` takes it too, from deciding the merge
 * until the target branch and its checkout have moved, so merges into a checked-out branch never see
 * each other's half-updated checkout.
 */
export class ProvisionLock {
  private readonly lock: Lockfile;
  private constructor(lock: Lockfile) {
    this.lock = lock;
  }

  /**
   * Takes the lock, waiting (jittered backoff, up to `timeoutMs`) while another live claim holds it.
   *
   * @throws StaleProvisionLockError when the holder on this host is gone.
   * @throws LockTimeoutError when it stays held for the whole timeout.
   */
  static acquire(
    repo: Pick<Repo, 'commonDir'>,
    host: string,
    timeoutMs = DEFAULT_PROVISION_TIMEOUT_MS,
    probe: ProcessProbe = systemProbe,
  ): ProvisionLock {
    const base = join(repo.commonDir, PROVISION_LOCK.replace(/\.lock$/, ''));
    const deadline = Date.now() + timeoutMs;
    for (let n = 1; ; n++) {
      try {
        const lock = Lockfile.acquire(base, 0);
        lock.write(`${process.pid} ${host}\n`);
        return new ProvisionLock(lock);
      } catch (err) {
        if (!(err instanceof LockTimeoutError)) throw err;
        const lockPath = `${base}.lock`;
        const [pid, owner] = readOwner(lockPath);
        if (pid !== null && owner === host && !probe.alive(pid)) {
          throw new StaleProvisionLockError(
            lockPath,
            `process ${pid} on ${host}`,
            lockAge(lockPath),
            findCoordLocks(repo).map((l) => l.path),
          );
        }
        if (Date.now() >= deadline) throw new LockTimeoutError(lockPath, lockAge(lockPath), timeoutMs);
        sleepSync(5 + Math.random() * Math.min(100, 5 * n));
      }
    }
  }

  /** Releases the lock (removes the file if it is still ours). */
  release(): void {
    this.lock.rollback();
  }
}

function readOwner(lockPath: string): [number | null, string | null] {
  try {
    const [pid, host] = readFileSync(lockPath, 'utf8').trim().split(' ');
    const n = Number(pid);
    return [Number.isSafeInteger(n) && n > 0 ? n : null, host ?? null];
  } catch {
    return [null, null];
  }
}
