import type { GateResult, Lease } from '../../records/schemas.js';
import type { LeaseContext } from '../context.js';
import { auditEvent, type Caller, callerId, closeAs } from './write-lease.js';

/** Options of {@link done}. */
export interface DoneOptions {
  key: string;
  /** The caller: a holder id, or its Identity (then a refusal says where the id came from). */
  holder: Caller;
  token?: number;
  /**
   * The gate result to record. `overridden` also writes an `override` audit event (with its reason,
   * missing items and commit). The caller decides whether a `failed` gate refuses (exit 4) before
   * calling this.
   */
  gate?: GateResult | null;
}

/** Closes the lease with outcome `done` (holder only), recording `gate`; index entries are deleted. */
export async function done(ctx: LeaseContext, opts: DoneOptions): Promise<Lease> {
  const gate = opts.gate;
  return closeAs(ctx, opts.key, opts.holder, 'done', 'done', opts.token, gate, (next) =>
    gate?.result === 'overridden'
      ? auditEvent(ctx, 'override', next, callerId(opts.holder), {
          reason: gate.reason,
          token: next.token,
          commit: gate.commit,
          missing: gate.missing,
        })
      : undefined,
  );
}
