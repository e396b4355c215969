import { mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CoordError, ExitCode, UsageError } from '../errors.js';
import { faultPoint } from './fault.js';
import { DEFAULT_PACKED_REFS_TIMEOUT_MS, DEFAULT_REF_LOCK_TIMEOUT_MS, Lockfile } from './lock.js';
import { assertRefname } from './names.js';
import { lookupPacked, packedRefsPath, readPackedRefs, withoutPacked } from './packed.js';
import { OID_RE, readLoose } from './read.js';
import { appendReflog, deleteReflog, type RefIdent } from './reflog.js';
import type { Repo } from './repo.js';

/**
 * A ref did not hold the value the transaction expected (exit 3). Nothing was written.
 */
export class CasMismatchError extends CoordError {
  /** The ref whose value differed. */
  readonly ref: string;
  /** What the caller expected: an oid, or `null` for "must not exist". */
  readonly expected: string | null;
  /** What the ref held under the lock: an oid, or `null` when it did not exist. */
  readonly actual: string | null;
  constructor(ref: string, expected: string | null, actual: string | null) {
    super(
      'cas-mismatch',
      `ref ${ref} changed concurrently: expected ${expected ?? '(absent)'}, found ${actual ?? '(absent)'}`,
      ExitCode.conflict,
    );
    this.ref = ref;
    this.expected = expected;
    this.actual = actual;
  }
}

/** A directory/file conflict: `refs/a` and `refs/a/b` cannot both exist (exit 1). */
export class RefNameConflictError extends CoordError {
  readonly ref: string;
  constructor(ref: string, other: string) {
    super(
      'ref-name-conflict',
      `cannot create ${ref}: ${other} exists (a ref cannot be both a file and a directory)`,
    );
    this.ref = ref;
  }
}

/** One queued change: see {@link RefTransaction}. */
interface QueuedUpdate {
  ref: string;
  /** New oid; `null` deletes; `undefined` only verifies. */
  newOid: string | null | undefined;
  /** Expected current oid; `null` = must not exist; `undefined` = not checked. */
  oldOid: string | null | undefined;
  message: string;
}

/** Options for {@link RefTransaction.commit}. */
export interface CommitOptions {
  /** Reflog identity; default: `$GIT_COMMITTER_NAME`/`EMAIL`, then `user.name`/`user.email`. */
  ident?: RefIdent;
  /** Reflog timestamp; default now. */
  date?: Date;
}

/**
 * A multi-ref compare-and-swap transaction in front of git's files backend, shaped like refs.h:
 * queue {@link create} / {@link update} / {@link delete} / {@link verify}, then {@link commit}.
 *
 * `commit` follows files-backend.c: every ref is locked (`<ref>.lock`, O_EXCL) in sorted order with
 * `core.filesRefLockTimeout`; deletions also take `packed-refs.lock` with `core.packedRefsTimeout`;
 * current values are read loose-then-packed *under the locks* and compared; only if all match is
 * anything written: each new value goes into its lock file, one reflog line is appended, and the lock
 * is renamed over the ref. Deleted refs are first removed from `packed-refs` (rewritten under its
 * lock), then their loose files and reflogs are unlinked. Canonical git running at the same time sees
 * our locks and we see its.
 */
export class RefTransaction {
  private readonly repo: Repo;
  private readonly updates: QueuedUpdate[] = [];

  constructor(repo: Repo) {
    this.repo = repo;
  }

  /** Creates `ref` at `newOid`; fails with CasMismatchError if it exists. */
  create(ref: string, newOid: string, message = ''): this {
    return this.queue({ ref, newOid, oldOid: null, message });
  }

  /** Moves `ref` from `oldOid` (`null` = absent, `undefined` = any value) to `newOid`. */
  update(ref: string, newOid: string, oldOid: string | null | undefined, message = ''): this {
    return this.queue({ ref, newOid, oldOid, message });
  }

  /** Deletes `ref`, which must hold `oldOid` (`undefined` = any value). */
  delete(ref: string, oldOid: string | undefined, message = ''): this {
    return this.queue({ ref, newOid: null, oldOid, message });
  }

  /** Checks that `ref` holds `oldOid` (`null` = absent) at commit time, without changing it. */
  verify(ref: string, oldOid: string | null): this {
    return this.queue({ ref, newOid: undefined, oldOid, message: '' });
  }

