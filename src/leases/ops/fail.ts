import type { Lease } from '../../records/schemas.js';
import type { LeaseContext } from '../context.js';
import { closeAs } from './write-lease.js';

/** Options of {@link fail}. */
export interface FailOptions {
  key: string;
  holder: string;
  token?: number;
  /** `failed`: the work failed (a non-zero exit); `aborted`: it was stopped on purpose (Ctrl-C). */
  outcome: 'failed' | 'aborted';
}

/**
 * Closes the lease with outcome `failed` or `aborted` (holder only, and with `token` only that
 * token), deleting its index entries like `release`; the worktree and branch stay for a look or a
 * retry. `git coord run` uses it when its command fails or is interrupted.
 *
 * @throws LeaseLostError (exit 3) when the caller does not hold it (any more).
 */
export async function fail(ctx: LeaseContext, opts: FailOptions): Promise<Lease> {
  return closeAs(
    ctx,
    opts.key,
    opts.holder,
    opts.outcome,
    opts.outcome === 'failed' ? 'fail' : 'abort',
    opts.token,
  );
}
