import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { CoordError } from '../errors.js';
import type { GitObject } from './objects.js';

/**
 * Reads single objects out of git pack files the way git does (gitformat-pack(5)): a binary search in
 * the `.idx` (version 2) with positioned reads, then one bounded read of the object at its offset in
 * the `.pack`, following OFS_DELTA / REF_DELTA chains. Cost is O(log n) small reads, independent of
 * the pack's size: reading a 100-byte record from a repository with a 300 MB pack takes well under a
 * millisecond and no memory to speak of (isomorphic-git reads the whole pack file into memory first).
 */

const TYPES = ['', 'commit', 'tree', 'blob', 'tag'] as const;
const OBJ_OFS_DELTA = 6;
const OBJ_REF_DELTA = 7;
/** Largest delta base we inflate while resolving a record (records are <= 1 MiB; bases are too). */
export const MAX_BASE_BYTES = 64 * 1024 * 1024;

/** A pack file that does not parse (exit 1). */
export class PackCorruptError extends CoordError {
  constructor(pack: string, why: string) {
    super('object-corrupt', `pack ${pack} is corrupt: ${why}`);
  }
}

interface PackIndex {
  /** Path of the `.idx`. */
  idx: string;
  /** Path of the `.pack`. */
  pack: string;
  /** fanout[b] = number of objects whose first oid byte is <= b. */
  fanout: Uint32Array;
  count: number;
  /** Index format: 2 (git's default since 1.5.2) or 1 (`pack.indexVersion=1`). */
  version: 1 | 2;
}

/** Parsed `.idx` headers by path: pack names are their content's hash, so never change. */
const indexCache = new Map<string, PackIndex>();

function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let off = 0;
  while (off < length) {
    const n = readSync(fd, buf, off, length - off, position + off);
    if (n === 0) break;
    off += n;
  }
  return off === length ? buf : buf.subarray(0, off);
}

function loadIndex(idx: string): PackIndex {
  const cached = indexCache.get(idx);
  if (cached) return cached;
  const fd = openSync(idx, 'r');
  try {
    const head = readAt(fd, 8 + 1024, 0);
    // version 2 starts with "\377tOc" and the version; version 1 starts right with the fanout table
    const version = head.readUInt32BE(0) === 0xff744f63 ? 2 : 1;
    if (version === 2 && head.readUInt32BE(4) !== 2) {
      throw new PackCorruptError(idx, `unknown pack index version ${head.readUInt32BE(4)}`);
    }
    const base = version === 2 ? 8 : 0;
    const fanout = new Uint32Array(256);
    for (let i = 0; i < 256; i++) fanout[i] = head.readUInt32BE(base + i * 4);
    const pack = idx.replace(/\.idx$/, '.pack');
    const index: PackIndex = { idx, pack, fanout, count: fanout[255]!, version };
    indexCache.set(idx, index);
    return index;
  } finally {
    closeSync(fd);
  }
}

/** Bytes per `.idx` entry in the sorted table, by index version. */
const STRIDE = { 1: 24, 2: 20 } as const;

/**
 * The entries of `index` whose oid starts with byte `first` (one fan-out bucket), read from the open
 * `.idx` `fd`: `lo` is the position of the first, `entries` their names (v2: 20-byte names; v1:
 * 4-byte offset + 20-byte name each, see {@link STRIDE}).
 */
function readBucket(index: PackIndex, fd: number, first: number): { lo: number; entries: Buffer } | null {
  const lo = first === 0 ? 0 : index.fanout[first - 1]!;
  const hi = index.fanout[first]!;
  if (hi <= lo) return null;
  // v2: sorted names at 1032, then CRCs, then 4-byte offsets, then 8-byte large offsets.
  // v1: sorted entries of (4-byte offset, 20-byte name) at 1024.
  const stride = STRIDE[index.version];
  return { lo, entries: readAt(fd, (hi - lo) * stride, (index.version === 2 ? 1032 : 1024) + lo * stride) };
}

/** Position of `oid` within a bucket's `entries` ({@link readBucket}), or -1: a binary search. */
function searchBucket(version: 1 | 2, entries: Buffer, oid: Buffer): number {
  const stride = STRIDE[version];
  const skip = version === 2 ? 0 : 4;
  let a = 0;
  let b = entries.length / stride;
  while (a < b) {
    const mid = (a + b) >>> 1;
    const at = mid * stride + skip;
    const cmp = entries.compare(oid, 0, 20, at, at + 20);
    if (cmp === 0) return mid;
    if (cmp > 0) b = mid;
    else a = mid + 1;
  }
  return -1;
}