  /** The refs this transaction touches, sorted. */
  refs(): string[] {
    return this.updates.map((u) => u.ref).sort();
  }

  private queue(u: QueuedUpdate): this {
    assertRefname(u.ref);
    if (!u.ref.startsWith('refs/')) throw new UsageError(`refusing to update ${u.ref}: outside refs/`);
    for (const oid of [u.newOid, u.oldOid]) {
      if (typeof oid === 'string' && !OID_RE.test(oid)) throw new UsageError(`not an object id: ${oid}`);
    }
    if (this.updates.some((x) => x.ref === u.ref)) {
      throw new UsageError(`multiple updates for ref '${u.ref}' not allowed`);
    }
    this.updates.push(u);
    return this;
  }

  /**
   * Applies every queued change atomically with respect to other CAS writers (all or nothing at the
   * compare step).
   *
   * @throws CasMismatchError when a ref's current value differs from the expected one (nothing written).
   * @throws LockTimeoutError when a `.lock` stays held past the timeout (nothing written).
   * @throws RefNameConflictError for a file/directory name conflict.
   */
  commit(opts: CommitOptions = {}): void {
    const { commonDir } = this.repo;
    const updates = [...this.updates].sort((a, b) => (a.ref < b.ref ? -1 : 1));
    const locks: Lockfile[] = [];
    let packedLock: Lockfile | null = null;
    const cfg = this.repo.config();
    const refTimeout = intConfig(cfg.get('core.filesreflocktimeout'), DEFAULT_REF_LOCK_TIMEOUT_MS);
    try {
      for (const u of updates) locks.push(lockRef(commonDir, u.ref, refTimeout));
      const deletes = updates.filter((u) => u.newOid === null);
      if (deletes.length > 0) {
        const timeout = intConfig(cfg.get('core.packedrefstimeout'), DEFAULT_PACKED_REFS_TIMEOUT_MS);
        packedLock = Lockfile.acquire(packedRefsPath(commonDir), timeout);
        faultPoint('packed-locked');
      }
      // packed-refs is read (afresh, under our locks) only when needed: a ref without a loose file,
      // or a deletion. A plain update of a loose ref never reads it, however large it is.
      let packedContent: Buffer | null | undefined;
      const packed = () => {
        if (packedContent === undefined) packedContent = readPackedRefs(commonDir);
        return packedContent;
      };
      const current = updates.map((u) => currentValue(commonDir, packed, u.ref));
      updates.forEach((u, i) => {
        if (u.oldOid !== undefined && current[i] !== u.oldOid)
          throw new CasMismatchError(u.ref, u.oldOid, current[i]!);
        if (u.newOid && current[i] === null) checkPackedNameConflict(packed(), u.ref);
      });
      faultPoint('ref-locked');

      const ident = opts.ident ?? defaultIdent(cfg);
      const date = opts.date ?? new Date();
      updates.forEach((u, i) => {
        if (!u.newOid) return;
        const lock = locks[i]!;
        lock.write(`${u.newOid}\n`);
        faultPoint('ref-written');
        appendReflog(commonDir, u.ref, current[i]!, u.newOid, ident, u.message, date);
        lock.commit();
      });
      const packedNow = deletes.length > 0 ? packed() : null;
      if (packedLock && packedNow) {
        const rewritten = withoutPacked(packedNow, new Set(deletes.map((d) => d.ref)));
        if (rewritten !== null) {
          packedLock.write(rewritten);
          packedLock.commit();
        }
      }
      updates.forEach((u, i) => {
        if (u.newOid !== null || current[i] === null) return;
        try {
          unlinkSync(join(commonDir, u.ref));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
        deleteReflog(commonDir, u.ref);
      });
    } finally {
      packedLock?.rollback();
      for (const lock of locks) lock.rollback();
    }
    for (const u of updates) {
      if (u.newOid === null) removeEmptyParents(commonDir, u.ref);
    }
  }
}

/** Locks one ref in the common dir, creating leading directories (files-backend.c lock_raw_ref). */
function lockRef(commonDir: string, ref: string, timeoutMs: number): Lockfile {
  const path = join(commonDir, ref);
  let lock: Lockfile | undefined;
  // A racing `git pack-refs --prune` or ref deletion may remove the (empty) leading directory between
  // our mkdir and the O_EXCL open: retry, as git's raceproof_create_file does.
  // The leading directories usually exist: try first and create them only on ENOENT.
  for (let attempt = 1; lock === undefined; attempt++) {
    try {
      lock = Lockfile.acquire(path, timeoutMs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') throw new RefNameConflictError(ref, blockingFileFor(commonDir, ref));
      if (code !== 'ENOENT' || attempt >= 5) throw err;
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (mkErr) {
        const mkCode = (mkErr as NodeJS.ErrnoException).code;
        if (mkCode === 'ENOTDIR' || mkCode === 'EEXIST')
          throw new RefNameConflictError(ref, blockingFileFor(commonDir, ref));
        throw mkErr;
      }
    }
  }
  try {
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
      // A tree of empty directories in the way is removed, as git does (remove_empty_directories);
      // one holding any ref is a name conflict.
      if (!removeEmptyTree(path)) throw new RefNameConflictError(ref, `${ref}/…`);
    }
  } catch (err) {
    lock.rollback();
    throw err;
  }
  return lock;
}

/** Removes `dir` if it holds nothing but empty directories (git's REMOVE_DIR_EMPTY_ONLY). */
function removeEmptyTree(dir: string): boolean {
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory() || !removeEmptyTree(join(dir, e.name))) return false;
    }
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

