import {
  closeSync,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { faultPoint } from '../refs/fault.js';
import { sleepSync } from '../refs/lock.js';
import type { Repo } from '../refs/repo.js';
import { type ProcessProbe, systemProbe } from './liveness.js';
import { breakStaleLock, judgeLock, ownerLine, snapshotLock } from './provision-lock.js';

/** How long a writer waits for another writer of the same lease before going ahead without the lock (ms). */
export const DEFAULT_WRITE_LOCK_WAIT_MS = 2_000;

/** Directory of the write locks in the common git dir. */
export const WRITE_LOCK_DIR = join('coord', 'write-locks');

/** Path of the write lock of `key`: `<common dir>/coord/write-locks/<sha1 of the key>.lock`. */
export function writeLockPath(repo: Pick<Repo, 'commonDir'>, key: string): string {
  return join(
    repo.commonDir,
    WRITE_LOCK_DIR,
    `${process.getBuiltinModule('node:crypto').createHash('sha1').update(key).digest('hex')}.lock`,
  );
}

/**
 * Runs `fn` (a whole read-decide-write of lease `key`, retries included) holding the lease's write
 * lock, so writers of one lease on this clone take turns instead of racing: under contention each
 * reads the record another has just committed and its compare-and-swap wins the first time, where
 * optimistic writers lose and retry over and over (issue 12: 8 writers × 100 updates of one record).
 *
 * The lock is advisory: the ref transaction's compare-and-swap under git's own ref locks stays what
 * makes a write correct, so a writer that cannot take the lock within `waitMs` (a writer on another
 * host over a shared file system, one that is slow) goes ahead without it and at worst retries. The
 * file holds `<pid> <host> <pid start time> <nonce>` (as the provisioning lock,
 * src/leases/provision-lock.ts), so a lock left by a writer killed with SIGKILL is recognised on this
 * host at once (pid gone or reused) and broken safely ({@link breakStaleLock}); no writer is stuck
 * behind a dead one (one killed between creating the file and writing its owner line leaves an empty
 * lock: broken after 5 s, and waiters go ahead without it after `waitMs` anyway).
 * Lock-first as git's own writers are (refs/files-backend.c holds `<ref>.lock` while it reads and
 * decides), but in a file of its own: git's ref lock stays held only for the commit, so canonical git
 * never waits on a decision, and a dead writer never leaves a git ref locked.
 *
 * Fault point `write-locked`: the lock held, nothing read yet.
 */
export async function withWriteLock<T>(
  repo: Pick<Repo, 'commonDir'>,
  key: string,
  host: string,
  fn: () => Promise<T>,
  waitMs = DEFAULT_WRITE_LOCK_WAIT_MS,
  probe: ProcessProbe = systemProbe,
): Promise<T> {
  const lock = acquire(writeLockPath(repo, key), host, waitMs, probe);
  try {
    if (lock) faultPoint('write-locked');
    return await fn();
  } finally {
    if (lock) release(lock.path, lock.ino);
  }
}

/** How often a waiter looks at who holds the lock (reads it, checks the pid), in ms. */
const JUDGE_EVERY_MS = 25;

/**
 * Takes the lock, waiting up to `waitMs`; `null` when it stayed held by a live writer that long (or
 * cannot be created at all). The lock is created with O_EXCL and its owner line written at once;
 * waiters poll with one lookup per round (an O_CREAT open only once the file is gone) and judge the
 * holder only every {@link JUDGE_EVERY_MS}, so seven waiters cost the holder little.
 */
function acquire(
  path: string,
  host: string,
  waitMs: number,
  probe: ProcessProbe,
): { path: string; ino: number } | null {
  const started = Date.now();
  let judged = started;
  for (let n = 1; ; n++) {
    let fd: number | null = null;
    // While it is held, poll with a plain lookup: an O_CREAT open takes the directory's lock.
    if (n === 1 || !existsSync(path)) {
      try {
        fd = openSync(path, 'wx', 0o644);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && n <= 3) {
          mkdirSync(dirname(path), { recursive: true });
          continue;
        }
        if (code !== 'EEXIST') return null; // cannot be created here: go ahead without it
      }
    }
    if (fd !== null) {
      try {
        writeSync(fd, ownerLine(host, probe));
        return { path, ino: fstatSync(fd).ino };
      } finally {
        closeSync(fd);
      }
    }
    const now = Date.now();
    if (now - judged >= JUDGE_EVERY_MS) {
      judged = now;
      const seen = snapshotLock(path);
      const verdict = seen && judgeLock(seen, host, probe);
      if (seen && (verdict === 'dead' || verdict === 'abandoned')) {
        breakStaleLock(seen, host, probe);
        continue;
      }
    }
    if (now - started >= waitMs) return null;
    // The holder needs about a millisecond: short jittered waits.
    sleepSync(0.05 + Math.random() * Math.min(0.5, 0.05 * n));
  }
}

/** Removes the lock if it is still the file this process created. */
function release(path: string, ino: number): void {
  try {
    if (lstatSync(path).ino === ino) unlinkSync(path);
  } catch {
    // gone already
  }
}
