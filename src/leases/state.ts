import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BranchIndex,
  BranchIndexType,
  type Lease,
  LeaseType,
  type RecordType,
  type WorktreeRecord,
  WorktreeType,
} from '../records/schemas.js';
import {
  type CorruptEntry,
  CorruptRecordError,
  isCorrupt,
  iterateRecords,
  listRecords,
  readRecord,
  type StoredRecord,
} from '../records/store.js';
import type { Repo } from '../refs/repo.js';
import { branchIndexRef, LEASE_PREFIX, leaseRef, worktreeIndexRef } from './model.js';

/** Reads the lease `key`, or `null` when there is none. @throws CorruptRecordError */
export function readLease(repo: Repo, key: string): Promise<StoredRecord<Lease> | null> {
  return readRecord(repo, leaseRef(key), LeaseType);
}

/**
 * An index entry (branch or worktree) as found: its oid, and the record or `null` when it is corrupt.
 * Index entries are derived data, so a corrupt one is overwritten rather than fatal.
 */
export interface IndexEntry<T> {
  ref: string;
  oid: string;
  record: T | null;
}

async function readIndex<T>(repo: Repo, ref: string, type: RecordType<T>): Promise<IndexEntry<T> | null> {
  try {
    return await readRecord(repo, ref, type);
  } catch (err) {
    if (err instanceof CorruptRecordError) return { ref, oid: err.oid, record: null };
    throw err;
  }
}

/** Reads `refs/coord/branches/<branch>`. */
export function readBranchIndex(repo: Repo, branch: string): Promise<IndexEntry<BranchIndex> | null> {
  return readIndex(repo, branchIndexRef(branch), BranchIndexType);
}

/** Reads `refs/coord/worktrees/<wtid>`. */
export function readWorktreeIndex(repo: Repo, wtid: string): Promise<IndexEntry<WorktreeRecord> | null> {
  return readIndex(repo, worktreeIndexRef(wtid), WorktreeType);
}

/** Every lease, sorted by key; corrupt records separately (one bad record never hides the others). */
export async function listLeases(
  repo: Repo,
): Promise<{ leases: Array<StoredRecord<Lease>>; corrupt: CorruptEntry[] }> {
  const entries = await listRecords(repo, LEASE_PREFIX, LeaseType);
  const leases: Array<StoredRecord<Lease>> = [];
  const corrupt: CorruptEntry[] = [];
  for (const e of entries) {
    if (isCorrupt(e)) corrupt.push(e);
    else leases.push(e);
  }
  return { leases, corrupt };
}

/** Every lease (or corrupt entry) one at a time, sorted by key: {@link listLeases} for streaming callers. */
export function iterateLeases(repo: Repo): AsyncGenerator<StoredRecord<Lease> | CorruptEntry> {
  return iterateRecords(repo, LEASE_PREFIX, LeaseType);
}

/**
 * The lease that owns worktree `wtid` according to the worktree index, when that lease still names
 * this worktree; else `null`.
 */
export async function leaseForWorktree(repo: Repo, wtid: string): Promise<StoredRecord<Lease> | null> {
  const entry = await readWorktreeIndex(repo, wtid);
  if (!entry?.record) return null;
  const lease = await readLease(repo, entry.record.key);
  return lease && lease.record.worktree?.id === wtid ? lease : null;
}

/** The lease that holds `branch` according to the branch index, when it still names that branch. */
export async function leaseForBranch(repo: Repo, branch: string): Promise<StoredRecord<Lease> | null> {
  const entry = await readBranchIndex(repo, branch);
  if (!entry?.record) return null;
  const lease = await readLease(repo, entry.record.key);
  return lease && lease.record.branch === branch ? lease : null;
}

/**
 * The branch checked out in the worktree whose git dir is `gitDir` (its `HEAD` file), or `null` when
 * HEAD is detached or unreadable. No subprocess.
 */
export function currentBranch(gitDir: string): string | null {
  try {
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    return head.startsWith('ref: refs/heads/') ? head.slice('ref: refs/heads/'.length) : null;
  } catch {
    return null;
  }
}
