import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CoordError } from '../errors.js';
import { type LeaseContext, mainTopOf } from '../leases/context.js';
import { holdsIndex } from '../leases/model.js';
import {
  dirtyEntries,
  type GitWorktree,
  gitCwd,
  insideOf,
  listWorktrees,
  realish,
} from '../leases/worktree.js';
import type { Lease } from '../records/schemas.js';
import { git } from '../refs/git.js';

/** The fields of a lease the worktree checks read. */
export type WorktreeLease = Pick<Lease, 'key' | 'state' | 'branch' | 'outcome' | 'closedAt'>;

/**
 * The leases of one host that name a worktree, by the worktree's real path, gathered one lease at a
 * time ({@link WorktreeClaims.add}) and kept as their {@link WorktreeLease} fields only: per path the
 * holding lease (the last one added) and the closed lease closed last (the first one added on a tie).
 */
export class WorktreeClaims {
  /** Leases holding their worktree (not closed), by real path. */
  readonly holding = new Map<string, WorktreeLease>();
  /** Closed leases, by real path. */
  readonly closed = new Map<string, WorktreeLease>();

  /** @param host the host whose leases are gathered (others are skipped). */
  constructor(private readonly host: string) {}

  /** Keeps what the worktree checks need of `lease`, when it names a worktree on this host. */
  add(lease: Lease): void {
    if (!lease.worktree || lease.worktree.host !== this.host) return;
    const path = realish(lease.worktree.path);
    const { key, state, branch, outcome, closedAt } = lease;
    const kept = { key, state, branch, outcome, closedAt };
    if (holdsIndex(lease)) this.holding.set(path, kept);
    else if (!this.closed.has(path) || (this.closed.get(path)!.closedAt ?? '') < (closedAt ?? ''))
      this.closed.set(path, kept);
  }
}

/** One worktree problem (the shape of a doctor problem). */
export interface WorktreeProblem {
  kind: 'orphan-worktree' | 'missing-worktree';
  path: string;
  message: string;
  fixed: boolean;
}

/** A worktree a closed lease left behind: not a problem (`git coord cleanup` decides about it). */
export interface KeptWorktree {
  kind: 'kept-worktree';
  path: string;
  message: string;
}

/** What {@link worktreeProblems} found. */
export interface WorktreeFindings {
  problems: WorktreeProblem[];
  /** Worktrees of closed leases, kept on purpose (`release` keeps the worktree by default). */
  kept: KeptWorktree[];
}

/**
 * Compares the worktrees git knows (`git worktree list --porcelain`) with the leases of this host:
 *
 * - `orphan-worktree`: a registered worktree whose directory exists inside the configured worktrees
 *   directory (`worktrees.dir` under the main worktree) that no lease of this host ever named. Never removed, even with `fix`: it may hold
 *   uncommitted changes or commits that exist nowhere else. The message says whether it is dirty and
 *   gives the exact command (`git worktree remove <path>`, which itself refuses a dirty worktree and
 *   keeps the branch), or how to adopt it (`git coord claim <key> --worktree <path>`).
 * - `missing-worktree`: a registered worktree inside the worktrees directory, or one a lease of this
 *   host names, whose directory is gone (`git worktree prune` territory); or a lease of this host that
 *   names a worktree directory that no longer exists. With `fix`, only git's stale registration is
 *   removed, with `git worktree remove <path>` for that entry alone (git refuses a locked one); a
 *   lease that still names the path is left for its holder (release, then claim again) and the
 *   problem stays unfixed.
 *
 * - `kept-worktree` (not a problem, listed in `kept`): a worktree whose latest lease is closed. A plain
 *   `release` keeps its worktree on purpose; `git coord cleanup` removes it once it is clean and merged.
 *
 * A bare repository has no worktrees directory: only leases naming missing directories are checked.
 *
 * @param claims the leases of this host naming a worktree ({@link WorktreeClaims}).
 */
