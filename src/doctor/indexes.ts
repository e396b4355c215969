import {
  BRANCH_PREFIX as BRANCHES,
  branchIndexFor as expectedBranchIndex,
  worktreeRecordFor as expectedWorktreeRecord,
  LEASE_PREFIX as LEASES,
  WORKTREE_PREFIX as WORKTREES,
} from '../leases/model.js';
import { encodeRecord } from '../records/codec.js';
import { BranchIndexType, type Lease, type RecordType, WorktreeType } from '../records/schemas.js';
import { loadRecord, writeRecord } from '../records/store.js';
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

/** An index entry a holding lease implies: its name (branch or worktree id), the record, the lease's key. */
interface Wanted<T> {
  name: string;
  record: T;
  key: string;
}

/** One index (branches or worktrees): the entries the leases imply, gathered one lease at a time. */
class IndexSection<T> {
  /** Per index ref, the entry implied by the first lease that claims it. */
  private readonly wanted = new Map<string, Wanted<T>>();

  /**
   * @param derive the entry a lease implies, or `null`;
   * @param name the entry's name below `prefix`;
   * @param what what an entry names, for messages: `branch`, `worktree`.
   */
  constructor(
    private readonly prefix: string,
    private readonly type: RecordType<T>,
    private readonly derive: (l: Lease) => T | null,
    private readonly name: (r: T) => string,
    private readonly what: string,
  ) {}

  /** Claims the entry `lease` implies; a second claim of the same entry is pushed to `duplicates`. */
  claim(lease: Lease, duplicates: IndexProblem[]): void {
    const record = this.derive(lease);
    if (!record) return;
    const name = this.name(record);
    const ref = `${this.prefix}${name}`;
    const other = this.wanted.get(ref);
    if (other) {
      duplicates.push({
        kind: 'duplicate-claim',
        ref,
        message: `${this.what} ${name} is claimed by both lease ${other.key} and lease ${lease.key}; clear or release one (git coord release / clear)`,
      });
      return;
    }
    this.wanted.set(ref, { name, record, key: lease.key });
  }

  /** The orphan, mismatching and missing entries of this index (unsorted); see {@link planIndexes}. */
  async problems(repo: Repo, opts: PlanOptions, corruptKeys: ReadonlySet<string>): Promise<IndexProblem[]> {
    const { type, what, wanted } = this;
    const current = new Map(listRefs(repo, this.prefix).map((r) => [r.ref, r.oid]));
    const problems: IndexProblem[] = [];
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
    return problems;
  }
}

/**
 * What the leases imply for the branch and worktree indexes, gathered one lease at a time
 * ({@link IndexClaims.add}, {@link IndexClaims.addCorrupt}) so the leases need not be held: per index
 * ref the entry (a few fields) the first holding lease implies, the duplicate claims, and the keys of
 * the corrupt leases.
 */
export class IndexClaims {
  private readonly sections = [
    new IndexSection(BRANCHES, BranchIndexType, expectedBranchIndex, (r) => r.branch, 'branch'),
    new IndexSection(WORKTREES, WorktreeType, expectedWorktreeRecord, (r) => r.id, 'worktree'),
  ] as const;
  /** `duplicate-claim` problems: an entry implied by a lease after another one implied it. */
  private readonly duplicates: IndexProblem[] = [];
  /** Keys of leases that failed to decode: index entries naming them are left alone. */
  private readonly corruptKeys = new Set<string>();

  /** Claims the index entries `lease` (decoded) implies. */
  add(lease: Lease): void {
    for (const section of this.sections) section.claim(lease, this.duplicates);
  }

  /** Notes the lease at `ref` (under `refs/coord/leases/`) as corrupt. */
  addCorrupt(ref: string): void {
    this.corruptKeys.add(ref.slice(LEASES.length));
  }

  /** The problems of both indexes against the claims, unsorted; see {@link planIndexes}. */
  async problems(repo: Repo, opts: PlanOptions): Promise<IndexProblem[]> {
    const problems = [...this.duplicates];
    for (const section of this.sections)
      problems.push(...(await section.problems(repo, opts, this.corruptKeys)));
    return problems;
  }
}

/** Options of {@link planIndexes}. */
export interface PlanOptions {
  /** Index refs that failed to decode, left to the corrupt-record check. */
  skipRefs: ReadonlySet<string>;
  /** Write the blobs of the rebuilt entries (the `--fix` pass). */
  writeBlobs: boolean;
}

/**
 * Compares the branch and worktree indexes with what the leases imply (`claims`, gathered from every
 * lease). Index entries are derived data, so the leases win: an entry no holding lease implies is an
 * orphan (deleted by the fix), one whose content differs from the lease's is a mismatch (rewritten),
 * one a holding lease implies but that is absent is missing (created). Entries that fail to decode
 * are left to the corrupt-record check (`skipRefs`), and entries whose lease is itself corrupt are
 * left alone.
 *
 * Blobs for the fixes are written only when `writeBlobs` is set (the `--fix` pass).
 *
 * @returns the problems sorted by ref (several for one ref in the order found: duplicate claims first).
 */
export async function planIndexes(
  repo: Repo,
  claims: IndexClaims,
  opts: PlanOptions,
): Promise<IndexProblem[]> {
  const problems = await claims.problems(repo, opts);
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
