import { UsageError } from '../../errors.js';
import type { Holder, Lease } from '../../records/schemas.js';
import { type LeaseContext, observedOf, staleOf } from '../context.js';
import { describeHolder, LeaseStateError } from '../errors.js';
import { expiresAt, formatAge } from '../liveness.js';
import { takeOverLease } from '../model.js';
import { writePushOptions } from '../push-options.js';
import { readLease } from '../state.js';
import { transact } from '../write.js';
import { claim } from './claim.js';
import { auditEvent, mustRead, takeoverReason, writeLease } from './write-lease.js';

/** Options of {@link takeover}. */
export interface TakeoverOptions {
  key: string;
  holder: Holder;
  /** Take a live lease too; requires `reason`. */
  force?: boolean;
  reason?: string;
  ttlSeconds?: number;
}

/**
 * Takes over a stale (expired, holder dead, pid reused) or crashed lease for `holder`: token +1,
 * transitions +1, same branch and worktree, index entries rewritten, `takeover` audit event. A live
 * lease only with `force` and a `reason`. The old holder's renew/release then fail with "you lost the
 * lease".
 */
export async function takeover(ctx: LeaseContext, opts: TakeoverOptions): Promise<Lease> {
  if (opts.force && !opts.reason?.trim()) {
    throw new UsageError(
      'takeover --force needs --reason "why" (it is recorded in the audit log)',
      'reason-required',
    );
  }
  const foreign = await foreignWorktree(ctx, opts.key);
  if (foreign && !opts.force) {
    // Worktrees are per host (DESIGN §7.6): taking over work from another machine provisions a
    // worktree here, as a claim does, and never records the other clone's path.
    const r = await claim(ctx, {
      key: opts.key,
      holder: opts.holder,
      takeover: true,
      reason: opts.reason,
      ttlSeconds: opts.ttlSeconds,
    });
    return r.lease;
  }
  const taken = await transact(ctx, async () => {
    const cur = await mustRead(ctx, opts.key);
    const lease = cur.record;
    const nowMs = ctx.now().getTime();
    if (lease.state === 'closed') {
      throw new LeaseStateError(
        'not-held',
        `lease ${lease.key} is closed (${lease.outcome}); there is nothing to take over: \`git coord claim ${lease.key}\``,
      );
    }
    const stale = staleOf(ctx, lease, nowMs);
    if (lease.state === 'open' && !stale && !opts.force) {
      const expires = expiresAt(lease, ctx.config.skewSeconds, observedOf(ctx, lease));
      throw new LeaseStateError(
        'not-stale',
        `lease ${lease.key} is live: held by ${describeHolder(lease)} since ${lease.acquiredAt}, last heartbeat ` +
          `${formatAge(nowMs - Date.parse(lease.renewedAt))} ago, stale in ${formatAge(expires - nowMs)}. ` +
          `takeover needs a stale lease; to take it anyway: git coord takeover ${lease.key} --force --reason "…"`,
      );
    }
    let next = takeOverLease(lease, opts.holder, ctx.now(), opts.ttlSeconds);
    // A forced takeover of a lease whose worktree is on another host keeps no path of that host.
    if (next.worktree && next.worktree.host !== ctx.host) next = { ...next, worktree: null };
    const reason =
      opts.force && lease.state === 'open' && !stale
        ? `forced: ${opts.reason}`
        : (opts.reason ?? takeoverReason(ctx, lease, stale, nowMs));
    return writeLease(
      ctx,
      'takeover',
      opts.holder.id,
      cur,
      next,
      auditEvent(ctx, 'takeover', next, opts.holder.id, {
        reason,
        previousHolder: lease.holder.id,
        token: next.token,
      }),
    );
  });
  writePushOptions(ctx, taken); // best effort: the token moved; a failure leaves the old options there
  return taken;
}

/** True when lease `key`'s worktree is on another host (as read from the store, refreshed). */
async function foreignWorktree(ctx: LeaseContext, key: string): Promise<boolean> {
  await ctx.store.refresh();
  const cur = await readLease(ctx.repo, key);
  const wt = cur?.record.worktree;
  return Boolean(wt && wt.host !== ctx.host && cur?.record.state !== 'closed');
}
