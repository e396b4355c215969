import { optimistic } from '../../records/optimistic.js';
import type { Attempt, Holder, Lease } from '../../records/schemas.js';
import { type AttemptEnd, attemptCount, beginAttempt, finishAttempt, runningAttempt } from '../attempts.js';
import type { LeaseContext } from '../context.js';
import { AttemptBudgetError, RunInProgressError } from '../errors.js';
import { renewLease } from '../model.js';
import { assertHolder, mustRead, writeLease } from './write-lease.js';

/** Options of {@link startAttempt}. */
export interface StartAttemptOptions {
  key: string;
  /** Holder id of the caller (the runner). */
  holder: string;
  /** The token the runner holds; a lease whose token moved is lost (LeaseLostError). */
  token: number;
  /** Process id of the runner, recorded in the attempt. */
  pid: number | null;
  /** `--max-attempts N`: refuse when N attempts were made already. */
  maxAttempts?: number;
  /** A new holder record to store (the runner as `holder.pid`). */
  holderRecord?: Holder;
  /** A new TTL, seconds. */
  ttlSeconds?: number;
}

/**
 * Records the start of a run (`git coord run`, DESIGN §9) in the lease the caller holds: a new attempt
 * (number = attempts so far + 1, `running`), and a heartbeat. A running attempt left by a runner whose
 * pid is gone ends `crashed` on the way.
 *
 * @throws LeaseLostError (exit 3) when the caller no longer holds `token`; RunInProgressError (exit 3)
 *   when a live runner on this host runs it already; AttemptBudgetError (exit 4) past `maxAttempts`.
 */
export async function startAttempt(
  ctx: LeaseContext,
  opts: StartAttemptOptions,
): Promise<{ lease: Lease; attempt: Attempt }> {
  return optimistic(async () => {
    const cur = await mustRead(ctx, opts.key);
    assertHolder(cur.record, opts.holder, 'started', opts.token);
    const now = ctx.now();
    let lease = cur.record;
    const running = runningAttempt(lease);
    if (running) {
      const alive =
        running.pid !== null && running.pid !== opts.pid && lease.holder.host === ctx.host
          ? ctx.probe.alive(running.pid)
          : false;
      if (alive) throw new RunInProgressError(opts.key, running);
      lease = {
        ...lease,
        attempts: finishAttempt(
          lease.attempts,
          {
            result: 'crashed',
            exit: null,
            signal: null,
            reason: `runner ${running.pid ?? '?'} is gone`,
          },
          now,
        ),
      };
    }
    if (opts.maxAttempts !== undefined && attemptCount(lease) >= opts.maxAttempts) {
      throw new AttemptBudgetError(opts.key, opts.maxAttempts, lease.attempts ?? []);
    }
    const next = {
      ...renewLease(lease, now, { holder: opts.holderRecord, ttlSeconds: opts.ttlSeconds }),
      attempts: beginAttempt({ ...lease, holder: opts.holderRecord ?? lease.holder }, opts.pid, now),
    };
    await writeLease(ctx, 'run-start', opts.holder, cur, next);
    return { lease: next, attempt: next.attempts.at(-1)! };
  });
}

/** Options of {@link endAttempt}. */
export interface EndAttemptOptions {
  key: string;
  holder: string;
  token: number;
  end: AttemptEnd;
  /** A new holder record to store, e.g. without the runner's pid when the lease stays open after it. */
  holderRecord?: Holder;
}

/**
 * Records how the running attempt ended (and renews the lease), before the runner closes or keeps the
 * lease. Holder and token only (LeaseLostError, exit 3, otherwise).
 */
export async function endAttempt(ctx: LeaseContext, opts: EndAttemptOptions): Promise<Lease> {
  return optimistic(async () => {
    const cur = await mustRead(ctx, opts.key);
    assertHolder(cur.record, opts.holder, 'recorded', opts.token);
    const now = ctx.now();
    const renewed = renewLease(cur.record, now, { holder: opts.holderRecord });
    const attempts = finishAttempt(cur.record.attempts, opts.end, now);
    const next = attempts ? { ...renewed, attempts } : renewed;
    return writeLease(ctx, 'run-end', opts.holder, cur, next);
  });
}
