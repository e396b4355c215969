import type { CommandModule } from 'yargs';
import { type LeaseContext, staleOf } from '../../leases/context.js';
import { listLeases } from '../../leases/state.js';
import { context, emit, type JsonArgs, warn, withJson } from '../common.js';
import { type LeaseView, leaseTable } from '../format.js';

/** `--state` values: a lease state, or `stale` (open and stale) / `live` (open and not stale). */
export const STATE_FILTERS = ['open', 'closed', 'crashed', 'stale', 'live'] as const;

/** Options of `git coord list`. */
export interface ListArgs extends JsonArgs {
  state?: (typeof STATE_FILTERS)[number];
}

/** Lists leases (sorted by key) with their liveness. Never writes; corrupt records are warned about. */
export async function run(
  args: ListArgs,
  ctx: LeaseContext | string = process.cwd(),
): Promise<{ leases: LeaseView[]; corrupt: string[] }> {
  const c = typeof ctx === 'string' ? context(ctx) : ctx;
  const { leases, corrupt } = await listLeases(c.repo);
  const now = c.now().getTime();
  const views = leases
    .map((s): LeaseView => ({ ...s.record, stale: staleOf(c, s.record, now) }))
    .filter((l) => {
      switch (args.state) {
        case undefined:
          return true;
        case 'stale':
          return l.stale !== null;
        case 'live':
          return l.state === 'open' && l.stale === null;
        default:
          return l.state === args.state;
      }
    });
  return { leases: views, corrupt: corrupt.map((e) => e.error.message) };
}

export const listCommand: CommandModule<object, ListArgs> = {
  command: 'list',
  describe: 'list leases with holder, state and liveness (never writes)',
  builder: (y) =>
    withJson(y).option('state', {
      choices: STATE_FILTERS,
      describe:
        'only leases in this state (stale = open but expired or holder gone; live = open and not stale)',
    }) as never,
  handler: async (argv) => {
    const r = await run(argv);
    for (const c of r.corrupt) warn(`${c} (skipped)`);
    emit(argv.json, { leases: r.leases }, () => leaseTable(r.leases, Date.now()));
  },
};
