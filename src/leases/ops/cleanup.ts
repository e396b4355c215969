import { existsSync } from 'node:fs';
import { branchHead, isAncestor } from '../../branches/merge.js';
import { faultPoint } from '../../refs/fault.js';
import { git } from '../../refs/git.js';
import { type LeaseContext, mainTopOf } from '../context.js';
import { describeHolder } from '../errors.js';
import { holdsIndex } from '../model.js';
import { ProvisionLock } from '../provision-lock.js';
import { leaseForBranch, listLeases } from '../state.js';
import { dirtyEntries, gitCwd, listWorktrees, realish, removeWorktree } from '../worktree.js';

/** Options of {@link cleanup}. */
export interface CleanupOptions {
  /** `--dry-run`: decide and report, remove nothing. */
  dryRun?: boolean;
  /** `--branches`: delete the merged branches too. */
  branches?: boolean;
}

/** What {@link cleanup} decided for one lease. */
export interface CleanupItem {
  key: string;
  /** The lease's worktree path, or `null`. */
  path: string | null;
  branch: string | null;
  /** `removed` (or `would-remove` with `--dry-run`) or `kept`. */
  action: 'removed' | 'would-remove' | 'kept';
  /** What was (or would be) removed: `worktree`, `branch`. */
  removed: Array<'worktree' | 'branch'>;
  /** Why, in a few words: what it was merged into, or what kept it. */
  reason: string;
}

/**
 * Removes what closed leases leave behind (DESIGN §9): a lease's worktree (and with `branches` its
 * branch) is removed only when the lease is **closed**, the worktree is on this host, clean
 * (`git status --porcelain`, ignoring the `worktrees.link` symlinks) and everything in it is merged into
 * the lease's target — `merge.into` of its last `git coord merge`, else the first `protect` branch:
 * the worktree's HEAD and the branch head are ancestors of the target (or the commit an earlier
 * `--squash` merge made is). Never an open lease's (live or stale) or a crashed one's; never a worktree
 * or branch another lease now holds, the main worktree, or a branch checked out anywhere. Worktrees go
 * with `git worktree remove --force` (after the clean check; `--force` only because of the link
 * symlinks), branches with `git update-ref -d refs/heads/<b> <oid>` (CAS: a branch that moved meanwhile
 * stays). Lease records are not changed (they are history). Runs under the repository's worktree
 * lock (ProvisionLock, as claims and merges do), except with `dryRun`.
 *
 * @returns one item per lease that has a worktree (or, with `branches`, a branch) left, sorted by key.
 */
export async function cleanup(ctx: LeaseContext, opts: CleanupOptions = {}): Promise<CleanupItem[]> {
  if (opts.dryRun) return decideAndRemove(ctx, opts);
  // Worktrees change only under the repository's worktree lock (ProvisionLock): a claim re-opening one
  // of these leases either runs before (the lease is open: kept) or after (it makes the worktree again).
  const lock = ProvisionLock.acquire(ctx.repo, ctx.host);
  try {
    return await decideAndRemove(ctx, opts);
  } finally {
    lock.release();
  }
}

