import {
  closeSync,
  existsSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
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
 * behind a dead one. The lock is a hard link to the process's owner file
 * (`<dir>/<pid>-<nonce>.owner`, written once per process and removed at exit), so it appears with
 * its owner line already in it and taking and dropping it allocates and frees no inode; where hard
 * links are refused it is created with O_EXCL and written at once (one killed between the two leaves
 * an empty lock: broken after 5 s, and waiters go ahead without it after `waitMs` anyway). Owner
 * files of processes that are gone are removed by the next process that creates its own, and by a
 * writer that breaks a dead lock.
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
 * A waiter's n-th sleep is `n` × this, up to {@link MAX_POLL_MS}, each ±25% (ms): a write takes about a
 * millisecond, and a writer that has just released the lock usually takes it again for its next write
 * at once, so waiters that look often only take CPU from it (8 writers on 2 cores: short 0.05–0.55 ms
 * polls cost ~30% more CPU per update than these and finished later).
 */
const POLL_STEP_MS = 0.25;
/** Longest sleep between two looks at a held lock (ms). */
const MAX_POLL_MS = 3;

/** A lock this process holds: its path and the inode it links to (this process's owner file). */
interface HeldLock {
  path: string;
  ino: number;
}

/**
 * Takes the lock, waiting up to `waitMs`; `null` when it stayed held by a live writer that long (or
 * cannot be created at all). The lock is taken in one step with its owner line in it ({@link take});
 * waiters poll with one lookup per round (a link or O_CREAT open only once the file is gone), sleeping
 * longer and longer between rounds up to {@link MAX_POLL_MS}, as git's lockfile.c backs off, and judge
 * the holder only every {@link JUDGE_EVERY_MS}, so seven waiters cost the holder little.
 */
function acquire(path: string, host: string, waitMs: number, probe: ProcessProbe): HeldLock | null {
  const started = Date.now();
  let judged = started;
  for (let n = 1; ; n++) {
    // While it is held, poll with a plain lookup: taking the lock takes the directory's lock.
    if (n === 1 || !existsSync(path)) {
      const got = take(path, host, probe);
      if (got === 'missing' && n <= 3) {
        mkdirSync(dirname(path), { recursive: true });
        continue;
      }
      if (got === null || got === 'missing') return null; // cannot be created here: go ahead without it
      if (got !== 'held') return got;
    }
    const now = Date.now();
    if (now - judged >= JUDGE_EVERY_MS) {
      judged = now;
      const seen = snapshotLock(path);
      const verdict = seen && judgeLock(seen, host, probe);
      if (seen && (verdict === 'dead' || verdict === 'abandoned')) {
        if (breakStaleLock(seen, host, probe)) sweepOwnerFiles(dirname(path), host, probe);
        continue;
      }
    }
    if (now - started >= waitMs) return null;
    sleepSync(Math.min(MAX_POLL_MS, POLL_STEP_MS * n) * (0.75 + Math.random() * 0.5));
  }
}

/**
 * One attempt at the lock: a hard link from this process's owner file ({@link ownerFile}) to `path`,
 * which fails with EEXIST while another writer holds it, as an O_EXCL create would, but allocates no
 * inode and frees none on release (ext4 without a journal steps past every recently freed inode when
 * it allocates one: ~30% of the samples in one perf profile of 8 writers × 100 updates). Where hard links are
 * refused (EPERM, ENOTSUP, …) the lock is created with O_EXCL and its owner line written at once.
 *
 * @returns the held lock; `'held'` when another writer holds it; `'missing'` when its directory does
 *   not exist; `null` when it cannot be created here.
 */
function take(path: string, host: string, probe: ProcessProbe): HeldLock | 'held' | 'missing' | null {
  const dir = dirname(path);
  let owner: OwnerFile;
  try {
    owner = ownerFile(dir, host, probe);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : createLock(path, host, probe);
  }
  try {
    linkSync(owner.path, path);
    return { path, ino: owner.ino };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return 'held';
    if (code !== 'ENOENT') return createLock(path, host, probe);
    owners.delete(ownerKey(dir, host)); // our owner file was removed (the directory with it): anew
    return 'missing';
  }
}

/** Creates the lock with O_EXCL and writes its owner line: see {@link take}. */
function createLock(path: string, host: string, probe: ProcessProbe): HeldLock | 'held' | 'missing' | null {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EEXIST' ? 'held' : code === 'ENOENT' ? 'missing' : null;
  }
  try {
    writeSync(fd, ownerLine(host, probe));
    return { path, ino: fstatSync(fd).ino };
  } finally {
    closeSync(fd);
  }
}

/** Name ending of owner files in the write-lock directory. */
const OWNER_SUFFIX = '.owner';

/** An owner file of this process: its path and inode. */
interface OwnerFile {
  path: string;
  ino: number;
}

/** This process's owner files, by lock directory and host ({@link ownerKey}). */
const owners = new Map<string, OwnerFile>();

const ownerKey = (dir: string, host: string) => `${dir}\0${host}`;

/**
 * This process's owner file in the write-lock directory `dir`, created on first use:
 * `<dir>/<pid>-<nonce>.owner`, holding the owner line (`<pid> <host> <pid start time> <nonce>`), written
 * completely before it is ever linked as a lock, so a lock is never seen empty. Every lock this
 * process takes in `dir` is a hard link to it; the file is removed when the process exits. Creating
 * it first removes the owner files of processes that are gone ({@link sweepOwnerFiles}).
 *
 * Fault point `write-owner`: the owner file written, no lock taken yet.
 *
 * @throws the fs error of creating it (ENOENT: `dir` does not exist).
 */
function ownerFile(dir: string, host: string, probe: ProcessProbe): OwnerFile {
  const key = ownerKey(dir, host);
  const known = owners.get(key);
  if (known) return known;
  const line = ownerLine(host, probe);
  const path = join(dir, `${process.pid}-${line.trim().split(' ')[3]}${OWNER_SUFFIX}`);
  const fd = openSync(path, 'wx', 0o644);
  let owner: OwnerFile;
  try {
    writeSync(fd, line);
    owner = { path, ino: fstatSync(fd).ino };
  } finally {
    closeSync(fd);
  }
  if (owners.size === 0) process.once('exit', removeOwnerFiles);
  owners.set(key, owner);
  faultPoint('write-owner');
  sweepOwnerFiles(dir, host, probe);
  return owner;
}

/** Removes this process's owner files (at exit): a lock still linked to one keeps its content. */
function removeOwnerFiles(): void {
  for (const { path, ino } of owners.values()) release(path, ino);
  owners.clear();
}

/**
 * Removes the owner files in `dir` whose process is gone ({@link judgeLock}: `dead`, or `abandoned`
 * when it names no owner): left by a writer killed with SIGKILL or by a signal. A lock still linked
 * to one is not touched here; it is judged and broken as any lock. This process's own are skipped
 * by name, whatever `probe` says.
 */
function sweepOwnerFiles(dir: string, host: string, probe: ProcessProbe): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.endsWith(OWNER_SUFFIX) || name.startsWith(`${process.pid}-`)) continue; // ours: never
    try {
      const seen = snapshotLock(join(dir, name));
      const verdict = seen && judgeLock(seen, host, probe);
      if (seen && (verdict === 'dead' || verdict === 'abandoned')) release(seen.path, seen.ino);
    } catch {
      // unreadable: not ours to judge
    }
  }
}

/** Removes `path` (a lock or an owner file) if it is still the inode `ino` this process took or judged. */
function release(path: string, ino: number): void {
  try {
    if (lstatSync(path).ino === ino) unlinkSync(path);
  } catch {
    // gone already
  }
}
