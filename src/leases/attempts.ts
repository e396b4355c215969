import { ATTEMPTS_KEPT, type Attempt, type Lease } from '../records/schemas.js';

/**
 * Attempts: the runs of `git coord run` on one key, kept in the lease (DESIGN §9, gsd-pi's dispatch
 * ledger). Pure record transitions, like model.ts: each returns a new attempts list and never touches
 * storage. The list is bounded ({@link ATTEMPTS_KEPT}, oldest dropped) while `number` keeps counting,
 * so the budget of `--max-attempts` holds however long the history.
 */

/** How an attempt ended: everything of an {@link Attempt} that is only known at its end. */
export interface AttemptEnd {
  result: Exclude<Attempt['result'], 'running'>;
  /** Exit code, or `null` when a signal ended it. */
  exit: number | null;
  signal: string | null;
  reason: string | null;
}

/** The number of attempts made on the lease so far (the last attempt's number; 0 for none). */
export function attemptCount(lease: Pick<Lease, 'attempts'> | null): number {
  const list = lease?.attempts ?? [];
  return list.length ? list[list.length - 1]!.number : 0;
}

/** The attempt that is still running (`endedAt` null), or `null`. */
export function runningAttempt(lease: Pick<Lease, 'attempts'> | null): Attempt | null {
  const last = lease?.attempts?.at(-1);
  return last && last.endedAt === null ? last : null;
}

/** `list` with `attempt` appended, keeping the last {@link ATTEMPTS_KEPT}. */
function bounded(list: readonly Attempt[], attempt: Attempt): Attempt[] {
  return [...list, attempt].slice(-ATTEMPTS_KEPT);
}

/** The attempts of `lease` with a new running attempt (number = count + 1) for its current holder. */
export function beginAttempt(lease: Lease, pid: number | null, now: Date): Attempt[] {
  return bounded(lease.attempts ?? [], {
    number: attemptCount(lease) + 1,
    holder: lease.holder.id,
    token: lease.token,
    pid,
    startedAt: now.toISOString(),
    endedAt: null,
    exit: null,
    signal: null,
    result: 'running',
    reason: null,
  });
}

/** The attempts with the running one (if any) ended as `end` at `now`; unchanged when none runs. */
export function finishAttempt(
  attempts: readonly Attempt[] | undefined,
  end: AttemptEnd,
  now: Date,
): Attempt[] | undefined {
  if (!attempts?.length) return attempts as Attempt[] | undefined;
  const last = attempts[attempts.length - 1]!;
  if (last.endedAt !== null) return attempts as Attempt[];
  return [...attempts.slice(0, -1), { ...last, ...end, endedAt: now.toISOString() }];
}

/** One line about an attempt: `#2 failed exit 1 at 2026-…Z (…)`. */
export function describeAttempt(a: Attempt): string {
  const how = a.signal ? ` by ${a.signal}` : a.exit !== null ? ` exit ${a.exit}` : '';
  const when = a.endedAt ? `${a.startedAt} → ${a.endedAt}` : `since ${a.startedAt}`;
  return `#${a.number} ${a.result}${how}, ${when}, ${a.holder} token ${a.token}${a.reason ? ` (${a.reason})` : ''}`;
}
