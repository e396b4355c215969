import type { Repo } from '../refs/repo.js';
import { AuditType, BranchIndexType, LeaseType, type RecordType, WorktreeType } from './schemas.js';
import { CorruptRecordError, loadRecord } from './store.js';

/** The record type stored under each `refs/coord/` namespace, and the field that must equal the ref's name. */
const NAMESPACES: ReadonlyArray<{ prefix: string; type: RecordType<unknown>; names: string | null }> = [
  { prefix: 'refs/coord/leases/', type: LeaseType as RecordType<unknown>, names: 'key' },
  { prefix: 'refs/coord/branches/', type: BranchIndexType as RecordType<unknown>, names: 'branch' },
  { prefix: 'refs/coord/worktrees/', type: WorktreeType as RecordType<unknown>, names: 'id' },
  { prefix: 'refs/coord/audit/', type: AuditType as RecordType<unknown>, names: null },
];

/** The record type of `ref` (a ref under one of the record namespaces of DESIGN §1), or `null`. */
export function recordTypeFor(ref: string): RecordType<unknown> | null {
  return NAMESPACES.find((n) => ref.startsWith(n.prefix))?.type ?? null;
}

/**
 * Validates the object `oid` as the record stored at `ref`: the record type of its namespace (schema,
 * shape, size, UTF-8, a blob) and its identity (a lease's `key`, a branch entry's `branch`, a worktree
 * record's `id` equal the ref's name). The one rule every reader applies to a record (CLI, doctor,
 * records fetched from a remote).
 *
 * @returns the decoded record.
 * @throws CorruptRecordError naming ref, oid and reason.
 */
export async function loadRecordAt(repo: Repo, ref: string, oid: string): Promise<unknown> {
  const ns = NAMESPACES.find((n) => ref.startsWith(n.prefix));
  if (!ns) throw new CorruptRecordError(ref, oid, 'not in a record namespace of refs/coord/');
  const record = await loadRecord(repo, ref, oid, ns.type);
  if (ns.names) {
    const want = ref.slice(ns.prefix.length);
    const got = (record as Record<string, unknown>)[ns.names];
    if (got !== want) {
      throw new CorruptRecordError(
        ref,
        oid,
        `${ns.type.name} ${ns.names} ${JSON.stringify(got)} does not match its ref name`,
      );
    }
  }
  return record;
}
