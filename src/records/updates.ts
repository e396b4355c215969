import { keyProblem, refnameProblem } from '../refs/names.js';
import { decodeRecord, RecordDecodeError } from './codec.js';
import {
  AuditType,
  type BranchIndex,
  BranchIndexType,
  type Lease,
  LeaseType,
  type RecordType,
  type WorktreeRecord,
  WorktreeType,
} from './schemas.js';

/**
 * Which changes of a record under `refs/coord/` another party may make: the rules a shared remote's
 * pre-receive hook enforces on every pushed record (DESIGN §8), written once here so every reader of
 * records from elsewhere (the server hook, a fetch into the local mirror) judges them the same way.
 * Content rules are the codec's (schema, canonical fields, no control or bidi characters: codec.ts,
 * schemas.ts); this module adds the name and history rules:
 *
 * | namespace | create | update | delete |
 * |---|---|---|---|
 * | `leases/<key>` | valid lease, `key` = ref name | revision up, token never down, see {@link leaseChangeProblem} | never (tombstones stay) |
 * | `branches/<branch>` | valid index, `branch` = ref name | valid index, `branch` = ref name | yes |
 * | `worktrees/<wtid>` | valid record, `id` = ref name | valid record, `id` = ref name | yes |
 * | `audit/<yyyy-mm-dd>/<name>` | valid event | never | never |
 * | `quarantine/…`, anything else | never | never | never |
 *
 * A lease ref is never deleted: release, done, crash and clear keep a closed record whose token
 * never goes back (a deleted ref comes back from any clone that still has it, git-bug #522), so a
 * deletion can only be a rollback or an attack; refusing all of them is the safe rule. An old record
 * that is itself invalid (written before the rules were enforced) puts no history constraint on its
 * replacement, which must still be valid.
 */

/** What a ref under `refs/coord/` is. */
export type CoordRefKind = 'lease' | 'branch' | 'worktree' | 'audit' | 'quarantine' | 'unknown';

/** A ref's kind and the name after its namespace (`refs/coord/leases/65` → lease `65`). */
export function coordRefKind(ref: string): { kind: CoordRefKind; name: string } {
  const m = /^refs\/coord\/([^/]+)\/(.+)$/.exec(ref);
  if (!m) return { kind: 'unknown', name: ref };
  const [, ns, name] = m as unknown as [string, string, string];
  const kinds: Record<string, CoordRefKind> = {
    leases: 'lease',
    branches: 'branch',
    worktrees: 'worktree',
    audit: 'audit',
    quarantine: 'quarantine',
  };
  return { kind: kinds[ns] ?? 'unknown', name };
}

/** One side of a ref update: the object it points at (`content` null when not readable). */
export interface RecordSide {
  oid: string;
  /** Object type (`blob` for a record), or `null` when the object is missing. */
  type: string | null;
  /** Object bytes, or `null` when missing or over the record size limit. */
  content: Buffer | null;
}

/** A proposed change of one ref under `refs/coord/`: `old` null = create, `next` null = delete. */
export interface RecordUpdate {
  ref: string;
  old: RecordSide | null;
  next: RecordSide | null;
}

/** The decoded new record of an accepted update (`null` for a deletion). */
export type AcceptedRecord =
  | { kind: 'lease'; record: Lease; old: Lease | null }
  | { kind: 'branch'; record: BranchIndex }
  | { kind: 'worktree'; record: WorktreeRecord }
  | { kind: 'audit' }
  | null;

/** Result of {@link judgeRecordUpdate}: a reason to refuse, or the accepted record. */
export type Judgement = { ok: false; reason: string } | { ok: true; accepted: AcceptedRecord };

const refuse = (reason: string): Judgement => ({ ok: false, reason });

function decodeSide<T>(type: RecordType<T>, side: RecordSide): T {
  if (side.type === null) throw new RecordDecodeError(`object ${side.oid} is missing`);
  if (side.type !== 'blob') throw new RecordDecodeError(`points at a ${side.type}, not a blob`);
  if (side.content === null) throw new RecordDecodeError('larger than the 1 MiB record limit');
  return decodeRecord(type, side.content);
}

