import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeRecord } from '../records/codec.js';
import { BranchIndexType, LeaseType, type RecordType, WorktreeType } from '../records/schemas.js';
import { identityProblem } from '../records/store.js';
import { parseConfigList } from '../refs/config-list.js';
import { readObject, writeBlob } from '../refs/objects.js';
import { readLoose, readRef } from '../refs/read.js';
import type { Repo } from '../refs/repo.js';
import { RefTransaction } from '../refs/transaction.js';
import { currentHost, worktreeId } from '../refs/worktree-id.js';

/**
 * The entry of `git-coord hook <name>`, dispatched by the CLI before yargs and the command modules are
 * loaded, so a hook costs about one node start (DESIGN §5).
 *
 * The common case of pre-commit — the current worktree or branch belongs to the caller's own open
 * lease, and the commit is a heartbeat — is normally settled by the shell script with git plumbing
 * (scripts.ts `coord_holder_renew`). When the shell cannot (no GNU `date`, an identity that needs
 * JSON escapes, a lost race…) it is handled here with the ref store alone (no `git rev-parse`): the
 * records are read through the same rule as every other reader (zod types, key = ref name, no
 * symbolic refs), and the renewal is the same write
 * `git coord renew` makes (revision +1, `renewedAt` now, one CAS on the lease ref verifying the index
 * refs, reflog `coord: renew <key> by <holder> token <n>`). Node's start-up is most of a hook's cost, so
 * this module loads no `child_process` (6 ms) and no `tty` until it needs them. The shell passes
 * `COORD_HOOK_GIT_DIR` and `COORD_HOOK_TOP`. Anything else — no identity, another holder, a record that
 * is not canonical, team mode, a lost race, any error — falls through to the full hook
 * (src/hooks/run.ts), which validates every record and says why it refuses.
 */

const LEASES = 'refs/coord/leases/';

/** `git-coord hook <name> [args…]`: returns the exit status. */
export async function hookMain(argv: string[]): Promise<number> {
  const [name = '', ...args] = argv;
  if (name === 'pre-commit') {
    let fast: number | null = null;
    try {
      fast = await fastPreCommit();
    } catch {
      fast = null;
    }
    if (fast !== null) return fast;
  }
  try {
    const { runHook } = await import('./run.js');
    return await runHook(name, args);
  } catch (err) {
    const { reportError } = await import('../cli/output.js');
    const { writeErr } = await import('../cli/stdio.js');
    const code = reportError(err, false);
    writeErr('git-coord: the hook failed, so git stops here (COORD=0 skips the git-coord checks).\n');
    return code === 0 ? 1 : code;
  }
}

/**
 * git config as the fast path needs it. With `$COORD_HOLDER` set nothing else is needed: the lock
 * timeouts take git's defaults (a lock that does not come free in time throws, and the full hook, which
 * reads the real configuration, retries). Without it, `git config --list` is read once for the
 * identity (`coord.holder`, `user.email`) and the timeouts.
 */
async function hookConfig(cwd: string): Promise<Map<string, string>> {
  if (process.env.COORD_HOLDER) return new Map();
  const { git } = await import('../refs/git.js');
  return parseConfigList(git(['config', '--list', '-z'], { cwd, allowFailure: true }).stdout);
}

