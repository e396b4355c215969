import type { Holder, Lease } from '../../records/schemas.js';
import type { LeaseContext } from '../context.js';
import { renewLease } from '../model.js';
import { transact } from '../write.js';
import { assertHolder, type Caller, callerId, mustRead, writeLease } from './write-lease.js';

/** Options of {@link renew}. */
export interface RenewOptions {
  key: string;
  /** The caller: a holder id, or its Identity (then a refusal says where the id came from). */
  holder: Caller;
  /** `--token N`: renew only while the token is still N. */
  token?: number;
  ttlSeconds?: number;
  /** A new holder record (e.g. with a new `--pid`); its id must be `holder`. */
  holderRecord?: Holder;
  note?: string | null;
}

/**
 * Heartbeat: `renewedAt` = now. Only the holder of the open lease (and, with `token`, only that
 * token). Never resurrects a lease that was taken over, closed or crashed (LeaseLostError, exit 3).
 */
export async function renew(ctx: LeaseContext, opts: RenewOptions): Promise<Lease> {
  return transact(
    ctx,
    async () => {
      const cur = await mustRead(ctx, opts.key);
      assertHolder(cur.record, opts.holder, 'renewed', opts.token, ctx.repo);
      const next = renewLease(cur.record, ctx.now(), {
        ttlSeconds: opts.ttlSeconds,
        holder: opts.holderRecord,
        note: opts.note,
      });
      return writeLease(ctx, 'renew', callerId(opts.holder), cur, next);
    },
    opts.key,
  );
}
