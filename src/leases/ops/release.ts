import type { Lease } from '../../records/schemas.js';
import { type LeaseContext, mainTopOf } from '../context.js';
import { dirtyEntries, removeWorktree } from '../worktree.js';
import { type Caller, closeAs } from './write-lease.js';

/** Options of {@link release}. */
export interface ReleaseOptions {
  key: string;
  /** The caller: a holder id, or its Identity (then a refusal says where the id came from). */
  holder: Caller;
  token?: number;
  /** Remove the worktree too, when it is clean (a dirty one is kept with a warning). */
  removeWorktree?: boolean;
}

/** What {@link release} did. */
export interface ReleaseResult {
  lease: Lease;
  /** Path of the worktree removed, or `null`. */
  removedWorktree: string | null;
  warnings: string[];
}

/**
 * Closes the lease with outcome `released` (holder only), deleting its index entries. With
 * `removeWorktree`, a clean worktree on this host is removed afterwards (the branch is kept); a dirty
 * one is kept with a warning and the lease is released all the same.
 */
export async function release(ctx: LeaseContext, opts: ReleaseOptions): Promise<ReleaseResult> {
  const lease = await closeAs(ctx, opts.key, opts.holder, 'released', 'release', opts.token);
  const warnings: string[] = [];
  let removedWorktree: string | null = null;
  const wt = lease.worktree;
  if (opts.removeWorktree && wt) {
    const mainTop = mainTopOf(ctx.repo);
    if (wt.host !== ctx.host) warnings.push(`worktree ${wt.path} is on host ${wt.host}; not removed`);
    else if (wt.path === mainTop) warnings.push(`worktree ${wt.path} is the main worktree; not removed`);
    else {
      let dirty: string[] | null = null;
      try {
        dirty = dirtyEntries(wt.path, ctx.config.link);
      } catch {
        warnings.push(`worktree ${wt.path} is not there any more; nothing to remove`);
      }
      if (dirty && dirty.length > 0) {
        const shown = dirty
          .slice(0, 5)
          .map((l) => l.slice(3))
          .join(', ');
        warnings.push(
          `kept worktree ${wt.path}: ${dirty.length} uncommitted change(s) (${shown}${dirty.length > 5 ? ', …' : ''}). ` +
            `Commit or discard them, then \`git worktree remove ${wt.path}\`.`,
        );
      } else if (dirty) {
        removeWorktree(ctx.repo, mainTop, wt.path);
        removedWorktree = wt.path;
      }
    }
  }
  return { lease, removedWorktree, warnings };
}
