import type {
  Attempt,
  BranchIndex,
  GateResult,
  Holder,
  Lease,
  MergeRecord,
  WorktreeRecord,
  WorktreeRef,
} from '../records/schemas.js';
import { type AttemptEnd, finishAttempt } from './attempts.js';

/**
 * Pure lease transitions (DESIGN §2): each takes the current record and returns the next one, never
 * touching storage. Every function bumps `revision`; acquisitions bump `token`; a change of holder
 * bumps `transitions`.
 */

/** Prefix of lease refs, the source of truth. */
export const LEASE_PREFIX = 'refs/coord/leases/';
/** Prefix of the branch index. */
export const BRANCH_PREFIX = 'refs/coord/branches/';
/** Prefix of worktree ownership records. */
export const WORKTREE_PREFIX = 'refs/coord/worktrees/';

/** `refs/coord/leases/<key>`. */
export function leaseRef(key: string): string {
  return `${LEASE_PREFIX}${key}`;
}
/** `refs/coord/branches/<branch>`. */
export function branchIndexRef(branch: string): string {
  return `${BRANCH_PREFIX}${branch}`;
}
/** `refs/coord/worktrees/<wtid>`. */
export function worktreeIndexRef(wtid: string): string {
  return `${WORKTREE_PREFIX}${wtid}`;
}

/** The branch name a pattern such as `coord/{key}` gives for `key`. */
export function branchForKey(pattern: string, key: string): string {
  return pattern.split('{key}').join(key);
}

/** What an acquisition sets. */
export interface AcquireInput {
  key: string;
  holder: Holder;
  branch: string | null;
  baseRef: string | null;
  worktree: WorktreeRef | null;
  ttlSeconds: number;
  note: string | null;
  now: Date;
}

/**
 * A new tenure: from nothing, a closed or crashed lease, or (takeover) a stale one. Token +1 (never
 * reset), revision +1, transitions +1 when the holder id changes (0 for the very first holder).
 * The attempts carry over (the budget counts every run on the key); one still running ends `lost`.
 */
export function acquireLease(prev: Lease | null, a: AcquireInput): Lease {
  const at = a.now.toISOString();
  const token = (prev?.token ?? 0) + 1;
  const attempts = settle(prev?.attempts, a.now, {
    result: prev?.state === 'crashed' ? 'crashed' : 'lost',
    reason: `lease acquired by ${a.holder.id} (token ${token})`,
  });
  return {
    schema: 'coord.lease/v1',
    key: a.key,
    state: 'open',
    outcome: null,
    holder: a.holder,
    token,
    revision: (prev?.revision ?? 0) + 1,
    branch: a.branch,
    baseRef: a.baseRef,
    worktree: a.worktree,
    ttlSeconds: a.ttlSeconds,
    acquiredAt: at,
    renewedAt: at,
    transitions: (prev?.transitions ?? 0) + (prev && prev.holder.id !== a.holder.id ? 1 : 0),
    closedAt: null,
    crashedAt: null,
    crashReason: null,
    gate: null,
    note: a.note,
    ...(attempts ? { attempts } : {}),
  };
}

/** What a running attempt becomes when its lease is closed under it. */
const RESULT_OF_OUTCOME: Partial<Record<string, AttemptEnd['result']>> = {
  done: 'done',
  released: 'released',
  failed: 'failed',
  aborted: 'aborted',
};

/** `attempts` with a running one ended (no exit code: its runner did not report one). */
function settle(
  attempts: Attempt[] | undefined,
  now: Date,
  end: Pick<AttemptEnd, 'result' | 'reason'>,
): Attempt[] | undefined {
  return finishAttempt(attempts, { exit: null, signal: null, ...end }, now);
}

/** A heartbeat: `renewedAt` = now; optionally a new TTL, holder process or note. Same token. */
export function renewLease(
  prev: Lease,
  now: Date,
  changes: { ttlSeconds?: number; holder?: Holder; note?: string | null } = {},
): Lease {
  return {
    ...prev,
    holder: changes.holder ?? prev.holder,
    revision: prev.revision + 1,
    ttlSeconds: changes.ttlSeconds ?? prev.ttlSeconds,
    renewedAt: now.toISOString(),
    note: changes.note === undefined ? prev.note : changes.note,
  };
}

