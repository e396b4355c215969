import {
  BRANCH_PREFIX as BRANCHES,
  branchIndexFor as expectedBranchIndex,
  worktreeRecordFor as expectedWorktreeRecord,
  LEASE_PREFIX as LEASES,
  WORKTREE_PREFIX as WORKTREES,
} from '../leases/model.js';
import { encodeRecord } from '../records/codec.js';
import { BranchIndexType, type Lease, LeaseType, type RecordType, WorktreeType } from '../records/schemas.js';
import {
  type CorruptEntry,
  isCorrupt,
  listRecords,
  loadRecord,
  type StoredRecord,
  writeRecord,
} from '../records/store.js';
import { hashBlob } from '../refs/objects.js';
import { listRefs } from '../refs/read.js';
import type { Repo } from '../refs/repo.js';
import type { RefUpdate } from '../refs/store.js';

/** One index problem and the ref change that fixes it. */
export interface IndexProblem {
  kind: 'orphan-index' | 'index-mismatch' | 'missing-index' | 'duplicate-claim';
  ref: string;
  message: string;
  /** The fix: delete (`newOid` null) or write, expecting `oldOid`; absent when not fixable. */
  change?: { newOid: string | null; oldOid: string | null; message: string };
}

interface Wanted<T> {
  name: string;
  record: T;
  key: string;
}

/**
 * Compares the branch and worktree indexes with what the leases imply. Index entries are derived
 * data, so the leases win: an entry no holding lease implies is an orphan (deleted by the fix), one
 * whose content differs from the lease's is a mismatch (rewritten), one a holding lease implies but
 * that is absent is missing (created). Entries that fail to decode are left to the corrupt-record
 * check (`skipRefs`), and entries whose lease is itself corrupt are left alone.
 *
 * Blobs for the fixes are written only when `writeBlobs` is set (the `--fix` pass).
 */
export async function planIndexes(
  repo: Repo,
  opts: {
    skipRefs: ReadonlySet<string>;
    writeBlobs: boolean;
    /** The leases as already listed (default: listed here). */
    leases?: ReadonlyArray<StoredRecord<Lease> | CorruptEntry>;
  },
): Promise<IndexProblem[]> {
  const entries = opts.leases ?? (await listRecords(repo, LEASES, LeaseType));
  const leases = entries.filter((e): e is StoredRecord<Lease> => !isCorrupt(e));
  const corruptKeys = new Set(entries.filter(isCorrupt).map((e) => e.ref.slice(LEASES.length)));
  const problems: IndexProblem[] = [];

  const plan = <T>(
    prefix: string,
    type: RecordType<T>,
    derive: (l: Lease) => T | null,
    name: (r: T) => string,
    what: string,
  ) => {
    const wanted = new Map<string, Wanted<T>>();
    for (const { record: lease } of leases) {
      const record = derive(lease);
      if (!record) continue;
      const ref = `${prefix}${name(record)}`;
      const other = wanted.get(ref);
      if (other) {
        problems.push({
          kind: 'duplicate-claim',
          ref,
          message: `${what} ${name(record)} is claimed by both lease ${other.key} and lease ${lease.key}; clear or release one (git coord release / clear)`,
        });
        continue;
      }
      wanted.set(ref, { name: name(record), record, key: lease.key });
    }
    const current = new Map(listRefs(repo, prefix).map((r) => [r.ref, r.oid]));
    return { wanted, current, type, what };
  };

  const sections = [
    plan(BRANCHES, BranchIndexType, expectedBranchIndex, (r) => r.branch, 'branch'),
    plan(WORKTREES, WorktreeType, expectedWorktreeRecord, (r) => r.id, 'worktree'),
  ];
  for (const { wanted, current, type, what } of sections as Array<{
    wanted: Map<string, Wanted<unknown>>;
    current: Map<string, string>;
    type: RecordType<unknown>;
    what: string;
  }>) {
    for (const [ref, oid] of current) {
      if (opts.skipRefs.has(ref) || wanted.has(ref)) continue;
      const key = await indexKey(repo, ref, oid, type);
      if (key !== null && corruptKeys.has(key)) continue;
      problems.push({
        kind: 'orphan-index',
        ref,
        message: `${what} index entry names ${key === null ? 'no lease' : `lease ${key}`}, which does not hold it (absent, closed or pointing elsewhere)`,
        change: { newOid: null, oldOid: oid, message: 'coord: doctor remove orphan index entry' },
      });
    }
    for (const [ref, want] of wanted) {
      const bytes = encodeRecord(type, want.record);
      const oid = hashBlob(bytes);
      const cur = current.get(ref) ?? null;
      if (cur === oid || (cur !== null && opts.skipRefs.has(ref))) continue;
      const newOid = opts.writeBlobs ? writeRecord(repo, type, want.record) : oid;
      problems.push(
        cur === null
          ? {
              kind: 'missing-index',
              ref,
              message: `lease ${want.key} holds ${what} ${want.name} but its index entry is missing`,
              change: { newOid, oldOid: null, message: `coord: doctor rebuild index for ${want.key}` },
            }
          : {
              kind: 'index-mismatch',
              ref,
              message: `${what} index entry disagrees with lease ${want.key} (holder, token or fields differ)`,
              change: { newOid, oldOid: cur, message: `coord: doctor rebuild index for ${want.key}` },
            },
      );
    }
  }
  return problems.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
}

/** The lease key an index entry names, or `null` when it does not decode. */
async function indexKey(
  repo: Repo,
  ref: string,
  oid: string,
  type: RecordType<unknown>,
): Promise<string | null> {
  try {
    return ((await loadRecord(repo, ref, oid, type)) as { key: string }).key;
  } catch {
    return null;
  }
}

/** Queues every fixable change of `problems` in `tx`. */
export function indexFixUpdates(problems: readonly IndexProblem[]): RefUpdate[] {
  return problems.flatMap((p) =>
    p.change
      ? [{ ref: p.ref, oid: p.change.newOid, expect: p.change.oldOid, message: p.change.message }]
      : [],
  );
}

export { BRANCHES, LEASES, WORKTREES };
