import type { CommandModule } from 'yargs';
import { type LeaseContext, staleOf } from '../../leases/context.js';
import { LeaseNotFoundError } from '../../leases/errors.js';
import { readLease } from '../../leases/state.js';
import { assertKey } from '../../refs/names.js';
import { context, emit, type JsonArgs, withJson, withKey } from '../common.js';
import { type LeaseView, leaseDetails } from '../format.js';

/** Options of `git coord show`. */
export interface ShowArgs extends JsonArgs {
  key: string;
}

/** Reads one lease with its liveness. Never writes. */
export async function run(args: ShowArgs, ctx: LeaseContext | string = process.cwd()): Promise<LeaseView> {
  assertKey(args.key);
  const c = typeof ctx === 'string' ? context(ctx) : ctx;
  const stored = await readLease(c.repo, args.key);
  if (!stored) throw new LeaseNotFoundError(args.key);
  return { ...stored.record, stale: staleOf(c, stored.record) };
}

export const showCommand: CommandModule<object, ShowArgs> = {
  command: 'show <key>',
  describe: 'show one lease and whether it is stale (never writes)',
  builder: (y) => withJson(withKey(y)) as never,
  handler: async (argv) => {
    const ctx = context();
    const view = await run(argv, ctx);
    emit(argv.json, view, () => leaseDetails(view, view.stale, Date.now(), ctx.config.skewSeconds));
  },
};
