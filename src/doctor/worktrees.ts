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

/** One worktree problem (the shape of a doctor problem). */
export interface WorktreeProblem {
  kind: 'orphan-worktree' | 'missing-worktree';
  path: string;
  message: string;
  fixed: boolean;
}

/**
 * Compares the worktrees git knows (`git worktree list --porcelain`) with the leases of this host:
 *
 * - `orphan-worktree`: a registered worktree whose directory exists inside the configured worktrees
 *   directory (`worktrees.dir` under the main worktree) that no open or crashed lease of this host
 *   names (none ever did, or its lease is closed). Never removed, even with `fix`: it may hold
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
 * A bare repository has no worktrees directory: only leases naming missing directories are checked.
 */
export function worktreeProblems(
  ctx: LeaseContext,
  leases: readonly Lease[],
  fix: boolean,
): WorktreeProblem[] {
  const { repo, config, host } = ctx;
  const mainTop = mainTopOf(repo);
  const cwd = gitCwd(repo, mainTop);
  const registered = listWorktrees(cwd).filter(
    (w) => !w.bare && (mainTop === null || realish(w.path) !== mainTop),
  );
  const wtDir = mainTop ? realish(join(mainTop, config.worktreeDir)) : null;
  const inDir = (p: string) => wtDir !== null && insideOf(wtDir, p) !== null;

  /** Leases of this host naming a worktree, by real path: holding ones and closed ones separately. */
  const holding = new Map<string, Lease>();
  const closed = new Map<string, Lease>();
  for (const l of leases) {
    if (!l.worktree || l.worktree.host !== host) continue;
    const p = realish(l.worktree.path);
    if (holdsIndex(l)) holding.set(p, l);
    else if (!closed.has(p) || (closed.get(p)!.closedAt ?? '') < (l.closedAt ?? '')) closed.set(p, l);
  }

  const out: WorktreeProblem[] = [];
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
      out.push(orphan(w, path, closed.get(path) ?? null, config.link));
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
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function branchName(w: GitWorktree): string {
  return w.branch
    ? `branch ${w.branch.replace(/^refs\/heads\//, '')}`
    : `a detached HEAD at ${(w.head ?? '?').slice(0, 12)}`;
}

/** What the holder of a lease naming a vanished worktree does next. */
function leaseNext(lease: Lease): string {
  const branch = lease.branch ? ` (branch ${lease.branch} and its commits are kept)` : '';
  return lease.state === 'open'
    ? `its holder ends the lease (\`git coord release ${lease.key}\`) and claims it again to re-create the worktree${branch}`
    : `\`git coord claim ${lease.key}\` (its holder) or \`git coord takeover ${lease.key}\` continues the work${branch}, \`git coord clear ${lease.key}\` drops it`;
}

function missingRegistered(
  cwd: string,
  w: GitWorktree,
  path: string,
  lease: Lease | null,
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

function orphan(
  w: GitWorktree,
  path: string,
  closed: Lease | null,
  link: readonly string[],
): WorktreeProblem {
  const owner = closed
    ? `its lease ${closed.key} is closed${closed.outcome ? ` (${closed.outcome})` : ''}`
    : 'no lease names it';
  let dirty: string[] | null = null;
  try {
    dirty = dirtyEntries(w.path, link);
  } catch (err) {
    if (!(err instanceof CoordError)) throw err;
  }
  const state =
    dirty === null
      ? 'its status could not be read; check it with `git -C <path> status`'
      : dirty.length > 0
        ? `it has ${dirty.length} uncommitted change(s): commit or discard them first`
        : 'it is clean';
  const key = closed ? closed.key : '<key>';
  const branch = w.branch ? ` --branch ${w.branch.replace(/^refs\/heads\//, '')}` : '';
  return {
    kind: 'orphan-worktree',
    path,
    message:
      `worktree on ${branchName(w)} is in the worktrees directory but ${owner}; ${state}. Not removed ` +
      `automatically: remove it with \`git worktree remove ${w.path}\` (the branch and its commits are ` +
      `kept), or adopt it with \`git coord claim ${key}${branch} --worktree ${w.path}\``,
    fixed: false,
  };
}
