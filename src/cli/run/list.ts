import { staleOf } from '../../leases/context.js';
import { iterateLeases } from '../../leases/state.js';
import { isCorrupt } from '../../records/store.js';
import type { ListArgs } from '../commands/list.js';
import { context, warn, withMirror } from '../common.js';
import { type LeaseRow, type LeaseView, leaseRow, leaseTable } from '../format.js';
import { jsonListPrinter } from '../output.js';
import { writeOut } from '../stdio.js';

/** A lease ref `list` could not read (`list --json` `problems`, src/cli/schemas.ts ListProblem). */
export interface ListProblem {
  kind: 'corrupt-record';
  ref: string;
  oid: string;
  objectMissing: boolean;
  reason: string;
  message: string;
}

/** True when `lease` passes `--state`. */
function wanted(l: LeaseView, state: ListArgs['state']): boolean {
  switch (state) {
    case undefined:
      return true;
    case 'stale':
      return l.stale !== null;
    case 'live':
      return l.state === 'open' && l.stale === null;
    default:
      return l.state === state;
  }
}

/**
 * `git coord list`: the leases sorted by key with their liveness (a table, or `{leases, problems}`
 * with `--json`), a warning on stderr for each corrupt record (never silently dropped: `problems`).
 * Never writes. Streamed: one record is read, judged and (with `--json`) printed at a time, so
 * 10,000 leases take a few MiB, not the whole set.
 */
export async function handle(argv: ListArgs): Promise<void> {
  const c = context();
  const now = c.now().getTime();
  const json = argv.json ? jsonListPrinter('leases') : null;
  const rows: LeaseRow[] = [];
  const problems: ListProblem[] = [];
  for await (const e of iterateLeases(c.repo)) {
    if (isCorrupt(e)) {
      warn(`${e.error.message} (skipped)`);
      problems.push({
        kind: 'corrupt-record',
        ref: e.ref,
        oid: e.oid,
        objectMissing: e.error.objectMissing,
        reason: e.error.reason,
        message: e.error.message,
      });
      continue;
    }
    const view: LeaseView = { ...e.record, stale: staleOf(c, e.record, now) };
    if (!wanted(view, argv.state)) continue;
    if (json) json.item(view);
    else rows.push(leaseRow(view));
  }
  const tail = withMirror(c, { problems }, argv.json); // team mode: the mirror's age
  if (json) json.end(tail);
  else writeOut(`${leaseTable(rows, Date.now())}\n`);
}
