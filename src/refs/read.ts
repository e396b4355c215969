import { type Dirent, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { quote } from '../display.js';
import { CoordError } from '../errors.js';
import { refnameProblem } from './names.js';
import { listPacked, lookupPacked, readPackedRefs } from './packed.js';
import type { Repo } from './repo.js';

/** A 40-hex SHA-1 object id. */
export const OID_RE = /^[0-9a-f]{40}$/;

/** A loose ref file whose content is neither an oid nor a symref (exit 1). */
export class BrokenRefError extends CoordError {
  readonly ref: string;
  constructor(ref: string, content: string) {
    super('broken-ref', `ref ${ref} is broken: its file holds ${quote(content, 60)}`);
    this.ref = ref;
  }
}

/** What one loose ref file holds. */
export type LooseValue = { oid: string } | { symref: string } | null;

/**
 * Reads the loose file of `ref` in the common dir. `null` when there is none (or a directory is at
 * its path). Symrefs (`ref: <target>`) are returned, not followed.
 *
 * @throws BrokenRefError for content that is neither.
 */
export function readLoose(commonDir: string, ref: string): LooseValue {
  let text: string;
  try {
    text = readFileSync(join(commonDir, ref), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return null;
    throw err;
  }
  const line = text.trimEnd();
  if (line.startsWith('ref: ')) return { symref: line.slice(5).trim() };
  const oid = line.slice(0, 40);
  if (OID_RE.test(oid) && (line.length === 40 || /\s/.test(line[40]!))) return { oid };
  throw new BrokenRefError(ref, text);
}

/**
 * Reads one ref: the loose file first, then `packed-refs` (read afresh), as files-backend.c
 * `files_read_raw_ref`. Reading loose before packed is what makes a racing `git pack-refs` safe.
 * Symrefs are followed up to 5 levels, as git.
 *
 * @returns the oid, or `null` when the ref does not exist.
 * @throws BrokenRefError for a corrupt loose ref file.
 */
export function readRef(repo: Pick<Repo, 'commonDir'>, ref: string): string | null {
  let name = ref;
  for (let depth = 0; depth < 5; depth++) {
    const loose = readLoose(repo.commonDir, name);
    if (loose === null) return lookupPacked(readPackedRefs(repo.commonDir), name);
    if ('oid' in loose) return loose.oid;
    name = loose.symref;
  }
  throw new BrokenRefError(ref, 'symref chain deeper than 5');
}

/** One ref and the object it points at. */
export interface RefEntry {
  ref: string;
  oid: string;
}

/**
 * Lists the refs under `prefix` (e.g. `refs/coord/leases/`) with their oids, sorted by refname as
 * `git for-each-ref`: one walk of the loose directory, then one pass over `packed-refs` (loose first,
 * so a racing `pack-refs` cannot hide a ref; loose values override packed ones). `*.lock` files and
 * names that are not valid refnames are skipped, as git does; so are broken loose refs (content
 * neither an oid nor a symref), as git warns and skips them.
 *
 * @param broken when given, receives the broken loose ref files under `prefix` (paths relative to the
 *   common dir, whatever their name, `*.lock` files aside), unsorted, from the same walk: doctor
 *   reports them without reading every ref file twice. Then a ref file that cannot be read (EACCES…)
 *   throws instead of being skipped.
 */
export function listRefs(repo: Pick<Repo, 'commonDir'>, prefix: string, broken?: string[]): RefEntry[] {
  const loose = new Map<string, string>();
  const slash = prefix.lastIndexOf('/');
  walkLoose(repo.commonDir, prefix.slice(0, slash + 1), prefix, loose, broken);
  const merged = new Map<string, string>();
  for (const [ref, oid] of listPacked(readPackedRefs(repo.commonDir), prefix)) merged.set(ref, oid);
  for (const [ref, oid] of loose) merged.set(ref, oid);
  const out: RefEntry[] = [];
  for (const [ref, oid] of merged) out.push({ ref, oid });
  out.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  return out;
}

function walkLoose(
  commonDir: string,
  dir: string,
  prefix: string,
  into: Map<string, string>,
  broken: string[] | undefined,
): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(join(commonDir, dir), { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const name = dir + e.name;
    if (e.isDirectory()) {
      if (name.startsWith(prefix) || prefix.startsWith(`${name}/`))
        walkLoose(commonDir, `${name}/`, prefix, into, broken);
      continue;
    }
    if (!name.startsWith(prefix) || e.name.endsWith('.lock')) continue;
    const valid = refnameProblem(name) === null;
    if (!valid && !broken) continue;
    try {
      const value = readLoose(commonDir, name);
      if (valid && value && 'oid' in value) into.set(name, value.oid);
    } catch (err) {
      // a broken loose ref is skipped by listing, as git for-each-ref warns and skips
      if (!broken) continue;
      if (!(err instanceof BrokenRefError)) throw err;
      broken.push(name);
    }
  }
}