async function decideAndRemove(ctx: LeaseContext, opts: CleanupOptions): Promise<CleanupItem[]> {
  const { repo, config, host } = ctx;
  const mainTop = mainTopOf(repo);
  const cwd = gitCwd(repo, mainTop);
  const { leases } = await listLeases(repo);
  const registered = listWorktrees(cwd);
  const checkedOut = new Set(registered.flatMap((w) => (w.branch ? [w.branch] : [])));
  const heldPaths = new Set(
    leases
      .map((l) => l.record)
      .filter((l) => holdsIndex(l) && l.worktree?.host === host)
      .map((l) => realish(l.worktree!.path)),
  );
  const items: CleanupItem[] = [];
  for (const { record: lease } of leases.sort((a, b) => (a.record.key < b.record.key ? -1 : 1))) {
    const wt = lease.worktree && lease.worktree.host === host ? lease.worktree : null;
    const path = wt ? realish(wt.path) : null;
    const hasWorktree = path !== null && registered.some((w) => realish(w.path) === path) && existsSync(path);
    const head = lease.branch ? branchHead(cwd, lease.branch) : null;
    const hasBranch = opts.branches === true && head !== null;
    if (!hasWorktree && !hasBranch) {
      if (lease.worktree && lease.worktree.host !== host && lease.state === 'closed') {
        items.push(kept(lease.key, lease.worktree.path, lease.branch, `on host ${lease.worktree.host}`));
      }
      continue;
    }
    const item = (action: CleanupItem['action'], removed: CleanupItem['removed'], reason: string) =>
      items.push({
        key: lease.key,
        path: hasWorktree ? path : null,
        branch: lease.branch,
        action,
        removed,
        reason,
      });
    if (lease.state === 'open') {
      item('kept', [], `lease is open (held by ${describeHolder(lease)})`);
      continue;
    }
    if (lease.state === 'crashed') {
      item('kept', [], `lease crashed (${lease.crashReason ?? 'no reason'}): take it over or clear it first`);
      continue;
    }
    const target = lease.merge?.into ?? config.protect[0] ?? null;
    if (!target) {
      item(
        'kept',
        [],
        'no target to check it is merged: no merge recorded and no "protect" branch configured',
      );
      continue;
    }
    const into = branchHead(cwd, target);
    if (!into) {
      item('kept', [], `target branch ${target} does not exist`);
      continue;
    }
    const contained = (c: string) =>
      isAncestor(cwd, c, into) ||
      (lease.merge?.method === 'squash' &&
        lease.merge.head === c &&
        isAncestor(cwd, lease.merge.commit, into));
    if (head && !contained(head)) {
      const n = git(['rev-list', '--count', `${into}..${head}`], { cwd }).stdout.trim();
      item('kept', [], `branch ${lease.branch} has ${n} commit(s) not in ${target}`);
      continue;
    }
    const removed: CleanupItem['removed'] = [];
    if (hasWorktree) {
      if (heldPaths.has(path!)) {
        item('kept', [], 'its worktree now belongs to another open or crashed lease');
        continue;
      }
      if (path === mainTop) {
        item('kept', [], 'it is the main worktree');
        continue;
      }
      const dirty = dirtyEntries(path!, config.link);
      if (dirty.length > 0) {
        const shown = dirty.slice(0, 3).map((l) => l.slice(3));
        item(
          'kept',
          [],
          `${dirty.length} uncommitted change(s) (${shown.join(', ')}${dirty.length > 3 ? ', …' : ''})`,
        );
        continue;
      }
      const wtHead = git(['rev-parse', '--verify', '-q', 'HEAD'], {
        cwd: path!,
        allowFailure: true,
      }).stdout.trim();
      if (wtHead && !contained(wtHead)) {
        item('kept', [], `its HEAD ${wtHead.slice(0, 12)} is not in ${target}`);
        continue;
      }
      removed.push('worktree');
    }
    if (hasBranch && head) {
      const holder = await leaseForBranch(repo, lease.branch!);
      const otherCheckout = registered.some(
        (w) => w.branch === `refs/heads/${lease.branch}` && (!hasWorktree || realish(w.path) !== path),
      );
      if (!(holder && holder.record.key !== lease.key && holdsIndex(holder.record)) && !otherCheckout)
        removed.push('branch');
    }
    const merged = `merged into ${target}${hasWorktree ? ', clean' : ''}`;
    if (opts.dryRun) {
      item(removed.length ? 'would-remove' : 'kept', removed, removed.length ? merged : 'branch in use');
      continue;
    }
    if (removed.includes('worktree')) removeWorktree(repo, mainTop, path!);
    faultPoint('cleanup-removed');
    if (removed.includes('branch') && head) {
      const res = git(['update-ref', '-d', `refs/heads/${lease.branch}`, head], { cwd, allowFailure: true });
      if (res.status !== 0) removed.pop();
    }
    if (removed.length) item('removed', removed, merged);
    else
      item('kept', [], checkedOut.has(`refs/heads/${lease.branch}`) ? 'branch checked out' : 'branch in use');
  }
  return items;
}

function kept(key: string, path: string | null, branch: string | null, reason: string): CleanupItem {
  return { key, path, branch, action: 'kept', removed: [], reason };
}
