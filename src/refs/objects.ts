import * as fs from 'node:fs';
import { join } from 'node:path';
import { deflateSync, inflateSync, constants as zlibConstants } from 'node:zlib';
import { CoordError } from '../errors.js';
import { faultPoint } from './fault.js';
import { MAX_BASE_BYTES, packedAmong, readPackedObject } from './pack.js';
import type { Repo } from './repo.js';

/** node:crypto, loaded on first use: reading objects never hashes, and loading it costs ~2 ms of start-up. */
const crypto = () => process.getBuiltinModule('node:crypto');

/** Largest record blob git-coord reads or writes: 1 MiB. */
export const MAX_RECORD_BYTES = 1024 * 1024;

/** A blob over {@link MAX_RECORD_BYTES} (exit 1). */
export class RecordTooLargeError extends CoordError {
  readonly size: number;
  constructor(what: string, size: number) {
    super(
      'record-too-large',
      `${what} is ${size} bytes; records are limited to ${MAX_RECORD_BYTES} bytes (1 MiB)`,
    );
    this.size = size;
  }
}

/** An object that is not in the object database (exit 1). */
export class ObjectMissingError extends CoordError {
  readonly oid: string;
  constructor(oid: string) {
    super('object-missing', `object ${oid} is missing from the object database`);
    this.oid = oid;
  }
}

/** One object read from the database. */
export interface GitObject {
  type: 'blob' | 'tree' | 'commit' | 'tag';
  content: Buffer;
}

/** The object id git gives `content` as a blob: sha1(`blob <size>\0<content>`). */
export function hashBlob(content: Buffer): string {
  return crypto().createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/**
 * Writes `content` as a loose blob into the common dir's object database, atomically: deflated into
 * a temp file `objects/tmp_obj_*`, then hard-linked to `objects/xx/<38 hex>` (git's
 * `finalize_object_file`; an existing object is left as is). Readable at once by git.
 *
 * @returns the blob's oid.
 * @throws RecordTooLargeError for content over 1 MiB.
 */
export function writeBlob(repo: Pick<Repo, 'commonDir'>, content: Buffer): string {
  if (content.length > MAX_RECORD_BYTES) throw new RecordTooLargeError('record', content.length);
  const oid = hashBlob(content);
  const objects = join(repo.commonDir, 'objects');
  const dir = join(objects, oid.slice(0, 2));
  const path = join(dir, oid.slice(2));
  if (freshen(path)) return oid;
  const data = deflateSync(Buffer.concat([Buffer.from(`blob ${content.length}\0`), content]));
  const tmp = join(objects, `tmp_obj_${crypto().randomBytes(6).toString('hex')}`);
  fs.writeFileSync(tmp, data, { mode: 0o444 });
  faultPoint('blob-temp');
  try {
    // The fan-out directory usually exists: link first, create it only when missing.
    for (let attempt = 1; ; attempt++) {
      try {
        fs.linkSync(tmp, path);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') break;
        if (code === 'ENOENT' && attempt === 1) {
          fs.mkdirSync(dir, { recursive: true });
          continue;
        }
        fs.renameSync(tmp, path); // no hard links here (some file systems): rename, as git falls back
        return oid;
      }
    }
  } finally {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // renamed into place, or already gone
    }
  }
  return oid;
}

/**
 * Marks an existing loose object as just written (mtime now), as git's `freshen_loose_object` does:
 * a `git gc --prune` running at the same time keeps objects younger than its grace period, so an old
 * unreachable copy of a record that we are about to reference again is not pruned under us.
 *
 * @returns false when there is no such object (or it cannot be touched: then it is written anew).
 */
