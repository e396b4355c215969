import {
  branchHead,
  commitTree,
  isAncestor,
  mergeTrees,
  moveBranch,
  subjects,
  trackedChanges,
  updateCheckout,
} from '../../branches/merge.js';
import { UsageError } from '../../errors.js';
import { optimistic } from '../../records/optimistic.js';
import type { Lease, MergeRecord } from '../../records/schemas.js';
import { faultPoint } from '../../refs/fault.js';
import { assertBranch } from '../../refs/names.js';
import { CasMismatchError } from '../../refs/transaction.js';
import { type LeaseContext, mainTopOf } from '../context.js';
import { BranchHeldError, MergeConflictError, MergeRefusedError } from '../errors.js';
import { holdsIndex, mergedLease } from '../model.js';
import { ProvisionLock } from '../provision-lock.js';
import { leaseForBranch } from '../state.js';
import { gitCwd, listWorktrees } from '../worktree.js';
import { auditEvent, mustRead, writeLease } from './write-lease.js';

/** How {@link merge} may combine the branches (`--ff-only`, `--no-ff`, `--squash`; default `auto`). */
export type MergeMode = 'auto' | 'ff-only' | 'no-ff' | 'squash';

/** Options of {@link merge}. */
export interface MergeOptions {
  key: string;
  /** Holder id of the caller (recorded as `merge.by` and in the audit event). */
  by: string;
  /** `--into B`; default the first `protect` branch of `.coord/config.json`. */
  into?: string;
  mode?: MergeMode;
  /** `--force`: merge although the lease is not `done` (or its branch moved after `done`); needs `reason`. */
  force?: boolean;
  reason?: string;
}

/** What {@link merge} did. */
export interface MergeResult {
  key: string;
  /** The lease's branch. */
  branch: string;
  into: string;
  method: MergeRecord['method'];
  /** The lease branch head that was merged. */
  head: string;
  /** `into` before. */
  before: string;
  /** `into` after (equal to `before` for `already-merged`). */
  commit: string;
  /** The checkout of `into` that was brought up to date (e.g. the main worktree), or `null`. */
  checkout: string | null;
  /** The lease as it is now (with its `merge` record). */
  lease: Lease;
  /** False when an identical merge record was already in the lease (nothing written). */
  recorded: boolean;
  /** E.g. the checkout of `into` could not follow (it changed between the check and the move). */
  warnings: string[];
}

/**
 * Merges the lease's branch into `into` (DESIGN §9) without touching any worktree but a clean checkout
 * of `into` itself:
 *
 * 1. The lease must be closed `done` (else MergeRefusedError `not-done`, exit 4), and its branch head
 *    must be the commit its gate passed on (else `branch-moved`); `force` + `reason` skips both and is
 *    audited. `into` held by another open lease: BranchHeldError (exit 3).
 * 2. `head` already contained in `into` (or squashed into it by an earlier merge): `already-merged`,
 *    nothing moves. Else fast-forward when `into` is an ancestor of `head` (not with `no-ff`/`squash`);
 *    `ff-only` refuses otherwise (`not-fast-forward`). Else `git merge-tree --write-tree`: conflicts →
 *    MergeConflictError (exit 4, the paths listed; nothing written but unreferenced objects); clean →
 *    `git commit-tree` (two parents, or one for `squash`).
 * 3. If `into` is checked out in a worktree, that checkout must have no tracked changes and
 *    `git read-tree -m -u -n` must accept the move (else `checkout-dirty`, exit 4): git itself refuses
 *    to move a checked-out branch behind the user's back (`git branch -f`), so the checkout is moved
 *    with it, as `git merge --ff` would.
 * 4. `git update-ref refs/heads/<into> <new> <before>` (CAS); a lost race re-decides from step 2. Then
 *    the checkout is updated (`git read-tree -m -u <before> <new>`). Steps 2–4 run under the
 *    repository's worktree lock (ProvisionLock), so two merges never judge a half-updated checkout.
 * 5. The lease records `merge` (revision +1, state and token unchanged) with a `merge` audit event in
 *    one CAS transaction. Re-running after a crash between 4 and 5 finds `already-merged` and records it.
 *
 * @throws UsageError (exit 2) for a bad `into`, no default target, `force` without `reason`;
 *   LeaseNotFoundError; MergeRefusedError / MergeConflictError (exit 4); BranchHeldError (exit 3);
 *   CasLostError (exit 3); GitCommandError (exit 1) when git fails (e.g. a hook refuses the update).
 */
