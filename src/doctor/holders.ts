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

/**
 * Open leases whose holder is on this host and whose process is gone or whose pid now belongs to
 * another process (`staleness` of src/leases: `holder-dead` / `pid-reused`). An expired lease with a
 * live or unknown holder process is not a dead holder: it is left to `takeover`.
 *
 * With `fix`, each one is marked `crashed` through the leases API (`crash`, the same CAS transaction
 * and audit event as `git coord crash`), with the reason `doctor: holder pid N is gone`. `crash`
 * re-reads the lease under its CAS: a lease renewed, closed or taken over meanwhile is not touched
 * and stays reported as not fixed.
 */
export async function deadHolders(
  ctx: LeaseContext,
  leases: readonly Lease[],
  fix: boolean,
  actorId: string,
): Promise<HolderProblem[]> {
  const out: HolderProblem[] = [];
  const now = ctx.now().getTime();
  for (const lease of leases) {
    const { pid, host, id } = lease.holder;
    if (lease.state !== 'open' || pid === null || host !== ctx.host) continue;
    const reason = staleOf(ctx, lease, now);
    if (reason !== 'holder-dead' && reason !== 'pid-reused') continue;
    const problem: HolderProblem = {
      kind: 'dead-holder',
      ref: leaseRef(lease.key),
      message: `lease ${lease.key} (holder ${id}, pid ${pid}) is open but ${describeStale(lease, reason, ctx.config.skewSeconds, now)}`,
      fixed: false,
    };
    if (fix) {
      try {
        const next = await crash(ctx, {
          key: lease.key,
          by: actorId,
          reason: `doctor: holder pid ${pid} is gone`,
        });
        problem.fixed = true;
        problem.message += `: marked crashed (token ${next.token}); \`git coord takeover ${lease.key}\` or \`git coord claim ${lease.key}\` continues the work`;
      } catch (err) {
        if (!(err instanceof CoordError)) throw err;
        problem.message += `; not marked crashed: ${err.message}`;
      }
    } else {
      problem.message += `; \`git coord doctor --fix\` marks it crashed (or take it over: \`git coord takeover ${lease.key}\`)`;
    }
    out.push(problem);
  }
  return out;
}
