import { optimistic } from '../../records/optimistic.js';
import type { Lease } from '../../records/schemas.js';
import { CorruptRecordError, type StoredRecord } from '../../records/store.js';
import { assertKey } from '../../refs/names.js';
import type { LeaseContext } from '../context.js';
import { describeHolder, LeaseNotFoundError, LeaseStateError } from '../errors.js';
import { leaseRef } from '../model.js';
import { readLease } from '../state.js';
import { commitWrites } from '../write.js';
import { auditEvent, indexWrites } from './write-lease.js';

/** Options of {@link clear}. */
export interface ClearOptions {
  key: string;
  /** Holder id of the caller. */
  by: string;
  /** Needed for an open lease (and for a corrupt record). */
  force?: boolean;
}

/** What {@link clear} deleted. */
export interface ClearResult {
  /** The lease as it was, or `null` when the record was corrupt. */
  lease: Lease | null;
  /** Refs deleted. */
  deleted: string[];
  /** The audit event's ref. */
  audit: string | null;
}

/**
 * Deletes the lease and its index entries in one transaction, with a `clear` audit event. An open
 * lease needs `force` (LeaseStateError, exit 3, nothing changed). Worktrees and branches stay.
 */
export async function clear(ctx: LeaseContext, opts: ClearOptions): Promise<ClearResult> {
  assertKey(opts.key);
  return optimistic(async () => {
    const ref = leaseRef(opts.key);
    let cur: StoredRecord<Lease> | null;
    try {
      cur = await readLease(ctx.repo, opts.key);
    } catch (err) {
      if (!(err instanceof CorruptRecordError) || !opts.force) throw err;
      return clearCorrupt(ctx, opts, err);
    }
    if (!cur) throw new LeaseNotFoundError(opts.key);
    const lease = cur.record;
    if (lease.state === 'open' && !opts.force) {
      throw new LeaseStateError(
        'lease-open',
        `lease ${lease.key} is open (held by ${describeHolder(lease)}, token ${lease.token}); nothing was cleared. ` +
          `Release it first, or delete it anyway with \`git coord clear ${lease.key} --force\`.`,
      );
    }
    const writes = await indexWrites(ctx, lease.key, lease, null);
    writes.unshift({ ref, oid: null, expect: cur.oid });
    const audit = commitWrites(ctx.repo, writes, {
      verb: 'clear',
      key: lease.key,
      by: opts.by,
      token: lease.token,
      audit: auditEvent(ctx, 'clear', lease, opts.by, {
        reason: lease.state === 'open' ? 'forced clear of an open lease' : `cleared a ${lease.state} lease`,
        previousHolder: lease.holder.id,
        token: lease.token,
      }),
    });
    return { lease, deleted: writes.filter((w) => w.oid === null).map((w) => w.ref), audit };
  });
}

async function clearCorrupt(
  ctx: LeaseContext,
  opts: ClearOptions,
  err: CorruptRecordError,
): Promise<ClearResult> {
  const audit = commitWrites(ctx.repo, [{ ref: err.ref, oid: null, expect: err.oid }], {
    verb: 'clear',
    key: opts.key,
    by: opts.by,
    token: null,
    audit: {
      action: 'clear',
      key: opts.key,
      ref: err.ref,
      at: ctx.now().toISOString(),
      by: { id: opts.by, host: ctx.host },
      reason: `forced clear of a corrupt record: ${err.reason}`.slice(0, 4096),
      previousHolder: null,
      token: null,
      commit: null,
      missing: [],
    },
  });
  return { lease: null, deleted: [err.ref], audit };
}