export async function merge(ctx: LeaseContext, opts: MergeOptions): Promise<MergeResult> {
  if (opts.force && !opts.reason?.trim()) {
    throw new UsageError(
      'merge --force needs --reason "why" (it is recorded in the audit log)',
      'reason-required',
    );
  }
  if (opts.reason !== undefined && !opts.force) {
    throw new UsageError('--reason only goes with --force', 'usage');
  }
  const mode = opts.mode ?? 'auto';
  const cur = await mustRead(ctx, opts.key);
  const lease = cur.record;
  const into = opts.into ?? ctx.config.protect[0];
  if (into === undefined) {
    throw new UsageError(
      'no target branch: pass --into BRANCH, or list one under "protect" in .coord/config.json',
      'no-target',
    );
  }
  assertBranch(into);
  const branch = lease.branch;
  if (!branch) {
    throw new MergeRefusedError('no-branch', `lease ${lease.key} has no branch; there is nothing to merge`);
  }
  if (branch === into)
    throw new UsageError(`lease ${lease.key} works on ${into} itself; pick another --into`);
  const cwd = gitCwd(ctx.repo, mainTopOf(ctx.repo));
  const head = branchHead(cwd, branch);
  if (!head) {
    throw new MergeRefusedError(
      'no-branch',
      `branch ${branch} of lease ${lease.key} does not exist here; nothing to merge (was it deleted, or is it in another clone?)`,
    );
  }
  const forced = opts.force ? opts.reason!.trim() : null;
  if (!forced) assertMergeable(lease, head);
  const holder = await leaseForBranch(ctx.repo, into);
  if (holder && holder.record.key !== lease.key && holdsIndex(holder.record)) {
    throw new BranchHeldError(into, holder.record);
  }

  // Serialises merges (and claims) that change a worktree: see ProvisionLock.
  const lock = ProvisionLock.acquire(ctx.repo, ctx.host);
  const moved = await optimistic(async () => {
    const before = branchHead(cwd, into);
    if (!before) {
      throw new UsageError(
        `branch ${into} does not exist; create it first or pass another --into`,
        'no-target',
      );
    }
    const prior = lease.merge;
    const squashed =
      prior?.into === into &&
      prior.head === head &&
      prior.method === 'squash' &&
      isAncestor(cwd, prior.commit, before);
    if (squashed || isAncestor(cwd, head, before)) {
      return { method: 'already-merged' as const, before, commit: before, checkout: null, warnings: [] };
    }
    const ff = isAncestor(cwd, before, head);
    if (mode === 'ff-only' && !ff) {
      throw new MergeRefusedError(
        'not-fast-forward',
        `${into} (${before.slice(0, 12)}) has commits that ${branch} lacks: not possible to fast-forward; ` +
          `nothing changed. Merge without --ff-only, or rebase ${branch} on ${into} first.`,
      );
    }
    let method: MergeRecord['method'];
    let next: string;
    if (ff && (mode === 'auto' || mode === 'ff-only')) {
      method = 'fast-forward';
      next = head;
    } else {
      const res = mergeTrees(cwd, before, head);
      if (!res.clean) throw conflictError(lease, branch, into, before, res.conflicts);
      method = mode === 'squash' ? 'squash' : 'merge';
      const message =
        method === 'squash'
          ? `Squashed branch '${branch}' into ${into}\n\nLease ${lease.key} (git coord merge --squash):\n` +
            subjects(cwd, before, head)
              .map((s) => `* ${s}\n`)
              .join('')
          : `Merge branch '${branch}' into ${into}\n\nLease ${lease.key} (git coord merge).\n`;
      next = commitTree(cwd, res.tree, method === 'squash' ? [before] : [before, head], message);
    }
    const checkout = checkoutOf(cwd, into);
    if (checkout) assertCheckoutMovable(checkout, into, before, next);
    const res = moveBranch(
      cwd,
      into,
      next,
      before,
      `coord: merge ${lease.key} by ${opts.by} (${method} of ${branch})`,
    );
    if (!res.moved) throw new CasMismatchError(`refs/heads/${into}`, before, res.actual);
    let updated: string | null = null;
    const warnings: string[] = [];
    if (checkout) {
      const problem = updateCheckout(checkout, before, next);
      if (problem) {
        warnings.push(
          `${into} moved to ${next.slice(0, 12)}, but its checkout ${checkout} changed meanwhile and was not ` +
            `updated (${problem}). There, after saving your changes: \`git read-tree -m -u ${before} ${next}\``,
        );
      } else updated = checkout;
    }
    return { method, before, commit: next, checkout: updated, warnings };
  }).finally(() => lock.release());
  faultPoint('merge-moved');

  const record: MergeRecord = {
    into,
    method: moved.method,
    head,
    before: moved.before,
    commit: moved.commit,
    by: opts.by,
    at: ctx.now().toISOString(),
    reason: forced,
  };
  const written = await optimistic(async () => {
    const now = await mustRead(ctx, opts.key);
    const had = now.record.merge;
    if (
      had &&
      had.into === into &&
      had.head === head &&
      (had.method !== 'already-merged' || record.method === 'already-merged')
    ) {
      return { lease: now.record, recorded: false };
    }
    const next = mergedLease(now.record, record);
    const describe = `${record.method} of ${branch} (${head.slice(0, 12)}) into ${into}`;
    await writeLease(
      ctx,
      'merge',
      opts.by,
      now,
      next,
      record.method === 'already-merged' && !forced
        ? undefined
        : auditEvent(ctx, 'merge', next, opts.by, {
            reason: forced ? `forced: ${forced}; ${describe}` : describe,
            token: next.token,
            commit: record.commit,
          }),
    );
    return { lease: next, recorded: true };
  });
  return {
    key: lease.key,
    branch,
    into,
    method: record.method,
    head,
    before: record.before,
    commit: record.commit,
    checkout: moved.checkout,
    warnings: moved.warnings,
    ...written,
  };
}

