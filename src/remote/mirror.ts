import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CoordError } from '../errors.js';
import { QUARANTINE_PREFIX } from '../records/quarantine.js';
import type { Lease } from '../records/schemas.js';
import { CorruptRecordError } from '../records/store.js';
import { loadRecordAt } from '../records/validate.js';
import { git } from '../refs/git.js';
import { sleepSync } from '../refs/lock.js';
import { listRefs, readRef } from '../refs/read.js';
import type { Repo } from '../refs/repo.js';
import { CasMismatchError, RefTransaction } from '../refs/transaction.js';
import { RemoteUnreachableError } from './errors.js';

/**
 * Team mode's local state (DESIGN §7.1). The remote's records are fetched with an explicit `+`
 * refspec into a **staging** namespace, `refs/coord-remote/<remote>/…` (outside `refs/coord/`, so no
 * reader takes it for truth, and outside `refs/remotes/`, so `git branch -r` stays clean); each staged
 * record is validated by the one rule of src/records/validate.ts and, when valid, copied into the
 * **mirror** `refs/coord/…` by a local CAS. An invalid one is kept under
 * `refs/coord/quarantine/remote/<remote>/…` and never copied: the mirror keeps its last valid value.
 */

/** The record namespaces kept in step with the remote on every write (all may shrink: `--prune`). */
export const WRITE_NAMESPACES = ['leases/', 'branches/', 'worktrees/'] as const;
/** Also fetched by `git coord sync` and `init --remote`: audit events (create-only). */
export const ALL_NAMESPACES = [...WRITE_NAMESPACES, 'audit/'] as const;

const COORD = 'refs/coord/';

/** `refs/coord-remote/<remote>/` */
export function stagingPrefix(remote: string): string {
  return `refs/coord-remote/${remote}/`;
}

/** The staging ref of the mirror ref `ref` (`refs/coord/leases/k` → `refs/coord-remote/<R>/leases/k`). */
export function stagingRef(remote: string, ref: string): string {
  return stagingPrefix(remote) + ref.slice(COORD.length);
}

/** A staged record that failed validation. */
export interface InvalidRecord {
  /** The mirror ref it would have been copied to. */
  ref: string;
  oid: string;
  reason: string;
  /** Where it is kept locally. */
  quarantine: string;
  /** True when this fetch quarantined it (false: it was already). */
  fresh: boolean;
}

/** What one {@link fetchMirror} changed in the mirror. */
export interface MirrorReport {
  /** Mirror refs that changed: `from`/`to` null for created/deleted. */
  changed: Array<{ ref: string; from: string | null; to: string | null }>;
  invalid: InvalidRecord[];
}

/** Options of {@link fetchMirror}. */
export interface FetchOptions {
  /** Namespaces to fetch (default {@link WRITE_NAMESPACES}). */
  namespaces?: readonly string[];
  /** Kill a hanging fetch after this many ms (default 60 s). */
  timeoutMs?: number;
}

/**
 * Fetches the remote's records into staging (`git fetch --prune --atomic` with one `+` refspec per
 * namespace, no tags, no FETCH_HEAD, no auto-gc), then brings the mirror in line: valid staged
 * records copied, mirror refs the remote no longer has deleted, invalid ones quarantined.
 * A concurrent fetch of the same clone holding the staging locks is waited out (as git's own
 * lock retries), a concurrent mirror update re-compared.
 *
 * @throws RemoteUnreachableError when git cannot fetch from the remote.
 */
export async function fetchMirror(
  repo: Repo,
  remote: string,
  opts: FetchOptions = {},
): Promise<MirrorReport> {
  const namespaces = opts.namespaces ?? WRITE_NAMESPACES;
  fetchStaging(repo, remote, namespaces, opts.timeoutMs);
  for (let attempt = 1; ; attempt++) {
    try {
      return await syncMirror(repo, remote, namespaces);
    } catch (err) {
      if (!(err instanceof CasMismatchError) || attempt >= 20) throw err;
      sleepSync(Math.random() * 20);
    }
  }
}

/**
 * The fetch half of {@link fetchMirror}: the remote's `namespaces` into staging, nothing else.
 *
 * @throws RemoteUnreachableError when git cannot fetch from the remote.
 */
export function fetchStaging(
  repo: Repo,
  remote: string,
  namespaces: readonly string[],
  timeoutMs = 60_000,
): void {
  const refspecs = namespaces.map((ns) => `+${COORD}${ns}*:${stagingPrefix(remote)}${ns}*`);
  const cwd = repo.worktreeTop ?? repo.commonDir;
  for (let attempt = 1; ; attempt++) {
    const res = git(
      [
        '-c',
        'fetch.recurseSubmodules=false',
        'fetch',
        '--quiet',
        '--no-tags',
        '--no-write-fetch-head',
        '--no-auto-gc',
        '--prune',
        '--atomic',
        '--',
        remote,
        ...refspecs,
      ],
      { cwd, allowFailure: true, env: NO_PROMPT, timeoutMs },
    );
    if (res.status === 0) break;
    // Another process of this clone is fetching the same staging refs: wait, as for any ref lock.
    const localLock = /cannot lock ref|Unable to create '.*\.lock'|unable to update local ref/i.test(
      res.stderr,
    );
    if (!localLock || attempt >= 40)
      throw new RemoteUnreachableError(remote, res.stderr, 'fetch its records');
    sleepSync(Math.random() * Math.min(200, 10 * 2 ** attempt));
  }
  markFetched(repo, remote);
}