/** Closes the lease with `outcome`; `gate` (when given) becomes the recorded gate result. */
export function closeLease(
  prev: Lease,
  outcome: 'done' | 'released' | 'failed' | 'aborted' | 'cleared',
  now: Date,
  gate?: GateResult | null,
): Lease {
  const attempts = settle(prev.attempts, now, {
    result: RESULT_OF_OUTCOME[outcome] ?? 'lost',
    reason: `lease closed (${outcome})`,
  });
  return {
    ...prev,
    state: 'closed',
    outcome,
    revision: prev.revision + 1,
    closedAt: now.toISOString(),
    gate: gate === undefined ? prev.gate : gate,
    ...(attempts ? { attempts } : {}),
  };
}

/** Marks the lease crashed with a reason. */
export function crashLease(prev: Lease, reason: string, now: Date): Lease {
  const attempts = settle(prev.attempts, now, { result: 'crashed', reason });
  return {
    ...prev,
    state: 'crashed',
    outcome: null,
    revision: prev.revision + 1,
    crashedAt: now.toISOString(),
    crashReason: reason,
    ...(attempts ? { attempts } : {}),
  };
}

/**
 * A takeover: a new tenure for `holder` on the same branch and worktree. Token +1, transitions +1 when
 * the holder changes.
 */
export function takeOverLease(prev: Lease, holder: Holder, now: Date, ttlSeconds?: number): Lease {
  return acquireLease(prev, {
    key: prev.key,
    holder,
    branch: prev.branch,
    baseRef: prev.baseRef,
    worktree: prev.worktree,
    ttlSeconds: ttlSeconds ?? prev.ttlSeconds,
    note: prev.note,
    now,
  });
}

/**
 * True when the lease's index entries (branch, worktree) should exist: while it is open or crashed
 * (a crashed lease still owns its work until it is claimed again, taken over or cleared). Closing a
 * lease deletes them.
 */
export function holdsIndex(lease: Lease): boolean {
  return lease.state !== 'closed';
}

/** The branch index entry a lease implies, or `null`. */
export function branchIndexFor(lease: Lease): BranchIndex | null {
  if (!lease.branch || !holdsIndex(lease)) return null;
  return {
    schema: 'coord.branch/v1',
    branch: lease.branch,
    key: lease.key,
    holder: lease.holder.id,
    token: lease.token,
  };
}

/** The worktree ownership record a lease implies, or `null`. */
export function worktreeRecordFor(lease: Lease): WorktreeRecord | null {
  if (!lease.worktree || !holdsIndex(lease)) return null;
  return {
    schema: 'coord.worktree/v1',
    id: lease.worktree.id,
    path: lease.worktree.path,
    host: lease.worktree.host,
    branch: lease.branch,
    key: lease.key,
    holder: lease.holder.id,
    token: lease.token,
  };
}

/** Records a merge of the lease's branch (`git coord merge`): same state and token, revision +1. */
export function mergedLease(prev: Lease, merge: MergeRecord): Lease {
  return { ...prev, revision: prev.revision + 1, merge };
}

/**
 * The tombstone `clear` leaves where a record it cannot read was (DESIGN §7: a deleted ref comes
 * back from any clone that still has it, so leases are never deleted): closed, outcome `cleared`,
 * holding `token` (the highest one known for the key) so the next claim's token is higher still.
 */
export function tombstoneLease(key: string, token: number, by: Holder, now: Date, note: string): Lease {
  const at = now.toISOString();
  return {
    schema: 'coord.lease/v1',
    key,
    state: 'closed',
    outcome: 'cleared',
    holder: by,
    token,
    revision: 1,
    branch: null,
    baseRef: null,
    worktree: null,
    ttlSeconds: 1,
    acquiredAt: at,
    renewedAt: at,
    transitions: 0,
    closedAt: at,
    crashedAt: null,
    crashReason: null,
    gate: null,
    note: note.slice(0, 4096),
  };
}