/** A lease may be merged when it is closed `done` and its branch is still at the gated commit. */
function assertMergeable(lease: Lease, head: string): void {
  if (lease.state !== 'closed' || lease.outcome !== 'done') {
    const is = lease.state === 'closed' ? `closed (${lease.outcome})` : lease.state;
    throw new MergeRefusedError(
      'not-done',
      `lease ${lease.key} is ${is}, not done; nothing was merged. Finish it with \`git coord done ${lease.key}\` ` +
        `(its gate decides), or merge anyway (recorded): \`git coord merge ${lease.key} --force --reason "…"\`.`,
    );
  }
  const gated = lease.gate?.commit;
  if (gated && gated !== head) {
    throw new MergeRefusedError(
      'branch-moved',
      `branch ${lease.branch} is at ${head.slice(0, 12)}, but lease ${lease.key} was done on ${gated.slice(0, 12)}: ` +
        `commits after done were not gated; nothing was merged. Claim it again and run done, or merge anyway ` +
        `(recorded): \`git coord merge ${lease.key} --force --reason "…"\`.`,
    );
  }
}

function conflictError(
  lease: Lease,
  branch: string,
  into: string,
  before: string,
  paths: string[],
): MergeConflictError {
  const shown = paths.slice(0, 20).map((p) => `  conflict: ${p}`);
  if (paths.length > 20) shown.push(`  … and ${paths.length - 20} more`);
  const where = lease.worktree ? ` in ${lease.worktree.path}` : '';
  return new MergeConflictError(
    `merging ${branch} into ${into} (${before.slice(0, 12)}) conflicts in ${paths.length} path(s); ${into} is ` +
      `unchanged, branch ${branch} and its worktree are kept.\n${shown.join('\n')}\n` +
      `Resolve it on the branch${where}: \`git merge ${into}\`, fix, commit; then claim/done again and ` +
      `\`git coord merge ${lease.key}\`.`,
    paths,
  );
}

/** The worktree that has `into` checked out, or `null`. */
function checkoutOf(cwd: string, into: string): string | null {
  const wt = listWorktrees(cwd).find((w) => !w.bare && !w.prunable && w.branch === `refs/heads/${into}`);
  return wt?.path ?? null;
}

/** The checkout of `into` must be clean and able to follow the move (no untracked file in the way). */
function assertCheckoutMovable(checkout: string, into: string, before: string, next: string): void {
  const changes = trackedChanges(checkout);
  if (changes.length > 0) {
    const shown = changes.slice(0, 5).map((l) => l.slice(3));
    throw new MergeRefusedError(
      'checkout-dirty',
      `${into} is checked out in ${checkout} with ${changes.length} uncommitted change(s) ` +
        `(${shown.join(', ')}${changes.length > 5 ? ', …' : ''}); nothing was merged. Commit or stash them there, ` +
        'or merge into a branch that is not checked out (--into).',
    );
  }
  const problem = updateCheckout(checkout, before, next, true);
  if (problem) {
    throw new MergeRefusedError(
      'checkout-dirty',
      `${into} is checked out in ${checkout}, and its files cannot follow the merge (${problem}); nothing was merged.`,
    );
  }
}
