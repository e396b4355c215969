import { spawnSync } from 'node:child_process';
import { GitCommandError } from '../errors.js';

/** An object as `git cat-file --batch` gives it. */
export interface BatchObject {
  /** `blob`, `tree`, `commit` or `tag`. */
  type: string;
  /** Size in bytes, as git reports it. */
  size: number;
  /** The content, or `null` when the object is larger than the limit it was read with. */
  content: Buffer | null;
}

const ZERO = /^0{40}$/;

/**
 * Reads objects through the real `git cat-file` (`--batch-check`, then `--batch` for those within
 * `maxBytes`), so it sees every object git sees from `cwd`: alternates, and during a pre-receive hook
 * the objects of the push still in the quarantine directory (`GIT_QUARANTINE_PATH`, made visible to
 * the hook's git commands by `GIT_OBJECT_DIRECTORY` + `GIT_ALTERNATE_OBJECT_DIRECTORIES`, see
 * githooks(5) "pre-receive"), which the in-process reader (src/refs/objects.ts) does not know.
 *
 * @param oids 40-hex object ids (duplicates and the all-zero id are ignored).
 * @param maxBytes content larger than this is not read (`content: null`); default 1 MiB.
 * @returns oid → object, or `null` for a missing object.
 * @throws GitCommandError when git cannot run or exits non-zero.
 */
export function catFileBatch(
  cwd: string,
  oids: readonly string[],
  maxBytes = 1024 * 1024,
): Map<string, BatchObject | null> {
  const wanted = [...new Set(oids.filter((o) => !ZERO.test(o)))];
  const out = new Map<string, BatchObject | null>();
  if (wanted.length === 0) return out;
  const check = run(cwd, ['cat-file', '--batch-check'], `${wanted.join('\n')}\n`).toString('utf8');
  const small: string[] = [];
  for (const [i, line] of check.split('\n').slice(0, wanted.length).entries()) {
    const oid = wanted[i]!;
    const m = /^([0-9a-f]{40}) (\S+) (\d+)$/.exec(line);
    if (!m) {
      out.set(oid, null);
      continue;
    }
    const size = Number(m[3]);
    out.set(oid, { type: m[2]!, size, content: null });
    if (size <= maxBytes) small.push(oid);
  }
  if (small.length === 0) return out;
  const batch = run(cwd, ['cat-file', '--batch'], `${small.join('\n')}\n`);
  let at = 0;
  for (const oid of small) {
    const nl = batch.indexOf(10, at);
    const header = batch.subarray(at, nl).toString('utf8');
    const size = Number(header.split(' ')[2]);
    const entry = out.get(oid)!;
    entry.content = batch.subarray(nl + 1, nl + 1 + size);
    at = nl + 1 + size + 1;
  }
  return out;
}

function run(cwd: string, args: string[], input: string): Buffer {
  const res = spawnSync('git', args, { cwd, input, maxBuffer: 1024 * 1024 * 1024 });
  if (res.error) throw new GitCommandError(args, null, res.error.message);
  if (res.status !== 0) throw new GitCommandError(args, res.status, res.stderr.toString('utf8'));
  return res.stdout;
}
