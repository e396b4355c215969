import { type LeaseContext, staleOf } from '../../leases/context.js';
import { listLeases } from '../../leases/state.js';
import type { ListArgs } from '../commands/list.js';
import { context, emit, warn } from '../common.js';
import { type LeaseView, leaseTable } from '../format.js';

/** A lease ref `list` could not read (`list --json` `problems`, src/cli/schemas.ts ListProblem). */
export interface ListProblem {
  kind: 'corrupt-record';
  ref: string;
  oid: string;
  objectMissing: boolean;
  reason: string;
  message: string;
}

/**
 * Lists leases (sorted by key) with their liveness. Never writes; corrupt records are returned as
 * problems (never silently dropped).
 */
export async function run(
  args: ListArgs,
  ctx: LeaseContext | string = process.cwd(),
): Promise<{ leases: LeaseView[]; problems: ListProblem[] }> {
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
  const problems = corrupt.map(
    (e): ListProblem => ({
      kind: 'corrupt-record',
      ref: e.ref,
      oid: e.oid,
      objectMissing: e.error.objectMissing,
      reason: e.error.reason,
      message: e.error.message,
    }),
  );
  return { leases: views, problems };
}

/**
 * `git coord list`: warnings for corrupt records, then the table (or `{leases, problems}` with
 * `--json`).
 */
export async function handle(argv: ListArgs): Promise<void> {
  const r = await run(argv);
  for (const p of r.problems) warn(`${p.message} (skipped)`);
  emit(argv.json, { leases: r.leases, problems: r.problems }, () => leaseTable(r.leases, Date.now()));
}
