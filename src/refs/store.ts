import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRef } from './read.js';
import type { RefIdent } from './reflog.js';
import type { Repo } from './repo.js';
import { RefTransaction } from './transaction.js';

/**
 * One ref change of a write: `oid` is the new value (`null` deletes), `expect` the value the ref must
 * hold now (`null` = must not exist). `oid === expect` only verifies (a no-op when both are `null`).
 */
export interface RefUpdate {
  ref: string;
  oid: string | null;
  expect: string | null;
  /** Reflog message of this update. */
  message: string;
}

/** How a backend wants a lost compare-and-swap retried (see `optimistic`). */
export interface RetryPolicy {
  /** Total time budget of one write, in milliseconds. */
  budgetMs: number;
  /** Upper bound of one jittered back-off sleep, in milliseconds. */
  maxBackoffMs: number;
}

/**
 * Where records are stored and how they are changed: the shape of git's refs.h in front of its
 * backends (files, packed-refs, reftable). Readers always read the local refs (`refs/coord/*` in the
 * common dir, through src/refs/read.ts); a backend decides what "current" means and how a set of
 * updates becomes one all-or-nothing compare-and-swap:
 * - {@link LocalRefStore}: the local refs are the truth; commit = one {@link RefTransaction}.
 * - `RemoteRefStore` (src/remote, team mode, DESIGN §7): a git remote is the truth; the local refs are
 *   its validated mirror; `refresh` fetches, commit = one `git push --atomic --force-with-lease`.
 *
 * Lease rules are written once against this interface and never ask which backend they run on.
 */
export interface RefStore {
  /** `local`, or `remote <name>`, for messages. */
  readonly name: string;
  /**
   * True when every write must produce an object id no other write can produce (a push of an oid
   * the remote already has answers "up to date" without checking the lease: DESIGN §7, trap 1).
   */
  readonly uniqueWrites: boolean;
  /** True when a commit goes over the network: hooks then defer heartbeats instead of waiting. */
  readonly networked: boolean;
  readonly retry: RetryPolicy;
  /**
   * Makes the local refs current before a decision. A no-op for the local backend; for a remote, a
   * fetch unless this process already refreshed and has not lost a race since.
   */
  refresh(): Promise<void>;
  /**
   * Applies `updates` all or nothing.
   *
   * @throws CasMismatchError when a ref no longer holds its `expect` (nothing changed): re-read and
   *   re-decide; LockTimeoutError; backend-specific errors (remote unreachable, refused by a hook).
   */
  commit(updates: readonly RefUpdate[], ident: RefIdent): Promise<void>;
  /**
   * When this clone first saw `ref` hold its current value, in ms since the epoch on this host's
   * clock, or `null` when the backend does not track it (one clock: the record's own times count).
   */
  observedAt(ref: string): number | null;
}

/** The local files backend: the refs of this repository are the truth. */
export class LocalRefStore implements RefStore {
  readonly name = 'local';
  readonly uniqueWrites = false;
  readonly networked = false;
  readonly retry: RetryPolicy = { budgetMs: 5000, maxBackoffMs: 64 };
  constructor(private readonly repo: Repo) {}

  async refresh(): Promise<void> {}

  /** One {@link RefTransaction}: locks in sorted order, compare under the locks, reflog, rename. */
  async commit(updates: readonly RefUpdate[], ident: RefIdent): Promise<void> {
    queueUpdates(new RefTransaction(this.repo), updates).commit({ ident });
  }

  observedAt(): number | null {
    return null;
  }
}

/** Queues `updates` on `tx` (create, update, delete or verify by their `oid`/`expect`). */
export function queueUpdates(tx: RefTransaction, updates: readonly RefUpdate[]): RefTransaction {
  for (const u of updates) {
    if (u.oid === u.expect) {
      if (u.oid !== null) tx.verify(u.ref, u.expect);
    } else if (u.oid === null) tx.delete(u.ref, u.expect ?? undefined, u.message);
    else if (u.expect === null) tx.create(u.ref, u.oid, u.message);
    else tx.update(u.ref, u.oid, u.expect, u.message);
  }
  return tx;
}

/**
 * The time of the newest reflog entry of `ref` that set it to its current value (ms since the
 * epoch), or `null` when the ref is absent or its reflog does not end in that value. Reads
 * `logs/<ref>` in the common dir, git's reflog format (`<old> <new> <ident> <unix-seconds> <tz>\t…`).
 */
export function reflogTimeOfCurrent(repo: Pick<Repo, 'commonDir'>, ref: string): number | null {
  const oid = readRef(repo, ref);
  if (oid === null) return null;
  let text: string;
  try {
    text = readFileSync(join(repo.commonDir, 'logs', ref), 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (!line) continue;
    if (line.slice(41, 81) !== oid) return null;
    const m = /> (\d+) [+-]\d{4}(\t|$)/.exec(line);
    return m ? Number(m[1]) * 1000 : null;
  }
  return null;
}
