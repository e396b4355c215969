import { linkSync, lstatSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoordError } from '../errors.js';
import { sleepSync } from '../refs/lock.js';
import type { Repo } from '../refs/repo.js';
import { formatAge, type ProcessProbe, systemProbe } from './liveness.js';

/** Random bytes for lock nonces and temp names (node:crypto loaded on first use: ~3 ms of start-up). */
const nonceBytes = (n: number) => process.getBuiltinModule('node:crypto').randomBytes(n);
/** File name of the provisioning lock in the common git dir. */
export const PROVISION_LOCK = 'coord-provision.lock';

/** How long a claim waits for another claim's provisioning, by default (ms). */
export const DEFAULT_PROVISION_TIMEOUT_MS = 30_000;

/**
 * An empty (or unreadable) lock older than this was left by a process killed between creating and
 * writing it (older versions created then wrote; this one never leaves an empty lock), so it is
 * broken; a younger one may be a claim starting (ms).
 */
export const EMPTY_LOCK_GRACE_MS = 5_000;

/** The break lock is held for a few syscalls; one older than this was left by a killed breaker (ms). */
const BREAK_LOCK_STALE_MS = 10_000;

/** What a lock file says about its owner: `<pid> <host> <pidStart|-> <nonce>` (older: `<pid> <host>`). */
export interface LockOwner {
  pid: number | null;
  host: string | null;
  /** Start time of `pid` (clock ticks since boot), when the writer knew it. */
  pidStart: number | null;
}

/** A lock file as seen once: its exact content and identity, so a breaker can tell it is unchanged. */
export interface LockSnapshot {
  path: string;
  content: string;
  ino: number;
  mtimeMs: number;
  owner: LockOwner;
}

/**
 * How a lock looks from this host: `live` (its owner runs here), `dead` (its owner on this host is
 * gone, or its pid now belongs to another process), `foreign` (owned from another host: cannot be
 * checked), `starting` (no owner written yet, younger than {@link EMPTY_LOCK_GRACE_MS}), `abandoned`
 * (no owner, older than that).
 */
export type LockVerdict = 'live' | 'dead' | 'foreign' | 'starting' | 'abandoned';

function parseOwner(content: string): LockOwner {
  const [pid, host, start] = content.trim().split(' ');
  const n = Number(pid);
  const s = Number(start);
  return {
    pid: pid && Number.isSafeInteger(n) && n > 0 ? n : null,
    host: host || null,
    pidStart: start && start !== '-' && Number.isSafeInteger(s) && s >= 0 ? s : null,
  };
}

