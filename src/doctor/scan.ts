import type { LeaseContext } from '../leases/context.js';
import { iterateLeases } from '../leases/state.js';
import { type CorruptEntry, isCorrupt } from '../records/store.js';
import { type DeadHolder, deadHolderOf } from './holders.js';
import { IndexClaims } from './indexes.js';
import { WorktreeClaims } from './worktrees.js';

/**
 * What doctor's lease cross-checks need of the leases, gathered in one pass over them: a few fields
 * of the leases that concern a check, never the decoded records (10,000 leases: a few KiB instead of
 * ~6 MiB of records held until the last check).
 */
export interface LeaseFacts {
  /** Lease refs that failed to decode, in refname order. */
  corrupt: CorruptEntry[];
  /** Open leases of this host whose holder process is gone, in refname order. */
  deadHolders: DeadHolder[];
  /** The branch and worktree index entries the leases imply. */
  indexes: IndexClaims;
  /** The leases of this host naming a worktree. */
  worktrees: WorktreeClaims;
}

/**
 * Reads every lease of `ctx.repo` once, one at a time ({@link iterateLeases}: one `git for-each-ref`
 * for many), and keeps its {@link LeaseFacts}. Holder liveness is judged at `ctx.now()` as read when
 * the pass starts.
 *
 * @throws whatever reading the refs throws (a corrupt record is a fact, not an error).
 */
export async function scanLeases(ctx: LeaseContext): Promise<LeaseFacts> {
  const facts: LeaseFacts = {
    corrupt: [],
    deadHolders: [],
    indexes: new IndexClaims(),
    worktrees: new WorktreeClaims(ctx.host),
  };
  const now = ctx.now().getTime();
  for await (const e of iterateLeases(ctx.repo)) {
    if (isCorrupt(e)) {
      facts.corrupt.push(e);
      facts.indexes.addCorrupt(e.ref);
      continue;
    }
    const dead = deadHolderOf(ctx, e.record, now);
    if (dead) facts.deadHolders.push(dead);
    facts.indexes.add(e.record);
    facts.worktrees.add(e.record);
  }
  return facts;
}