function tryDecode<T>(type: RecordType<T>, side: RecordSide | null): T | null {
  if (!side) return null;
  try {
    return decodeSide(type, side);
  } catch {
    return null;
  }
}

/**
 * Judges one proposed update of a ref under `refs/coord/` by the table above.
 *
 * @returns `{ok: false, reason}` naming what is wrong (the caller names the ref), else the decoded
 *   record. Never throws for bad content.
 */
export function judgeRecordUpdate(u: RecordUpdate): Judgement {
  const { kind, name } = coordRefKind(u.ref);
  const nameProblem = refnameProblem(u.ref);
  if (nameProblem) return refuse(`not a valid refname: ${nameProblem}`);
  if (kind === 'quarantine')
    return refuse('refs/coord/quarantine/ is local to each clone; it is never pushed');
  if (kind === 'unknown') return refuse('not a git-coord namespace (leases, branches, worktrees, audit)');
  if (kind === 'audit') {
    if (!/^\d{4}-\d{2}-\d{2}\/[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
      return refuse('an audit event ref is refs/coord/audit/<yyyy-mm-dd>/<name>');
    if (u.old) return refuse(u.next ? 'audit events are never rewritten' : 'audit events are never deleted');
  }
  if (!u.next) {
    if (kind !== 'lease') return { ok: true, accepted: null };
    const old = tryDecode(LeaseType, u.old);
    return refuse(
      old?.state === 'open'
        ? `deletes the open lease ${old.key} held by ${old.holder.id} (token ${old.token})`
        : 'lease refs are never deleted: a closed lease stays as a tombstone that keeps its token',
    );
  }
  try {
    switch (kind) {
      case 'lease': {
        const problem = keyProblem(name);
        if (problem) return refuse(`invalid lease key: ${problem}`);
        const record = decodeSide(LeaseType, u.next);
        if (record.key !== name)
          return refuse(`the record's key ${JSON.stringify(record.key)} is not the ref's`);
        const old = tryDecode(LeaseType, u.old);
        const change = old ? leaseChangeProblem(old, record) : null;
        return change ? refuse(change) : { ok: true, accepted: { kind, record, old } };
      }
      case 'branch': {
        const record = decodeSide(BranchIndexType, u.next);
        if (record.branch !== name)
          return refuse(`the record's branch ${JSON.stringify(record.branch)} is not the ref's`);
        return { ok: true, accepted: { kind, record } };
      }
      case 'worktree': {
        const record = decodeSide(WorktreeType, u.next);
        if (record.id !== name)
          return refuse(`the record's id ${JSON.stringify(record.id)} is not the ref's`);
        return { ok: true, accepted: { kind, record } };
      }
      case 'audit':
        decodeSide(AuditType, u.next);
        return { ok: true, accepted: { kind } };
    }
  } catch (err) {
    if (err instanceof RecordDecodeError) return refuse(err.message);
    throw err;
  }
}

/**
 * Why replacing lease record `old` by `next` (same key) breaks the lease's history, or `null`:
 * - `revision` must go up (every write changes it; an equal or lower one is a replay or a rollback);
 * - `token` never goes down, and `transitions` never go down;
 * - a lease that is not open (closed tombstone, crashed) opens again only with a new token (claim and
 *   takeover add 1), so an old record cannot resurrect a tombstone;
 * - a closed lease does not become crashed;
 * - the holder changes only with a new token (fencing: a token names one tenure of one holder).
 */
export function leaseChangeProblem(old: Lease, next: Lease): string | null {
  if (next.revision <= old.revision)
    return `revision ${next.revision} does not follow revision ${old.revision} (an older or replayed record)`;
  if (next.token < old.token) return `token goes back from ${old.token} to ${next.token}`;
  if (next.transitions < old.transitions)
    return `transitions go back from ${old.transitions} to ${next.transitions}`;
  if (old.state !== 'open' && next.state === 'open' && next.token <= old.token)
    return `reopens a ${old.state} lease without a new token (token ${next.token}; a new tenure needs ${old.token + 1} or more)`;
  if (old.state === 'closed' && next.state === 'crashed') return 'a closed lease cannot become crashed';
  if (next.token === old.token && next.holder.id !== old.holder.id)
    return `changes the holder from ${old.holder.id} to ${next.holder.id} without a new token`;
  return null;
}
