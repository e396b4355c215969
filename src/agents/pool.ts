import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '../errors.js';
import type { LeaseContext } from '../leases/context.js';
import { BranchHeldError, LeaseHeldError, LeaseStaleError, WorktreeHeldError } from '../leases/errors.js';
import { claim } from '../leases/ops/claim.js';
import { release } from '../leases/ops/release.js';
import { renew } from '../leases/ops/renew.js';
import type { Holder } from '../records/schemas.js';
import { assertKey } from '../refs/names.js';

/**
 * Pools (`--pool NAME:N`, DESIGN §9): a concurrency limit that holds across processes (and, in team
 * mode, machines) because it is made of N ordinary slot leases `pool.<NAME>.1` … `pool.<NAME>.<N>`, no
 * worktree, no branch. A runner holds one slot while its command runs, with its own pid as
 * `holder.pid`, so a runner killed with SIGKILL frees its slot at once (holder dead → taken over).
 */

/** A parsed `--pool NAME:N`. */
export interface PoolSpec {
  name: string;
  size: number;
}

/** A slot held by this process. */
export interface Slot {
  key: string;
  holder: string;
  token: number;
}

/**
 * Parses `NAME:N` (N from 1 to 1000; `pool.NAME.N` must be a valid lease key).
 *
 * @throws UsageError (exit 2) otherwise.
 */
export function parsePool(spec: string): PoolSpec {
  const m = /^([A-Za-z0-9][A-Za-z0-9_-]{0,60}):([0-9]{1,4})$/.exec(spec);
  const size = m ? Number(m[2]) : 0;
  if (!m || size < 1 || size > 1000) {
    throw new UsageError(
      `--pool ${JSON.stringify(spec)}: expected NAME:N, e.g. agents:2 (NAME: letters, digits, "-", "_"; N from 1 to 1000)`,
      'invalid-pool',
    );
  }
  assertKey(slotKey(m[1]!, size));
  return { name: m[1]!, size };
}

/** `pool.<name>.<i>`. */
export function slotKey(name: string, i: number): string {
  return `pool.${name}.${i}`;
}

/**
 * The holder id of a slot: the runner's id plus its pid, so two runners of one holder never "re-enter"
 * each other's slot.
 */
function slotHolder(holder: Holder): Holder {
  return { ...holder, id: `${holder.id}/pid-${holder.pid ?? process.pid}`.slice(0, 200) };
}

const BUSY = [LeaseHeldError, LeaseStaleError, BranchHeldError, WorktreeHeldError];

/**
 * Takes a free slot of `pool`: tries `pool.NAME.1..N` in turn (a stale or crashed slot is taken over,
 * a live one skipped) and, when all are busy, waits and tries again until one frees or `stopped()`.
 *
 * @returns the slot, or `null` when stopped while waiting.
 */
export async function acquireSlot(
  ctx: LeaseContext,
  pool: PoolSpec,
  holder: Holder,
  opts: { ttlSeconds: number; forKey: string; stopped: () => boolean; onWait?: () => void },
): Promise<Slot | null> {
  const me = slotHolder(holder);
  let waited = false;
  for (;;) {
    for (let i = 1; i <= pool.size; i++) {
      if (opts.stopped()) return null;
      const key = slotKey(pool.name, i);
      try {
        const r = await claim(ctx, {
          key,
          holder: me,
          worktree: false,
          ttlSeconds: opts.ttlSeconds,
          takeover: true,
          note: `pool ${pool.name} slot for ${opts.forKey}`,
          reason: `pool ${pool.name}: the slot's runner is gone`,
        });
        return { key, holder: me.id, token: r.lease.token };
      } catch (err) {
        if (!BUSY.some((E) => err instanceof E)) throw err;
      }
    }
    if (!waited) opts.onWait?.();
    waited = true;
    // All busy: poll with jitter (a slot frees when its run ends or its runner dies).
    await sleep(150 + Math.floor(Math.random() * 200));
  }
}

/** Heartbeat of a slot (with its token). */
export async function renewSlot(ctx: LeaseContext, slot: Slot): Promise<void> {
  await renew(ctx, { key: slot.key, holder: slot.holder, token: slot.token });
}

/** Gives the slot back (closed `released`). */
export async function releaseSlot(ctx: LeaseContext, slot: Slot): Promise<void> {
  await release(ctx, { key: slot.key, holder: slot.holder, token: slot.token });
}