/** Position of `oid` in `index` and its offset in the pack, or `null`. */
function findInIndex(index: PackIndex, oid: Buffer): number | null {
  const fd = openSync(index.idx, 'r');
  try {
    const bucket = readBucket(index, fd, oid[0]!);
    const mid = bucket ? searchBucket(index.version, bucket.entries, oid) : -1;
    if (mid < 0) return null;
    if (index.version === 1) return bucket!.entries.readUInt32BE(mid * STRIDE[1]);
    const pos = bucket!.lo + mid;
    const n = index.count;
    const off = readAt(fd, 4, 1032 + n * 24 + pos * 4).readUInt32BE(0);
    if (!(off & 0x80000000)) return off;
    const large = readAt(fd, 8, 1032 + n * 28 + (off & 0x7fffffff) * 8);
    return Number(large.readBigUInt64BE(0));
  } finally {
    closeSync(fd);
  }
}

/** The `.idx` files of the repository's packs. */
function packIndexes(commonDir: string): string[] {
  const dir = join(commonDir, 'objects', 'pack');
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.idx'))
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** The pack indexes {@link packedAmong} last listed, per common dir (listed again with `relist`). */
const listedIndexes = new Map<string, string[]>();

/**
 * The oids of `oids` (40-hex) that a pack index of `commonDir` lists; the objects themselves are not
 * read or checked. Each index is opened once and each fan-out bucket that holds a wanted oid read
 * once (10,000 oids against a pack of 10,000 objects: ~256 reads, not 10,000 opens, reads and
 * closes). The indexes are listed once per process; `relist` lists them again (after a miss: a new
 * pack). An index removed meanwhile (a concurrent repack) is skipped.
 *
 * @throws PackCorruptError for an index that does not parse.
 */
export function packedAmong(commonDir: string, oids: Iterable<string>, relist = false): Set<string> {
  const found = new Set<string>();
  const byFirst = new Map<number, Buffer[]>();
  for (const oid of new Set(oids)) {
    const want = Buffer.from(oid, 'hex');
    const group = byFirst.get(want[0]!);
    if (group) group.push(want);
    else byFirst.set(want[0]!, [want]);
  }
  let listed = listedIndexes.get(commonDir);
  if (!listed || relist) {
    listed = packIndexes(commonDir);
    listedIndexes.set(commonDir, listed);
  }
  for (const idx of listed) {
    let index: PackIndex;
    let fd: number;
    try {
      index = loadIndex(idx);
      fd = openSync(idx, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed by a concurrent repack
      throw err;
    }
    try {
      for (const [first, wants] of byFirst) {
        const bucket = readBucket(index, fd, first);
        if (!bucket) continue;
        for (const want of wants)
          if (searchBucket(index.version, bucket.entries, want) >= 0) found.add(want.toString('hex'));
      }
    } finally {
      closeSync(fd);
    }
  }
  return found;
}

/**
 * Reads object `oid` from the packs of `commonDir`.
 *
 * @param maxBytes content size above which `onTooLarge(size)` is thrown.
 * @param looseBase reads a REF_DELTA base that is not packed (loose), or returns `null`.
 * @returns the object, or `null` when no pack holds it.
 * @throws PackCorruptError for a pack or index that does not parse.
 */
export function readPackedObject(
  commonDir: string,
  oid: string,
  maxBytes: number,
  onTooLarge: (size: number) => Error,
  looseBase: (oid: string) => GitObject | null,
): GitObject | null {
  const want = Buffer.from(oid, 'hex');
  for (const idx of packIndexes(commonDir)) {
    let index: PackIndex;
    try {
      index = loadIndex(idx);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed by a concurrent repack
      throw err;
    }
    const offset = findInIndex(index, want);
    if (offset === null) continue;
    let fd: number;
    try {
      fd = openSync(index.pack, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    try {
      const reader = new PackReader(commonDir, index.pack, fd, looseBase);
      return reader.read(offset, maxBytes, onTooLarge);
    } finally {
      closeSync(fd);
    }
  }
  return null;
}

class PackReader {
  private readonly size: number;
  constructor(
    private readonly commonDir: string,
    private readonly pack: string,
    private readonly fd: number,
    private readonly looseBase: (oid: string) => GitObject | null,
  ) {
    this.size = fstatSync(fd).size;
  }

  read(offset: number, maxBytes: number, onTooLarge: (size: number) => Error, depth = 0): GitObject {
    if (depth > 10_000) throw new PackCorruptError(this.pack, 'delta chain too deep');
    const head = readAt(this.fd, 64, offset);
    let i = 0;
    let c = head[i++]!;
    const type = (c >> 4) & 7;
    let size = c & 15;
    let shift = 4;
    while (c & 0x80) {
      c = head[i++]!;
      size += (c & 0x7f) * 2 ** shift;
      shift += 7;
    }
    if (type >= 1 && type <= 4) {
      if (size > maxBytes) throw onTooLarge(size);
      return { type: TYPES[type] as GitObject['type'], content: this.inflate(offset + i, size) };
    }
    let base: GitObject;
    if (type === OBJ_OFS_DELTA) {
      c = head[i++]!;
      let rel = c & 0x7f;
      while (c & 0x80) {
        c = head[i++]!;
        rel = (rel + 1) * 128 + (c & 0x7f);
      }
      base = this.read(offset - rel, MAX_BASE_BYTES, (s) => this.baseTooLarge(s), depth + 1);
    } else if (type === OBJ_REF_DELTA) {
      const baseOid = head.toString('hex', i, i + 20);
      i += 20;
      const found =
        readPackedObject(
          this.commonDir,
          baseOid,
          MAX_BASE_BYTES,
          (s) => this.baseTooLarge(s),
          this.looseBase,
        ) ?? this.looseBase(baseOid);
      if (!found) throw new PackCorruptError(this.pack, `delta base ${baseOid} is missing`);
      base = found;
    } else {
      throw new PackCorruptError(this.pack, `unknown object type ${type} at offset ${offset}`);
    }
    return {
      type: base.type,
      content: applyDelta(this.pack, base.content, this.inflate(offset + i, size), maxBytes, onTooLarge),
    };
  }

  private baseTooLarge(size: number): Error {
    return new PackCorruptError(this.pack, `delta base of ${size} bytes exceeds ${MAX_BASE_BYTES}`);
  }

  /** Inflates the zlib stream at `at` whose inflated size is `size`. */
  private inflate(at: number, size: number): Buffer {
    // zlib's compressBound: deflate never grows data by more than this; trailing bytes are ignored.
    const window = Math.min(size + (size >> 10) + 64, this.size - at);
    let data: Buffer;
    try {
      data = inflateSync(readAt(this.fd, window, at), { maxOutputLength: Math.max(size, 1) });
    } catch (err) {
      throw new PackCorruptError(
        this.pack,
        `object data at ${at} does not inflate: ${(err as Error).message}`,
      );
    }
    if (data.length !== size)
      throw new PackCorruptError(this.pack, `object at ${at} inflates to ${data.length}, not ${size}`);
    return data;
  }
}

/** Applies a git delta (gitformat-pack(5) "Deltified representation") to `base`. */
function applyDelta(
  pack: string,
  base: Buffer,
  delta: Buffer,
  maxBytes: number,
  onTooLarge: (size: number) => Error,
): Buffer {
  let i = 0;
  const varint = () => {
    let n = 0;
    let shift = 0;
    let c: number;
    do {
      c = delta[i++]!;
      n += (c & 0x7f) * 2 ** shift;
      shift += 7;
    } while (c & 0x80);
    return n;
  };
  const baseSize = varint();
  const size = varint();
  if (baseSize !== base.length) throw new PackCorruptError(pack, 'delta base size mismatch');
  if (size > maxBytes) throw onTooLarge(size);
  const out = Buffer.alloc(size);
  let o = 0;
  while (i < delta.length) {
    const op = delta[i++]!;
    if (op & 0x80) {
      let off = 0;
      let len = 0;
      for (let b = 0; b < 4; b++) if (op & (1 << b)) off += delta[i++]! * 2 ** (8 * b);
      for (let b = 0; b < 3; b++) if (op & (0x10 << b)) len += delta[i++]! * 2 ** (8 * b);
      if (len === 0) len = 0x10000;
      if (off + len > base.length || o + len > size)
        throw new PackCorruptError(pack, 'delta copy out of range');
      base.copy(out, o, off, off + len);
      o += len;
    } else if (op > 0) {
      if (o + op > size || i + op > delta.length)
        throw new PackCorruptError(pack, 'delta insert out of range');
      delta.copy(out, o, i, i + op);
      i += op;
      o += op;
    } else {
      throw new PackCorruptError(pack, 'delta opcode 0');
    }
  }
  if (o !== size) throw new PackCorruptError(pack, 'delta result size mismatch');
  return out;
}