/** Reads a lock file once; `null` when there is none. */
export function snapshotLock(path: string): LockSnapshot | null {
  try {
    const st = lstatSync(path);
    const content = readFileSync(path, 'utf8');
    return { path, content, ino: st.ino, mtimeMs: st.mtimeMs, owner: parseOwner(content) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Judges a lock snapshot from `host` (see {@link LockVerdict}). */
export function judgeLock(s: LockSnapshot, host: string, probe: ProcessProbe, now = Date.now()): LockVerdict {
  const { pid, host: owner, pidStart } = s.owner;
  if (pid === null || owner === null) return now - s.mtimeMs < EMPTY_LOCK_GRACE_MS ? 'starting' : 'abandoned';
  if (owner !== host) return 'foreign';
  if (!probe.alive(pid)) return 'dead';
  if (pidStart !== null) {
    const start = probe.startTime(pid);
    if (start !== null && start !== pidStart) return 'dead';
  }
  return 'live';
}

/** Who owns a lock, for messages: `process 123 on host-a`. */
export function describeOwner(s: LockSnapshot): string {
  return s.owner.pid === null
    ? 'no process (the file names no owner)'
    : `process ${s.owner.pid} on ${s.owner.host}`;
}

/** True when the file at `s.path` is still the very file `s` saw (same inode, same content). */
function unchanged(s: LockSnapshot): boolean {
  const now = snapshotLock(s.path);
  return now !== null && now.ino === s.ino && now.content === s.content;
}

/**
 * Creates `path` holding `content` atomically, or fails when it exists: the content goes into a
 * unique temp file that is then hard-linked to `path` (link(2) fails with EEXIST, like O_EXCL), so
 * the lock is never seen empty.
 *
 * @returns the new lock's inode, or `null` when `path` exists.
 */
function createAtomically(path: string, content: string): number | null {
  const tmp = `${path}.tmp-${process.pid}-${nonceBytes(4).toString('hex')}`;
  writeFileSync(tmp, content, { flag: 'wx', mode: 0o644 });
  try {
    linkSync(tmp, path);
    return lstatSync(path).ino;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

let ownStartCache: { probe: ProcessProbe; start: number | null } | null = null;
/** This process's start time by `probe` (read once: it never changes). */
function ownStart(probe: ProcessProbe): number | null {
  if (ownStartCache?.probe !== probe) ownStartCache = { probe, start: probe.startTime(process.pid) };
  return ownStartCache.start;
}

/** The content of a lock this process takes: `<pid> <host> <pid start time|-> <nonce>\n`. */
export function ownerLine(host: string, probe: ProcessProbe): string {
  const start = ownStart(probe);
  return `${process.pid} ${host} ${start ?? '-'} ${nonceBytes(6).toString('hex')}\n`;
}

/**
 * Removes a lock that {@link judgeLock} found `dead` or `abandoned`, safely against every other
 * process doing the same: the remover first takes the break lock `<lock>.break` (created
 * atomically), then, holding it, removes the lock only if it is still the very file it judged (same
 * inode and content: each lock's content is unique, so a fresh lock taken meanwhile is never removed),
 * then drops the break lock. Two claimers breaking one dead lock: one removes it, the other finds it
 * gone or replaced and goes back to waiting, so only one of them can then create the lock. A break
 * lock left by a killed breaker (its owner dead, or older than 10 s) is itself removed by renaming it
 * to a unique name and checking the renamed file is the one judged (else it is put back).
 *
 * @returns true when this call removed the lock (false: someone else did, or it changed).
 */
export function breakStaleLock(
  stale: LockSnapshot,
  host: string,
  probe: ProcessProbe = systemProbe,
): boolean {
  const breakPath = `${stale.path}.break`;
  const mine = ownerLine(host, probe);
  const ino = createAtomically(breakPath, mine);
  if (ino === null) {
    clearDeadBreakLock(breakPath, host, probe);
    return false;
  }
  try {
    if (!unchanged(stale)) return false;
    try {
      unlinkSync(stale.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return false;
    }
    return true;
  } finally {
    const b = snapshotLock(breakPath);
    if (b && b.ino === ino && b.content === mine) rmSync(breakPath, { force: true });
  }
}

function clearDeadBreakLock(breakPath: string, host: string, probe: ProcessProbe): void {
  const b = snapshotLock(breakPath);
  if (!b) return;
  const verdict = judgeLock(b, host, probe);
  if (verdict !== 'dead' && Date.now() - b.mtimeMs < BREAK_LOCK_STALE_MS) return;
  const aside = `${breakPath}.stale-${process.pid}-${nonceBytes(4).toString('hex')}`;
  try {
    renameSync(breakPath, aside);
  } catch {
    return; // gone meanwhile
  }
  const moved = snapshotLock(aside);
  if (moved && (moved.ino !== b.ino || moved.content !== b.content)) {
    // Another breaker's live break lock: put it back (unless a third one was created meanwhile).
    try {
      linkSync(aside, breakPath);
    } catch {
      // EEXIST: a newer break lock is in place; ours goes
    }
  }
  rmSync(aside, { force: true });
}

/**
 * The provisioning lock is held by a live claim for longer than this claim waits (exit 1), or by a
 * claim on another host whose process cannot be checked from here. Says exactly what to do.
 */
export class ProvisionLockHeldError extends CoordError {
  readonly lockPath: string;
  constructor(s: LockSnapshot, verdict: LockVerdict, host: string, waitedMs: number) {
    const age = formatAge(Math.max(0, Date.now() - s.mtimeMs));
    const what =
      verdict === 'foreign'
        ? `is held by ${describeOwner(s)}, another host, so whether that claim still runs cannot be checked from ${host}. ` +
          `If no git-coord claim is running on ${s.owner.host}, remove it: \`rm ${s.path}\``
        : verdict === 'live'
          ? `is held by ${describeOwner(s)}, still running: a claim provisioning a worktree, or a merge (lock ${age} old). ` +
            `Wait for it and retry; if that process is stuck, stop it (\`kill ${s.owner.pid}\`): its lock is then removed by the next claim`
          : `names no owner yet (${age} old): a claim is starting. Retry in a few seconds`;
    super('provision-lock-held', `waited ${formatAge(waitedMs)} for the claim lock: ${s.path} ${what}.`);
    this.lockPath = s.path;
  }
}

/**
 * A repository-wide lock (`<common dir>/coord-provision.lock`) held by a claim from just before
 * `git worktree add` until its ref transaction has committed or been rolled back. It serialises
 * worktree provisioning, so racing claims never see each other's half-made worktree: the second
 * claimer re-reads the lease under the lock and stops before touching the disk. The file holds
 * `<pid> <host> <pid start time> <nonce>`, written atomically ({@link createAtomically}), so a lock
 * left by a crash is recognised at once on the same host (pid gone or reused) and broken safely
 * ({@link breakStaleLock}). Claims without a worktree do not take it. `git coord merge` takes it
 * too, from deciding the merge until the target branch and its checkout have moved, so merges into a
 * checked-out branch never see each other's half-updated checkout.
 */
export class ProvisionLock {
  private readonly path: string;
  private readonly ino: number;
  private readonly content: string;
  /** When acquiring broke a lock left by a dead claim: who had left it (for a warning), else `null`. */
  readonly broke: string | null;
  private constructor(path: string, ino: number, content: string, broke: string | null) {
    this.path = path;
    this.ino = ino;
    this.content = content;
    this.broke = broke;
  }

  /**
   * Takes the lock, waiting (jittered backoff, up to `timeoutMs`) while a live claim holds it. A lock
   * whose owner on this host is gone (or whose pid was reused), or one that names no owner and is
   * older than {@link EMPTY_LOCK_GRACE_MS}, is broken at once.
   *
   * @throws ProvisionLockHeldError when it stays held for `timeoutMs` (by a live claim, a claim on
   *   another host, or a claim that is starting).
   */
  static acquire(
    repo: Pick<Repo, 'commonDir'>,
    host: string,
    timeoutMs = DEFAULT_PROVISION_TIMEOUT_MS,
    probe: ProcessProbe = systemProbe,
  ): ProvisionLock {
    const path = join(repo.commonDir, PROVISION_LOCK);
    const started = Date.now();
    let broke: string | null = null;
    for (let n = 1; ; n++) {
      const content = ownerLine(host, probe);
      const ino = createAtomically(path, content);
      if (ino !== null) return new ProvisionLock(path, ino, content, broke);
      const seen = snapshotLock(path);
      if (!seen) continue; // released meanwhile
      const verdict = judgeLock(seen, host, probe);
      if (verdict === 'dead' || verdict === 'abandoned') {
        if (breakStaleLock(seen, host, probe)) {
          broke = `${describeOwner(seen)} (${verdict === 'dead' ? 'gone' : 'no owner written'})`;
          continue;
        }
      }
      if (Date.now() - started >= timeoutMs) {
        throw new ProvisionLockHeldError(seen, verdict, host, Date.now() - started);
      }
      sleepSync(5 + Math.random() * Math.min(100, 5 * n));
    }
  }

  /** Releases the lock (removes the file if it is still ours). Safe to call twice. */
  release(): void {
    const now = snapshotLock(this.path);
    if (now && now.ino === this.ino && now.content === this.content) rmSync(this.path, { force: true });
  }
}