function freshen(path: string): boolean {
  try {
    const now = new Date();
    fs.utimesSync(path, now, now);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads one object, always from the common dir: loose objects are inflated here; packed objects are
 * found through the pack index and read at their offset ({@link readPackedObject}, deltas resolved),
 * without loading whole pack files. A miss is retried once after re-listing (a concurrent `git gc`
 * may have just moved the object into a new pack), as git's `reprepare_packed_git`. (isomorphic-git
 * is not used here: it reads a whole pack file into memory to get one object — 0.9 s and 600 MiB
 * for a 28-byte record next to a 300 MB pack — and cannot read version 1 pack indexes.)
 *
 * @param maxBytes content size above which RecordTooLargeError is thrown (default 1 MiB).
 * @throws ObjectMissingError when the object is in neither place.
 * @throws RecordTooLargeError when the object is larger than `maxBytes`.
 */
export async function readObject(
  repo: Pick<Repo, 'commonDir'>,
  oid: string,
  maxBytes = MAX_RECORD_BYTES,
): Promise<GitObject> {
  const tooLarge = (size: number) => new RecordTooLargeError(`object ${oid}`, size);
  const looseBase = (base: string) => readLooseObject(repo.commonDir, base, MAX_BASE_BYTES);
  for (let attempt = 0; attempt < 2; attempt++) {
    const loose = readLooseObject(repo.commonDir, oid, maxBytes);
    if (loose) return loose;
    const packed = readPackedObject(repo.commonDir, oid, maxBytes, tooLarge, looseBase);
    if (packed) return packed;
  }
  throw new ObjectMissingError(oid);
}

/**
 * The oids of `oids` (40-hex) that are not in the object database, loose or packed, whatever their
 * size (a corrupt object counts as present: it is not this function's to judge). Looks only: the pack
 * indexes (one batch lookup, {@link packedAmong}), then the loose file's name of each oid not packed,
 * then the pack indexes listed again for what is still missing (a concurrent `git gc` may have just
 * moved it from loose into a new pack), in the order of git's `oid_object_info_extended` (packs,
 * loose, `reprepare_packed_git`, packs).
 *
 * @throws PackCorruptError for a pack index that does not parse.
 */
export function missingObjects(repo: Pick<Repo, 'commonDir'>, oids: Iterable<string>): Set<string> {
  const wanted = new Set(oids);
  const packed = packedAmong(repo.commonDir, wanted);
  const missing = new Set<string>();
  for (const oid of wanted) {
    if (!packed.has(oid) && !fs.existsSync(join(repo.commonDir, 'objects', oid.slice(0, 2), oid.slice(2))))
      missing.add(oid);
  }
  if (missing.size === 0) return missing;
  for (const oid of packedAmong(repo.commonDir, missing, true)) missing.delete(oid);
  return missing;
}

/**
 * The size a loose object's header states (`<type> <size>\0`), read by inflating only the start of
 * the file (Z_SYNC_FLUSH: a truncated stream gives what it has), so a 10 MiB object is reported with
 * its real size without inflating it. `null` when the header cannot be read.
 */
function looseHeaderSize(raw: Buffer): number | null {
  for (const n of [256, 2048, 16384]) {
    let head: Buffer;
    try {
      head = inflateSync(raw.subarray(0, n), {
        finishFlush: zlibConstants.Z_SYNC_FLUSH,
        maxOutputLength: 64 * 1024 * 1024,
      });
    } catch {
      return null;
    }
    const nul = head.indexOf(0);
    if (nul > 0) {
      const size = Number(head.toString('latin1', 0, nul).split(' ')[1]);
      return Number.isSafeInteger(size) ? size : null;
    }
    if (n >= raw.length) return null;
  }
  return null;
}

/**
 * Output chunk of each inflate: records are a few hundred bytes, and zlib's default 16 KiB chunk is a
 * fresh allocation outside node's buffer pool for every object (10,000 leases: 160 MB of garbage);
 * 2 KiB comes from the pool, larger objects take more chunks.
 */
const INFLATE_CHUNK = 2048;

/** Read buffer shared by the loose-object reads of this process (grown on demand). */
let readBuffer = Buffer.allocUnsafe(64 * 1024);

/**
 * The whole file at `path` into the shared buffer (valid until the next call), or `null` when it does
 * not exist or cannot be read: one open, reads until EOF, one close, without the fstat and fresh
 * buffer of readFileSync.
 */
function readWhole(path: string): Buffer | null {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    let length = 0;
    for (;;) {
      if (length === readBuffer.length) {
        const bigger = Buffer.allocUnsafe(readBuffer.length * 2);
        readBuffer.copy(bigger, 0, 0, length);
        readBuffer = bigger;
      }
      const n = fs.readSync(fd, readBuffer, length, readBuffer.length - length, null);
      if (n === 0) return readBuffer.subarray(0, length);
      length += n;
    }
  } catch {
    return null; // unreadable (a directory in its place, …): not there, as readFileSync's failure was
  } finally {
    fs.closeSync(fd);
  }
}

function readLooseObject(commonDir: string, oid: string, maxBytes: number): GitObject | null {
  const raw = readWhole(join(commonDir, 'objects', oid.slice(0, 2), oid.slice(2)));
  if (raw === null) return null;
  let data: Buffer;
  try {
    data = inflateSync(raw, { maxOutputLength: maxBytes + 64, chunkSize: INFLATE_CHUNK });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new RecordTooLargeError(`object ${oid}`, looseHeaderSize(raw) ?? maxBytes + 1);
    }
    throw new CoordError('object-corrupt', `loose object ${oid} is corrupt: ${(err as Error).message}`);
  }
  const nul = data.indexOf(0);
  const [type, size] = data.toString('latin1', 0, nul).split(' ');
  const content = data.subarray(nul + 1);
  if (Number(size) > maxBytes) throw new RecordTooLargeError(`object ${oid}`, Number(size));
  if (Number(size) !== content.length) {
    throw new CoordError(
      'object-corrupt',
      `loose object ${oid} is corrupt: size ${size} != ${content.length}`,
    );
  }
  return { type: type as GitObject['type'], content };
}
