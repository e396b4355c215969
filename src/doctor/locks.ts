import { type Dirent, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { STALE_LOCK_AGE_MS } from '../records/optimistic.js';
import type { Repo } from '../refs/repo.js';

/** A lock older than this is left by a crash, never by a live writer (git holds locks for ms). */
export const STALE_LOCK_MS = STALE_LOCK_AGE_MS;

/** One `.lock` file found in the common dir. */
export interface FoundLock {
  /** Absolute path. */
  path: string;
  /** Path relative to the common dir, e.g. `refs/coord/leases/65.lock`. */
  name: string;
  /** Age from the file's mtime, in milliseconds. */
  ageMs: number;
}

/**
 * Lists the lock files git-coord's writes can leave behind: every `*.lock` under `refs/coord/`, and
 * `packed-refs.lock` (taken by deletions), with their ages at `now`.
 */
export function findCoordLocks(repo: Pick<Repo, 'commonDir'>, now = Date.now()): FoundLock[] {
  const out: FoundLock[] = [];
  const add = (path: string) => {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isFile()) {
      out.push({ path, name: relative(repo.commonDir, path), ageMs: Math.max(0, now - st.mtimeMs) });
    }
  };
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.lock')) add(join(dir, e.name));
    }
  };
  walk(join(repo.commonDir, 'refs', 'coord'));
  add(join(repo.commonDir, 'packed-refs.lock'));
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * Removes a lock file if it is still older than {@link STALE_LOCK_MS} at the moment of removal (a
 * lock renewed or re-created meanwhile belongs to a live writer and is left alone).
 *
 * @returns true when removed (or already gone).
 */
export function removeStaleLock(path: string, now = Date.now()): boolean {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return true;
  if (now - st.mtimeMs < STALE_LOCK_MS) return false;
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return true;
}
