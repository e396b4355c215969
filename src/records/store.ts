import { CoordError } from '../errors.js';
import {
  MAX_RECORD_BYTES,
  ObjectMissingError,
  RecordTooLargeError,
  readObject,
  writeBlob,
} from '../refs/objects.js';
import { listRefs, readLoose, readRef } from '../refs/read.js';
import type { Repo } from '../refs/repo.js';
import { manyRefs, streamRefs, tuneHeapForListing } from '../refs/stream.js';
import { compiledRecordType, decodeRecord, encodeRecord, RecordDecodeError } from './codec.js';
import type { RecordType } from './schemas.js';

/** A record as stored: the ref, the blob it points at, and the decoded value. */
export interface StoredRecord<T> {
  ref: string;
  oid: string;
  record: T;
}

/**
 * A ref under `refs/coord/` whose content is not a valid record (exit 1): not JSON, wrong shape,
 * unknown schema version, not a blob, missing object, too large. Names ref, oid and reason, and the
 * repair: a record that exists can be inspected and is quarantined by `doctor --fix` (object kept); a
 * missing object cannot be inspected or kept, so `doctor --fix` removes the ref and records its oid in
 * an audit event. Reading other records is unaffected.
 */
export class CorruptRecordError extends CoordError {
  readonly ref: string;
  readonly oid: string;
  readonly reason: string;
  /** True when the object the ref points at is not in the object database. */
  readonly objectMissing: boolean;
  constructor(ref: string, oid: string, reason: string, opts: { objectMissing?: boolean } = {}) {
    const missing = opts.objectMissing ?? false;
    super(
      'corrupt-record',
      missing
        ? `corrupt record ${ref}: it points at ${oid}, which is missing from the object database (nothing ` +
            'to inspect or keep). `git coord doctor --fix` removes the ref and records the oid in an audit event.'
        : `corrupt record ${ref} (${oid.slice(0, 12)}): ${reason}. Inspect it with \`git cat-file -p ${oid}\`; ` +
            '`git coord doctor --fix` moves it to refs/coord/quarantine/ and keeps the object.',
    );
    this.ref = ref;
    this.oid = oid;
    this.reason = reason;
    this.objectMissing = missing;
  }
}

/** A listed ref that failed to decode. */
export interface CorruptEntry {
  ref: string;
  oid: string;
  error: CorruptRecordError;
}

/**
 * Decodes the blob `oid` found at `ref` as a record of `type`.
 *
 * @throws CorruptRecordError for every way the content can be wrong.
 */
export async function loadRecord<T>(repo: Repo, ref: string, oid: string, type: RecordType<T>): Promise<T> {
  let obj: Awaited<ReturnType<typeof readObject>>;
  try {
    obj = await readObject(repo, oid);
  } catch (err) {
    if (err instanceof ObjectMissingError)
      throw new CorruptRecordError(ref, oid, 'object missing', { objectMissing: true });
    if (err instanceof RecordTooLargeError) throw new CorruptRecordError(ref, oid, err.message);
    if (err instanceof CoordError) throw new CorruptRecordError(ref, oid, err.message);
    throw err;
  }
  return decodeBlob(ref, oid, obj.type, obj.content, type);
}

/** The record of `ref` in an object's bytes. @throws CorruptRecordError naming why it is not one. */
function decodeBlob<T>(ref: string, oid: string, objType: string, content: Buffer, type: RecordType<T>): T {
  if (objType !== 'blob') throw new CorruptRecordError(ref, oid, `points at a ${objType}, not a blob`);
  let record: T;
  try {
    record = decodeRecord(type, content);
  } catch (err) {
    if (err instanceof RecordDecodeError) throw new CorruptRecordError(ref, oid, err.message);
    throw err;
  }
  const problem = identityProblem(ref, record);
  if (problem) throw new CorruptRecordError(ref, oid, problem);
  return record;
}

/** The field of each record namespace that must equal the ref's name below the prefix (DESIGN §1). */
const NAMED_BY: ReadonlyArray<readonly [prefix: string, field: string, what: string]> = [
  ['refs/coord/leases/', 'key', 'lease key'],
  ['refs/coord/branches/', 'branch', 'branch entry branch'],
  ['refs/coord/worktrees/', 'id', 'worktree record id'],
];

/**
 * Why `record`, read at `ref`, is not the record of that ref (a lease whose `key` differs from the
 * ref's name, an index entry naming another branch or worktree), or `null`. Part of the one rule every
 * reader applies (issue 9 item 3): the CLI, doctor, the hooks and records fetched from a remote.
 */
export function identityProblem(ref: string, record: unknown): string | null {
  const named = NAMED_BY.find(([prefix]) => ref.startsWith(prefix));
  if (!named) return null;
  const [prefix, field, what] = named;
  const got = (record as Record<string, unknown>)[field];
  return got === ref.slice(prefix.length)
    ? null
    : `${what} ${JSON.stringify(String(got).slice(0, 100))} does not match its ref name`;
}