export function worktreeProblems(ctx: LeaseContext, claims: WorktreeClaims, fix: boolean): WorktreeFindings {
  const { repo, config } = ctx;
  const { holding, closed } = claims;
  const mainTop = mainTopOf(repo);
  const cwd = gitCwd(repo, mainTop);
  const registered = listWorktrees(cwd).filter(
    (w) => !w.bare && (mainTop === null || realish(w.path) !== mainTop),
  );
  const wtDir = mainTop ? realish(join(mainTop, config.worktreeDir)) : null;
  const inDir = (p: string) => wtDir !== null && insideOf(wtDir, p) !== null;

  const out: WorktreeProblem[] = [];
  const kept: KeptWorktree[] = [];
  const seen = new Set<string>();
  for (const w of registered) {
    const path = realish(w.path);
    seen.add(path);
    const lease = holding.get(path);
    const gone = w.prunable || !existsSync(w.path);
    if (gone) {
      if (!lease && !inDir(path)) continue; // not ours: left to git worktree prune
      out.push(missingRegistered(cwd, w, path, lease ?? null, fix));
    } else if (!lease && inDir(path)) {
      const owner = closed.get(path);
      if (owner) kept.push(keptWorktree(w, path, owner, config.link));
      else out.push(orphan(w, path, config.link));
    }
  }
  for (const [path, lease] of holding) {
    if (seen.has(path) || existsSync(path)) continue;
    out.push({
      kind: 'missing-worktree',
      path,
      message: `lease ${lease.key} (${lease.state}) names worktree ${path}, which no longer exists and git does not know; ${leaseNext(lease)}`,
      fixed: false,
    });
  }
  const byPath = (a: { path: string }, b: { path: string }) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
  return { problems: out.sort(byPath), kept: kept.sort(byPath) };
}

function branchName(w: GitWorktree): string {
  return w.branch
    ? `branch ${w.branch.replace(/^refs\/heads\//, '')}`
    : `a detached HEAD at ${(w.head ?? '?').slice(0, 12)}`;
}

/** What the holder of a lease naming a vanished worktree does next. */
function leaseNext(lease: WorktreeLease): string {
  const branch = lease.branch ? ` (branch ${lease.branch} and its commits are kept)` : '';
  return lease.state === 'open'
    ? `its holder ends the lease (\`git coord release ${lease.key}\`) and claims it again to re-create the worktree${branch}`
    : `\`git coord claim ${lease.key}\` (its holder) or \`git coord takeover ${lease.key}\` continues the work${branch}, \`git coord clear ${lease.key}\` drops it`;
}

function missingRegistered(
  cwd: string,
  w: GitWorktree,
  path: string,
  lease: WorktreeLease | null,
  fix: boolean,
): WorktreeProblem {
  let message = `git still registers a worktree at ${path} on ${branchName(w)}, but its directory is gone`;
  let pruned = false;
  if (fix) {
    const res = git(['worktree', 'remove', w.path], { cwd, allowFailure: true });
    pruned = res.status === 0;
    message += pruned
      ? ': registration removed (`git worktree remove`; the branch is kept)'
      : `; \`git worktree remove ${w.path}\` failed: ${res.stderr.trim() || `exit ${res.status}`}`;
  } else {
    message += `; \`git coord doctor --fix\` removes git's stale registration (like \`git worktree prune\`; the branch is kept)`;
  }
  if (lease) message += `; lease ${lease.key} (${lease.state}) still names it: ${leaseNext(lease)}`;
  return { kind: 'missing-worktree', path, message, fixed: pruned && !lease };
}

/** "it is clean" / "it has N uncommitted change(s)…" / unreadable. */
function cleanliness(path: string, link: readonly string[]): string {
  let dirty: string[] | null = null;
  try {
    dirty = dirtyEntries(path, link);
  } catch (err) {
    if (!(err instanceof CoordError)) throw err;
  }
  return dirty === null
    ? 'its status could not be read; check it with `git -C <path> status`'
    : dirty.length > 0
      ? `it has ${dirty.length} uncommitted change(s): commit or discard them first`
      : 'it is clean';
}

function orphan(w: GitWorktree, path: string, link: readonly string[]): WorktreeProblem {
  const branch = w.branch ? ` --branch ${w.branch.replace(/^refs\/heads\//, '')}` : '';
  return {
    kind: 'orphan-worktree',
    path,
    message:
      `worktree on ${branchName(w)} is in the worktrees directory but no lease names it; ${cleanliness(w.path, link)}. ` +
      `Not removed automatically: remove it with \`git worktree remove ${w.path}\` (the branch and its commits are ` +
      `kept), or adopt it with \`git coord claim <key>${branch} --worktree ${w.path}\``,
    fixed: false,
  };
}

function keptWorktree(
  w: GitWorktree,
  path: string,
  closed: WorktreeLease,
  link: readonly string[],
): KeptWorktree {
  return {
    kind: 'kept-worktree',
    path,
    message:
      `worktree on ${branchName(w)} of lease ${closed.key}, closed (${closed.outcome ?? '?'}), was kept; ` +
      `${cleanliness(w.path, link)}. \`git coord cleanup\` removes it once it is clean and merged ` +
      `(\`--dry-run\` says why it keeps one); \`git coord claim ${closed.key}\` works in it again`,
  };
}