function blockingFileFor(commonDir: string, ref: string): string {
  const parts = ref.split('/');
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (statSync(join(commonDir, prefix), { throwIfNoEntry: false })?.isFile()) return prefix;
  }
  return 'a file on its path';
}

function currentValue(commonDir: string, packed: () => Buffer | null, ref: string): string | null {
  const loose = readLoose(commonDir, ref);
  if (loose === null) return lookupPacked(packed(), ref);
  if ('oid' in loose) return loose.oid;
  throw new UsageError(`refusing to update symbolic ref ${ref}`);
}

function checkPackedNameConflict(packed: Buffer | null, ref: string): void {
  if (!packed) return;
  if (packed.includes(` ${ref}/`)) throw new RefNameConflictError(ref, `${ref}/… (packed)`);
  const parts = ref.split('/');
  for (let i = 2; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (lookupPacked(packed, prefix)) throw new RefNameConflictError(ref, prefix);
  }
}

/**
 * Deletes the loose file of a ref that holds no object id (a transaction cannot: it reads the ref's
 * value), under the ref's own lock as git's lockfile protocol wants: `<ref>.lock` is taken (O_EXCL,
 * `core.filesRefLockTimeout`), the file is re-read under the lock and removed, with its reflog and
 * empty parent directories, only when it still holds `content` exactly.
 *
 * @returns true when removed (or already gone); false when the file now holds something else.
 * @throws LockTimeoutError when the ref's lock stays held.
 */
export function deleteBrokenRef(repo: Repo, ref: string, content: string): boolean {
  assertRefname(ref);
  const { commonDir } = repo;
  const timeout = intConfig(repo.config().get('core.filesreflocktimeout'), DEFAULT_REF_LOCK_TIMEOUT_MS);
  const lock = Lockfile.acquire(join(commonDir, ref), timeout);
  try {
    let now: string;
    try {
      now = readFileSync(join(commonDir, ref), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw err;
    }
    if (now !== content) return false;
    unlinkSync(join(commonDir, ref));
    deleteReflog(commonDir, ref);
    removeEmptyParents(commonDir, ref);
    return true;
  } finally {
    lock.rollback();
  }
}

/** Removes directories left empty by a deleted ref, up to (not including) `refs/` (try_remove_empty_parents). */
function removeEmptyParents(commonDir: string, ref: string): void {
  for (const base of [commonDir, join(commonDir, 'logs')]) {
    const parts = ref.split('/');
    for (let i = parts.length - 1; i > 2; i--) {
      const dir = join(base, ...parts.slice(0, i));
      try {
        if (readdirSync(dir).length > 0) break;
        rmdirSync(dir);
      } catch {
        break;
      }
    }
  }
}

function intConfig(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) ? n : fallback;
}

function defaultIdent(cfg: ReadonlyMap<string, string>): RefIdent {
  return {
    name: process.env.GIT_COMMITTER_NAME || cfg.get('user.name') || 'git-coord',
    email: process.env.GIT_COMMITTER_EMAIL || cfg.get('user.email') || 'git-coord@localhost',
  };
}