/**
 * A symbolic ref where a record belongs (`refs/coord/…`, exit 1): records are never symbolic refs, and
 * following one would make `show`/`release <name>` act on another record. It is not followed.
 */
export class SymbolicRecordRefError extends CorruptRecordError {
  readonly target: string;
  constructor(ref: string, target: string) {
    super(ref, '0'.repeat(40), `a symbolic ref to ${target.slice(0, 200)}`);
    this.message =
      `${ref} is a symbolic ref (to ${target.slice(0, 200)}); records under refs/coord/ are never symbolic ` +
      `refs, so it is not followed. Remove it with \`git symbolic-ref --delete ${ref}\`.`;
    this.target = target;
  }
}

/**
 * Reads the record at `ref`.
 *
 * @returns the record, or `null` when the ref does not exist.
 * @throws CorruptRecordError when it exists but is not a valid record of `type` or not the record of
 *   `ref` ({@link identityProblem}); SymbolicRecordRefError for a symbolic ref (never followed).
 */
export async function readRecord<T>(
  repo: Repo,
  ref: string,
  type: RecordType<T>,
): Promise<StoredRecord<T> | null> {
  const loose = readLoose(repo.commonDir, ref);
  if (loose && 'symref' in loose) throw new SymbolicRecordRefError(ref, loose.symref);
  // A loose ref is read once; only a ref without a loose file is looked up in packed-refs.
  const oid = loose ? loose.oid : readRef(repo, ref);
  if (oid === null) return null;
  return { ref, oid, record: await loadRecord(repo, ref, oid, type) };
}

/**
 * Lists and decodes every record under `prefix`, sorted by refname. A corrupt record is returned as a
 * {@link CorruptEntry} in place, so one bad record never hides the others.
 */
export async function listRecords<T>(
  repo: Repo,
  prefix: string,
  type: RecordType<T>,
): Promise<Array<StoredRecord<T> | CorruptEntry>> {
  const out: Array<StoredRecord<T> | CorruptEntry> = [];
  for await (const e of iterateRecords(repo, prefix, type)) out.push(e);
  return out;
}

/**
 * {@link listRecords} one record at a time, in refname order, decoded when the caller asks for it, so
 * a caller that streams its output holds one record at a time (10,000 leases: `list --json` in a few
 * MiB of records). Listings of many refs are read by one `git for-each-ref` process (src/refs/stream.ts:
 * git lists and inflates) and parsed with the schema compiled by zod ({@link compiledRecordType}, same
 * verdicts); a ref git could not read, and everything after it when git stopped, is read in-process
 * exactly as a short listing is.
 */
export async function* iterateRecords<T>(
  repo: Repo,
  prefix: string,
  type: RecordType<T>,
): AsyncGenerator<StoredRecord<T> | CorruptEntry> {
  let after: string | null = null;
  if (manyRefs(repo, prefix)) {
    tuneHeapForListing();
    const streamed = streamRefs(repo, prefix);
    type = compiledRecordType(type); // while git reads
    for await (const batch of streamed.batches) {
      for (const e of batch) {
        after = e.ref;
        if (e.symref) continue; // never a record, and not listed in-process either
        yield e.objType === 'blob' && e.content.length <= MAX_RECORD_BYTES
          ? entryOf(e.ref, e.oid, () => decodeBlob(e.ref, e.oid, e.objType, e.content, type))
          : await loadEntry(repo, e.ref, e.oid, type);
      }
    }
    if (await streamed.complete) return;
  }
  for (const { ref, oid } of listRefs(repo, prefix)) {
    if (after === null || ref > after) yield await loadEntry(repo, ref, oid, type);
  }
}

async function loadEntry<T>(
  repo: Repo,
  ref: string,
  oid: string,
  type: RecordType<T>,
): Promise<StoredRecord<T> | CorruptEntry> {
  return entryOf(
    ref,
    oid,
    await loadRecord(repo, ref, oid, type).then(
      (record) => () => record,
      (err) => () => {
        throw err;
      },
    ),
  );
}

/** `{ref, oid, record}` from `decode()`, or the corrupt entry when it throws CorruptRecordError. */
function entryOf<T>(ref: string, oid: string, decode: () => T): StoredRecord<T> | CorruptEntry {
  try {
    return { ref, oid, record: decode() };
  } catch (err) {
    if (!(err instanceof CorruptRecordError)) throw err;
    return { ref, oid, error: err };
  }
}

/** True for entries of {@link listRecords} that failed to decode. */
export function isCorrupt<T>(e: StoredRecord<T> | CorruptEntry): e is CorruptEntry {
  return 'error' in e;
}

/** Encodes `value` canonically and writes it as a blob. Returns the blob's oid. */
export function writeRecord<T>(repo: Repo, type: RecordType<T>, value: T): string {
  return writeBlob(repo, encodeRecord(type, value));
}
