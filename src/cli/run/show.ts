import { type LeaseContext, staleOf } from '../../leases/context.js';
import { LeaseNotFoundError } from '../../leases/errors.js';
import { readLease } from '../../leases/state.js';
import { assertKey } from '../../refs/names.js';
import type { ShowArgs } from '../commands/show.js';
import { context, emit, withMirror } from '../common.js';
import { type LeaseView, leaseDetails } from '../format.js';

/** Reads one lease with its liveness. Never writes. */
export async function run(args: ShowArgs, ctx: LeaseContext | string = process.cwd()): Promise<LeaseView> {
  assertKey(args.key);
  const c = typeof ctx === 'string' ? context(ctx) : ctx;
  const stored = await readLease(c.repo, args.key);
  if (!stored) throw new LeaseNotFoundError(args.key);
  return { ...stored.record, stale: staleOf(c, stored.record) };
}

/** `git coord show`: the lease as key/value lines, or the record plus `stale` with `--json`. */
export async function handle(argv: ShowArgs): Promise<void> {
  const ctx = context();
  const view = await run(argv, ctx);
  emit(argv.json, withMirror(ctx, view, argv.json), () =>
    leaseDetails(view, view.stale, Date.now(), ctx.config.skewSeconds),
  );
}