/** `GIT_TERMINAL_PROMPT=0`: a remote that wants a password fails instead of waiting on a terminal. */
export const NO_PROMPT = { GIT_TERMINAL_PROMPT: '0' };

/**
 * Copies valid staged records of `namespaces` into the mirror in one local CAS transaction (expected
 * values = the mirror as read), deleting mirror refs that staging no longer has.
 *
 * @throws CasMismatchError when another process changed the mirror meanwhile (call again).
 */
export async function syncMirror(
  repo: Repo,
  remote: string,
  namespaces: readonly string[],
): Promise<MirrorReport> {
  const report: MirrorReport = { changed: [], invalid: [] };
  const tx = new RefTransaction(repo);
  const quarantined = quarantinedOids(repo, remote);
  for (const ns of namespaces) {
    const staged = new Map(listRefs(repo, stagingPrefix(remote) + ns).map((e) => [e.ref, e.oid]));
    const mirror = new Map(listRefs(repo, COORD + ns).map((e) => [e.ref, e.oid]));
    for (const [sref, oid] of staged) {
      const ref = COORD + sref.slice(stagingPrefix(remote).length);
      const have = mirror.get(ref) ?? null;
      if (have === oid) continue;
      const problem =
        (await validate(repo, ref, oid)) ?? (have ? await regression(repo, ref, have, oid) : null);
      if (problem) {
        const target = quarantineName(remote, ref, oid);
        const fresh = !quarantined.has(target);
        if (fresh) tx.create(target, oid, `coord: quarantine ${ref} from ${remote}`);
        report.invalid.push({ ref, oid, reason: problem, quarantine: target, fresh });
        continue;
      }
      if (have === null) tx.create(ref, oid, `coord: sync ${ref} from ${remote}`);
      else tx.update(ref, oid, have, `coord: sync ${ref} from ${remote}`);
      report.changed.push({ ref, from: have, to: oid });
    }
    for (const [ref, oid] of mirror) {
      if (staged.has(stagingRef(remote, ref))) continue;
      tx.delete(ref, oid, `coord: sync ${ref} from ${remote} (gone there)`);
      report.changed.push({ ref, from: oid, to: null });
    }
  }
  if (tx.refs().length > 0) tx.commit({ ident: { name: 'git-coord', email: `sync@${remote}` } });
  return report;
}

async function validate(repo: Repo, ref: string, oid: string): Promise<string | null> {
  try {
    await loadRecordAt(repo, ref, oid);
    return null;
  } catch (err) {
    if (err instanceof CorruptRecordError) return err.reason;
    if (err instanceof CoordError) return err.message;
    throw err;
  }
}

/**
 * A lease the remote offers that is older than the one this clone already holds as valid: a lower
 * token, or the same token with a lower revision. git-coord never writes such a record (tokens and
 * revisions only go up; tombstones keep them), so it is treated as invalid: nothing brings back an
 * older record.
 */
async function regression(repo: Repo, ref: string, have: string, oid: string): Promise<string | null> {
  if (!ref.startsWith(`${COORD}leases/`)) return null;
  let mine: Lease;
  try {
    mine = (await loadRecordAt(repo, ref, have)) as Lease;
  } catch {
    return null;
  }
  const theirs = (await loadRecordAt(repo, ref, oid)) as Lease;
  if (theirs.token < mine.token || (theirs.token === mine.token && theirs.revision < mine.revision)) {
    return `older than the record this clone has seen (token ${theirs.token} revision ${theirs.revision} < token ${mine.token} revision ${mine.revision})`;
  }
  return null;
}

/** `refs/coord/quarantine/remote/<remote>/<path>/<oid>`: one name per bad object, kept once. */
export function quarantineName(remote: string, ref: string, oid: string): string {
  return `${QUARANTINE_PREFIX}remote/${remote}/${ref.slice(COORD.length)}/${oid}`;
}

function quarantinedOids(repo: Repo, remote: string): Set<string> {
  return new Set(listRefs(repo, `${QUARANTINE_PREFIX}remote/${remote}/`).map((e) => e.ref));
}

/**
 * The invalid record the remote holds at mirror ref `ref` per the last fetch, or `null` when staging
 * holds the same value as the mirror (or nothing, and neither does the mirror).
 */
export function stagedInvalid(
  repo: Repo,
  remote: string,
  ref: string,
): { oid: string; quarantine: string } | null {
  const staged = readRef(repo, stagingRef(remote, ref));
  if (staged === null || staged === readRef(repo, ref)) return null;
  const quarantine = quarantineName(remote, ref, staged);
  return readRef(repo, quarantine) === staged ? { oid: staged, quarantine } : null;
}

function stampPath(repo: Repo, remote: string): string {
  return join(repo.commonDir, 'coord', 'remote', `${encodeURIComponent(remote)}.fetched`);
}

function markFetched(repo: Repo, remote: string): void {
  const path = stampPath(repo, remote);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${new Date().toISOString()}\n`);
  renameSync(tmp, path);
}

/** When this clone last fetched the remote's records (ms since the epoch), or `null` if never. */
export function lastFetched(repo: Repo, remote: string): number | null {
  try {
    const t = Date.parse(readFileSync(stampPath(repo, remote), 'utf8').trim());
    return Number.isFinite(t) ? t : null;
  } catch {
    return null;
  }
}
