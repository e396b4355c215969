import { type LeaseContext, staleOf } from '../../leases/context.js';
import { listLeases } from '../../leases/state.js';
import type { ListArgs } from '../commands/list.js';
import { context, emit, warn } from '../common.js';
import { type LeaseView, leaseTable } from '../format.js';

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

/** `git coord list`: warnings for corrupt records, then the table (or `{leases}` with `--json`). */
export async function handle(argv: ListArgs): Promise<void> {
  const r = await run(argv);
  for (const c of r.corrupt) warn(`${c} (skipped)`);
  emit(argv.json, { leases: r.leases }, () => leaseTable(r.leases, Date.now()));
}
