import { type Dir, opendirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GIT_CONFIG_OPTIONS } from './git.js';
import type { Repo } from './repo.js';

/**
 * Listings from about this many refs on are read by one `git for-each-ref` (below); shorter ones
 * in-process, where starting git would cost more than it saves.
 */
const STREAM_FROM_REFS = 200;

/** True when `prefix` (a directory of refs) probably holds {@link STREAM_FROM_REFS} refs or more. */
export function manyRefs(repo: Repo, prefix: string): boolean {
  if (countEntries(join(repo.commonDir, prefix), STREAM_FROM_REFS) >= STREAM_FROM_REFS) return true;
  try {
    // a packed-refs line is ~80 bytes; the whole file is a rough upper bound of refs under prefix
    return statSync(join(repo.commonDir, 'packed-refs')).size >= STREAM_FROM_REFS * 80 && prefix !== '';
  } catch {
    return false;
  }
}

/**
 * The number of entries of directory `dir`, counted up to `limit` (0 when it cannot be read): a
 * directory of 10,000 refs is not listed whole (~7 ms) to learn that it holds more than 200.
 */
function countEntries(dir: string, limit: number): number {
  let handle: Dir;
  try {
    handle = opendirSync(dir);
  } catch {
    return 0;
  }
  try {
    let n = 0;
    while (n < limit && handle.readSync() !== null) n++;
    return n;
  } finally {
    handle.closeSync();
  }
}

/**
 * Tunes V8 for the rest of the process before a listing of many records, which keeps little alive (one
 * record is decoded, judged and printed at a time) but would otherwise peak far above that (issue 12,
 * 10,000 leases, peak RSS):
 * - `--semi-space-growth-factor=1`: the young generation does not grow (V8 grows its semi-spaces up
 *   to 16 MiB: ~77 MiB RSS with ~12 MiB of heap; ~65 MiB without the growth, same time);
 * - `--no-opt`: no TurboFan, whose compiler zone and code take 6–8 MiB (`list --json` ~67 → ~59 MiB,
 *   `list` ~70 → ~63, `report` ~79 → ~71; the time stays within the noise: the work is inflating,
 *   parsing and printing, which the baseline tiers run well enough).
 * Set here rather than at start-up because `node:v8` loads node's whole `stream` module (~3 ms of
 * every command); both flags are read as V8 goes on (at each GC, at each optimisation decision), so
 * setting them now still applies.
 */
export function tuneHeapForListing(): void {
  const v8 = process.getBuiltinModule('node:v8');
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--no-opt');
}

/** One ref with its object, as `git for-each-ref` printed them. */
export interface StreamedRef {
  ref: string;
  oid: string;
  objType: string;
  /** The target when `ref` is a symbolic ref, else ''. */
  symref: string;
  content: Buffer;
}

/**
 * The refs under `prefix` with their objects, read by one `git for-each-ref --format=<oid> <type>
 * <size> <ref> <symref>%0a%(raw)` process: git's own listing (loose and packed, sorted by refname) and
 * object reads, inflated in C. git reads every object before it prints the first ref (it sorts, and
 * ref-filter.c computes all of a ref's atoms when it first compares it), so this process waits, then
 * decodes. `batches` gives the refs of each chunk of git's output that has arrived (about 64 KiB:
 * ~100 leases) as one array, in refname order: one step of the async iteration per chunk, not per
 * ref. Each `content` is a view into that chunk. `complete` is false when git stopped early (an object
 * it cannot read): the caller reads the refs after the last one received itself.
 */
export function streamRefs(
  repo: Repo,
  prefix: string,
): { batches: AsyncGenerator<StreamedRef[]>; complete: Promise<boolean> } {
  const child = process
    .getBuiltinModule('node:child_process')
    .spawn(
      'git',
      [
        ...GIT_CONFIG_OPTIONS.flatMap(([k, v]) => ['-c', `${k}=${v}`]),
        'for-each-ref',
        '--format=%(objectname) %(objecttype) %(objectsize) %(refname) %(symref)%0a%(raw)',
        prefix,
      ],
      { env: { ...process.env, GIT_DIR: repo.commonDir }, stdio: ['ignore', 'pipe', 'ignore'] },
    );
  const complete = new Promise<boolean>((resolve) => {
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
  async function* batches(): AsyncGenerator<StreamedRef[]> {
    let buf: Buffer = Buffer.alloc(0);
    try {
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        const batch: StreamedRef[] = [];
        let at = 0;
        for (;;) {
          const nl = buf.indexOf(10, at);
          if (nl < 0) break;
          // One decode of the header line: oid, type and size are ASCII, refnames UTF-8 (as before,
          // bytes that are not UTF-8 become U+FFFD).
          const [oid, objType, size, ref, symref] = buf.toString('utf8', at, nl).split(' ', 5) as [
            string,
            string,
            string,
            string,
            string | undefined,
          ];
          const end = nl + 1 + Number(size);
          if (end + 1 > buf.length) break; // the object and its newline not all here yet
          batch.push({ ref, oid, objType, symref: symref ?? '', content: buf.subarray(nl + 1, end) });
          at = end + 1;
        }
        buf = buf.subarray(at);
        if (batch.length > 0) yield batch;
      }
    } finally {
      if (child.exitCode === null) child.kill(); // the caller stopped early
    }
  }
  return { batches: batches(), complete };
}
