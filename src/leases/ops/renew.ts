import type { Holder, Lease } from '../../records/schemas.js';
import type { LeaseContext } from '../context.js';
import { renewLease } from '../model.js';
import { transact } from '../write.js';
import { assertHolder, mustRead, writeLease } from './write-lease.js';

/** Options of {@link renew}. */
export interface RenewOptions {
  key: string;
  /** Holder id of the caller. */
  holder: string;
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
  return transact(ctx, async () => {
    const cur = await mustRead(ctx, opts.key);
    assertHolder(cur.record, opts.holder, 'renewed', opts.token);
    const next = renewLease(cur.record, ctx.now(), {
      ttlSeconds: opts.ttlSeconds,
      holder: opts.holderRecord,
      note: opts.note,
    });
    return writeLease(ctx, 'renew', opts.holder, cur, next);
  });
}