/** The repository as the shell found it, without spawning git; null when the shell did not say. */
async function repoFromHookEnv(): Promise<(Repo & { top: string }) | null> {
  const gitDirEnv = process.env.COORD_HOOK_GIT_DIR;
  const topEnv = process.env.COORD_HOOK_TOP;
  if (!gitDirEnv || !topEnv) return null;
  // Absolute paths from git and from the shell's `cd -P` (so the top is already a real path).
  const gitDir = resolve(gitDirEnv);
  const commondirFile = join(gitDir, 'commondir');
  const commonDir = existsSync(commondirFile)
    ? resolve(gitDir, readFileSync(commondirFile, 'utf8').trim())
    : gitDir;
  // Plain files-backend repositories in local mode only: extensions are checked (and refused with a
  // reason) by the full path, and in team mode (coord.remote) every write goes through the remote.
  const cfg = readFileSync(join(commonDir, 'config'), 'utf8');
  if (/^\s*\[extensions\]/im.test(cfg) || /^\s*\[coord\][^[]*^\s*remote\s*=/im.test(cfg)) return null;
  const top = resolve(topEnv);
  const config = await hookConfig(top);
  return {
    top,
    worktreeTop: top,
    gitDir,
    commonDir,
    isLinked: gitDir !== commonDir,
    isBare: false,
    config: () => config,
  };
}

/** A stored record: the blob's oid, its bytes and the parsed JSON. */
interface Raw {
  oid: string;
  text: string;
  json: Record<string, unknown>;
}

async function readRaw(repo: Repo, ref: string): Promise<Raw | null> {
  // Look before reading: a missing ref costs no thrown ENOENT.
  if (!existsSync(join(repo.commonDir, ref)) && !existsSync(join(repo.commonDir, 'packed-refs'))) return null;
  // The one rule of every reader (issue 9 item 3): never a symbolic ref, the record type of the
  // namespace (zod), the record of this ref (key / branch / id = its name). Anything else throws,
  // and the full hook says what is wrong.
  const loose = readLoose(repo.commonDir, ref);
  if (loose && 'symref' in loose) throw new Error(`${ref} is a symbolic ref`);
  const oid = readRef(repo, ref);
  if (oid === null) return null;
  const obj = await readObject(repo, oid);
  if (obj.type !== 'blob') throw new Error(`${ref} is not a blob`);
  const type = ref.startsWith(LEASES)
    ? LeaseType
    : ref.startsWith('refs/coord/branches/')
      ? BranchIndexType
      : WorktreeType;
  const json = decodeRecord<unknown>(type as RecordType<unknown>, obj.content) as Record<string, unknown>;
  if (identityProblem(ref, json)) throw new Error(`${ref} is not the record of its ref`);
  return { oid, text: obj.content.toString('utf8'), json };
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/**
 * pre-commit for the lease holder. Returns 0 when the caller's own open lease owns this worktree /
 * branch (and was renewed) or nothing owns them; null to run the full hook.
 */
export async function fastPreCommit(): Promise<number | null> {
  const repo = await repoFromHookEnv();
  if (!repo) return null;
  const wtid = worktreeId(repo.top, currentHost());
  const head = readFileSync(join(repo.gitDir, 'HEAD'), 'utf8').trim();
  const branch = head.startsWith('ref: refs/heads/') ? head.slice('ref: refs/heads/'.length) : null;

  const index = new Map<string, Raw>();
  const wtEntry = await readRaw(repo, `refs/coord/worktrees/${wtid}`);
  if (wtEntry) index.set(`refs/coord/worktrees/${wtid}`, wtEntry);
  const brEntry = branch ? await readRaw(repo, `refs/coord/branches/${branch}`) : null;
  if (brEntry) index.set(`refs/coord/branches/${branch}`, brEntry);
  if (index.size === 0) return 0;

  const me = process.env.COORD_HOLDER || repo.config().get('coord.holder') || repo.config().get('user.email');
  if (!me) return null;

  // The leases that own this worktree / branch, as leaseForWorktree / leaseForBranch decide.
  const owners = new Map<string, Raw>();
  for (const [ref, entry] of index) {
    const key = str(entry.json.key);
    if (!key || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(key)) return null;
    const lease = owners.get(key) ?? (await readRaw(repo, `${LEASES}${key}`));
    if (!lease) continue;
    const l = lease.json;
    const worktree = l.worktree as { id?: unknown } | null | undefined;
    const names = ref.startsWith('refs/coord/worktrees/') ? worktree?.id === wtid : l.branch === branch;
    if (!names || l.state === 'closed') continue;
    const holder = l.holder as { id?: unknown } | null | undefined;
    if (l.state !== 'open' || holder?.id !== me) return null; // refuse or warn: the full hook says why
    if (entry.json.holder !== me || entry.json.token !== l.token) return null; // index to repair
    owners.set(key, lease);
  }
  if (owners.size === 0) return 0;

  const now = new Date().toISOString();
  for (const [key, lease] of owners) {
    // Only a canonical record is renewed here (same bytes as the validated encoder writes).
    if (`${JSON.stringify(lease.json, null, 2)}\n` !== lease.text) return null;
    const revision = lease.json.revision;
    const token = lease.json.token;
    if (
      typeof revision !== 'number' ||
      typeof token !== 'number' ||
      typeof lease.json.renewedAt !== 'string'
    ) {
      return null;
    }
    const next = { ...lease.json, revision: revision + 1, renewedAt: now };
    const oid = writeBlob(repo, Buffer.from(`${JSON.stringify(next, null, 2)}\n`, 'utf8'));
    const tx = new RefTransaction(repo).update(
      `${LEASES}${key}`,
      oid,
      lease.oid,
      `coord: renew ${key} by ${me} token ${token}`,
    );
    for (const [ref, entry] of index) if (entry.json.key === key) tx.verify(ref, entry.oid);
    tx.commit({ ident: { name: me, email: me } }); // a lost race throws: the full hook retries
  }
  return 0;
}
