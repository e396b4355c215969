import { CoordError, ExitCode } from '../errors.js';
import { LockTimeoutError, sleepSync } from '../refs/lock.js';
import { CasMismatchError } from '../refs/transaction.js';

/** Default retry budget of an optimistic update, in milliseconds. */
export const DEFAULT_RETRY_BUDGET_MS = 5000;

/**
 * A lock file older than this was left by a crashed writer (git holds ref locks for milliseconds):
 * {@link optimistic} reports it at once instead of retrying. `git coord doctor --fix` removes such locks.
 */
export const STALE_LOCK_AGE_MS = 60_000;

/** A compare-and-swap kept losing for the whole retry budget (exit 3). */
export class CasLostError extends CoordError {
  readonly attempts: number;
  readonly ref: string | null;
  constructor(attempts: number, last: CoordError) {
    super(
      'cas-lost',
      `gave up after ${attempts} attempts: ${last.message}. Others are writing the same records; try again.`,
      ExitCode.conflict,
      { cause: last },
    );
    this.attempts = attempts;
    this.ref = last instanceof CasMismatchError ? last.ref : null;
  }
}

/** Options of {@link optimistic}. */
export interface RetryOptions {
  /** Total time budget in milliseconds (default 5000). */
  budgetMs?: number;
  /** Upper bound of one back-off sleep in milliseconds (default 64). */
  maxBackoffMs?: number;
}

/**
 * Runs `attempt` (read current values, apply a pure function, commit a CAS transaction) until it
 * succeeds. On a lost CAS ({@link CasMismatchError}) or a lock held by a concurrent writer
 * ({@link LockTimeoutError}) it sleeps a jittered, exponentially growing delay ("full jitter":
 * uniform in [0, min(maxBackoffMs, 2^n)] ms, default 64) and re-runs `attempt` from the read. Any other error ends at once,
 * and so does a LockTimeoutError for a lock older than {@link STALE_LOCK_AGE_MS} (a crash leftover).
 *
 * @throws CasLostError (exit 3) when the budget runs out.
 */
export async function optimistic<T>(attempt: (n: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.budgetMs ?? DEFAULT_RETRY_BUDGET_MS);
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!(err instanceof CasMismatchError) && !(err instanceof LockTimeoutError)) throw err;
      // A lock this old was left by a crashed writer: waiting will not help, say so at once.
      if (err instanceof LockTimeoutError && (err.ageMs ?? 0) >= STALE_LOCK_AGE_MS) throw err;
      if (Date.now() >= deadline) {
        if (err instanceof LockTimeoutError && (err.ageMs ?? 0) > 1000) throw err;
        throw new CasLostError(n, err);
      }
      sleepSync(Math.random() * Math.min(opts.maxBackoffMs ?? 64, 2 ** n));
    }
  }
}
