import {
  closeSync,
  fstatSync,
  lstatSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { CoordError, ExitCode } from '../errors.js';

/** git's `core.filesRefLockTimeout` default, in milliseconds (refs/files-backend.c). */
export const DEFAULT_REF_LOCK_TIMEOUT_MS = 100;
/** git's `core.packedRefsTimeout` default, in milliseconds (refs/packed-backend.c). */
export const DEFAULT_PACKED_REFS_TIMEOUT_MS = 1000;

/**
 * A `.lock` file stayed in place for the whole timeout (exit 1). Names the lock file and its age, as
 * git's "Unable to create '<path>.lock': File exists." does, plus the next action.
 */
export class LockTimeoutError extends CoordError {
  /** Absolute path of the `.lock` file. */
  readonly lockPath: string;
  /** Age of the lock file in milliseconds (from its mtime), or `null` if it vanished meanwhile. */
  readonly ageMs: number | null;
  constructor(lockPath: string, ageMs: number | null, timeoutMs: number) {
    const age = ageMs === null ? 'just released' : `${(ageMs / 1000).toFixed(1)}s old`;
    super(
      'lock-timeout',
      `unable to create '${lockPath}': File exists (lock ${age}; waited ${timeoutMs} ms). ` +
        'Another git or git-coord process seems to be running in this repository. If none is, ' +
        `the lock was left by a crash: remove it (\`rm ${lockPath}\`; \`git coord doctor --fix\` removes ` +
        'coord ref locks once they are 60 s old).',
      ExitCode.error,
    );
    this.lockPath = lockPath;
    this.ageMs = ageMs;
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread for `ms` milliseconds (as git's sleep_millisec). */
export function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
}

/**
 * A held lockfile `<path>.lock`, created with O_CREAT|O_EXCL as git's lockfile.c. Only the process
 * that created it ever removes it.
 */
export class Lockfile {
  /** The file the lock protects. */
  readonly path: string;
  /** The lock file itself: `<path>.lock`. */
  readonly lockPath: string;
  private fd: number | null;
  private readonly ino: number;
  /** Set once renamed over the protected file: the lock file no longer exists as ours. */
  private committed = false;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.lockPath = `${path}.lock`;
    this.fd = fd;
    this.ino = fstatSync(fd).ino;
  }

  /**
   * Takes the lock, retrying while it is held for up to `timeoutMs` with git's backoff
   * (lockfile.c `lock_file_timeout`: waits of 1, 4, 9, 16 … ms, each jittered ±25%, capped at 1 s).
   * `timeoutMs` 0 tries once; negative waits forever, as git.
   *
   * @throws LockTimeoutError when the lock is still held at the deadline.
   * @throws the underlying fs error (ENOENT, ENOTDIR, EACCES …) for anything but "File exists".
   */
  static acquire(path: string, timeoutMs: number): Lockfile {
    const lockPath = `${path}.lock`;
    let n = 1;
    let multiplier = 1;
    let remaining = timeoutMs;
    for (;;) {
      try {
        return new Lockfile(path, openSync(lockPath, 'wx', 0o666));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (timeoutMs >= 0 && remaining <= 0)
        throw new LockTimeoutError(lockPath, lockAge(lockPath), timeoutMs);
      const wait = Math.floor(((750 + Math.floor(Math.random() * 500)) * multiplier) / 1000);
      sleepSync(wait);
      remaining -= Math.max(wait, 1);
      multiplier += 2 * n + 1;
      if (multiplier > 1000) multiplier = 1000;
      else n++;
    }
  }

  /** Writes `content` to the lock file (the new value of the protected file). */
  write(content: string | Buffer): void {
    if (this.fd === null) throw new Error(`lock ${this.lockPath} already released`);
    const buf = typeof content === 'string' ? Buffer.from(content) : content;
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off);
  }

  /** Closes and renames the lock file over the protected file: the new value becomes visible. */
  commit(): void {
    this.close();
    renameSync(this.lockPath, this.path);
    this.committed = true;
  }

  /** Closes and removes the lock file, leaving the protected file untouched. Safe to call twice. */
  rollback(): void {
    this.close();
    // After commit the path `<path>.lock` may already be another process's new lock (even one that
    // reuses our inode number once our file was replaced): never touch it.
    if (!this.committed && this.ownsLockFile()) {
      try {
        unlinkSync(this.lockPath);
      } catch {
        // already gone
      }
    }
  }

  private ownsLockFile(): boolean {
    try {
      return lstatSync(this.lockPath).ino === this.ino;
    } catch {
      return false;
    }
  }

  private close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

/** Age in milliseconds of a lock file from its mtime, or `null` when it does not exist. */
export function lockAge(lockPath: string): number | null {
  try {
    return Math.max(0, Date.now() - statSync(lockPath).mtimeMs);
  } catch {
    return null;
  }
}
