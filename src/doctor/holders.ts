import { CoordError } from '../errors.js';
import { type LeaseContext, staleOf } from '../leases/context.js';
import { describeStale } from '../leases/liveness.js';
import { leaseRef } from '../leases/model.js';
import { crash } from '../leases/ops/index.js';
import type { Lease } from '../records/schemas.js';

/** One `dead-holder` problem (the shape of a doctor problem). */
export interface HolderProblem {
  kind: 'dead-holder';
  ref: string;
  message: string;
  fixed: boolean;
}

/** What {@link deadHolders} needs of a lease whose holder is gone: its key, the pid and what was found. */
export interface DeadHolder {
  key: string;
  pid: number;
  /** `lease <key> (holder <id>, pid <pid>) is open but <why it is stale>`. */
  finding: string;
}

/**
 * The lease as a {@link DeadHolder} when it is open, its holder is on this host and that process is
 * gone or its pid now belongs to another process (`staleness` of src/leases: `holder-dead` /
 * `pid-reused`), else `null`. An expired lease with a live or unknown holder process is not a dead
 * holder: it is left to `takeover`.
 *
 * @param now the clock the staleness is judged at, ms since the epoch.
 */
export function deadHolderOf(ctx: LeaseContext, lease: Lease, now: number): DeadHolder | null {
  const { pid, host, id } = lease.holder;
  if (lease.state !== 'open' || pid === null || host !== ctx.host) return null;
  const reason = staleOf(ctx, lease, now);
  if (reason !== 'holder-dead' && reason !== 'pid-reused') return null;
  return {
    key: lease.key,
    pid,
    finding: `lease ${lease.key} (holder ${id}, pid ${pid}) is open but ${describeStale(lease, reason, ctx.config.skewSeconds, now)}`,
  };
}

/**
 * The `dead-holder` problems of `found` ({@link deadHolderOf}), in its order.
 *
 * With `fix`, each one is marked `crashed` through the leases API (`crash`, the same CAS transaction
 * and audit event as `git coord crash`), with the reason `doctor: holder pid N is gone`. `crash`
 * re-reads the lease under its CAS: a lease renewed, closed or taken over meanwhile is not touched
 * and stays reported as not fixed.
 */
export async function deadHolders(
  ctx: LeaseContext,
  found: readonly DeadHolder[],
  fix: boolean,
  actorId: string,
): Promise<HolderProblem[]> {
  const out: HolderProblem[] = [];
  for (const { key, pid, finding } of found) {
    const problem: HolderProblem = {
      kind: 'dead-holder',
      ref: leaseRef(key),
      message: finding,
      fixed: false,
    };
    if (fix) {
      try {
        const next = await crash(ctx, { key, by: actorId, reason: `doctor: holder pid ${pid} is gone` });
        problem.fixed = true;
        problem.message += `: marked crashed (token ${next.token}); \`git coord takeover ${key}\` or \`git coord claim ${key}\` continues the work`;
      } catch (err) {
        if (!(err instanceof CoordError)) throw err;
        problem.message += `; not marked crashed: ${err.message}`;
      }
    } else {
      problem.message += `; \`git coord doctor --fix\` marks it crashed (or take it over: \`git coord takeover ${key}\`)`;
    }
    out.push(problem);
  }
  return out;
}
