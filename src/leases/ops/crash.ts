import { UsageError } from '../../errors.js';
import type { Lease } from '../../records/schemas.js';
import { type LeaseContext, observedOf, staleOf } from '../context.js';
import { LeaseHeldError, LeaseStateError } from '../errors.js';
import { crashLease } from '../model.js';
import { transact } from '../write.js';
import { auditEvent, mustRead, writeLease } from './write-lease.js';

/** Options of {@link crash}. */
export interface CrashOptions {
  key: string;
  /** Holder id of the caller. */
  by: string;
  reason: string;
}

/**
 * Marks the lease `crashed` with a reason, and writes a `crash` audit event. The holder may always;
 * anyone else only when the lease is stale (else LeaseHeldError). Index entries stay (the crashed
 * lease still owns its branch and worktree until it is claimed again, taken over or cleared).
 */
export async function crash(ctx: LeaseContext, opts: CrashOptions): Promise<Lease> {
  if (!opts.reason.trim()) throw new UsageError('crash needs --reason', 'reason-required');
  return transact(
    ctx,
    async () => {
      const cur = await mustRead(ctx, opts.key);
      const lease = cur.record;
      if (lease.state !== 'open') {
        throw new LeaseStateError(
          'not-open',
          `lease ${lease.key} is ${lease.state}${lease.outcome ? ` (${lease.outcome})` : ''}; only an open lease can be marked crashed`,
        );
      }
      const now = ctx.now().getTime();
      const stale = staleOf(ctx, lease, now);
      if (lease.holder.id !== opts.by && !stale) {
        throw new LeaseHeldError({
          lease,
          stale,
          now,
          skewSeconds: ctx.config.skewSeconds,
          observedAt: observedOf(ctx, lease),
        });
      }
      const next = crashLease(lease, opts.reason, ctx.now());
      return writeLease(
        ctx,
        'crash',
        opts.by,
        cur,
        next,
        auditEvent(ctx, 'crash', next, opts.by, {
          reason: opts.reason,
          previousHolder: lease.holder.id,
          token: next.token,
        }),
      );
    },
    opts.key,
  );
}
