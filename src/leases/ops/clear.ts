import { type Lease, LeaseType } from '../../records/schemas.js';
import { CorruptRecordError, type StoredRecord, writeRecord } from '../../records/store.js';
import { assertKey } from '../../refs/names.js';
import type { LeaseContext } from '../context.js';
import { describeHolder, LeaseNotFoundError, LeaseStateError } from '../errors.js';
import { closeLease, leaseRef, tombstoneLease } from '../model.js';
import { readLease } from '../state.js';
import { commitWrites, transact } from '../write.js';
import { auditEvent, highestToken, indexWrites, stamp } from './write-lease.js';

/** Options of {@link clear}. */
export interface ClearOptions {
  key: string;
  /** Holder id of the caller. */
  by: string;
  /** Needed for an open lease (and for a corrupt record). */
  force?: boolean;
}

/** What {@link clear} did. */
export interface ClearResult {
  /** The lease as it was, or `null` when the record was corrupt. */
  lease: Lease | null;
  /** The tombstone now at the lease's ref: closed, outcome `cleared`, its token kept. */
  tombstone: Lease;
  /** Index refs deleted. */
  deleted: string[];
  /** The audit event's ref. */
  audit: string | null;
}

/**
 * Clears the lease: its record becomes a tombstone (closed, outcome `cleared`, token kept, so no
 * clone can bring the old record back and the next claim's token is higher) and its index entries
 * are deleted, in one transaction with a `clear` audit event. An open lease needs `force`
 * (LeaseStateError, exit 3, nothing changed); a lease already cleared is LeaseNotFoundError.
 * A corrupt record needs `force` and becomes a tombstone holding the highest token its reflog knows.
 * Worktrees and branches stay.
 */
export async function clear(ctx: LeaseContext, opts: ClearOptions): Promise<ClearResult> {
  assertKey(opts.key);
  return transact(
    ctx,
    async () => {
      const ref = leaseRef(opts.key);
      let cur: StoredRecord<Lease> | null;
      try {
        cur = await readLease(ctx.repo, opts.key);
      } catch (err) {
        if (!(err instanceof CorruptRecordError) || !opts.force) throw err;
        return clearCorrupt(ctx, opts, err);
      }
      if (!cur || cur.record.outcome === 'cleared') throw new LeaseNotFoundError(opts.key);
      const lease = cur.record;
      if (lease.state === 'open' && !opts.force) {
        throw new LeaseStateError(
          'lease-open',
          `lease ${lease.key} is open (held by ${describeHolder(lease)}, token ${lease.token}); nothing was cleared. ` +
            `Release it first, or delete it anyway with \`git coord clear ${lease.key} --force\`.`,
        );
      }
      const tombstone = await stamp(ctx, closeLease(lease, 'cleared', ctx.now()));
      const writes = await indexWrites(ctx, lease.key, lease, tombstone);
      writes.unshift({ ref, oid: writeRecord(ctx.repo, LeaseType, tombstone), expect: cur.oid });
      const audit = await commitWrites(ctx, writes, {
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
      return { lease, tombstone, deleted: writes.filter((w) => w.oid === null).map((w) => w.ref), audit };
    },
    opts.key,
  );
}

async function clearCorrupt(
  ctx: LeaseContext,
  opts: ClearOptions,
  err: CorruptRecordError,
): Promise<ClearResult> {
  const holder = { id: opts.by, host: ctx.host, pid: null, pidStart: null, user: null };
  const tombstone = await stamp(
    ctx,
    tombstoneLease(
      opts.key,
      await highestToken(ctx.repo, err.ref),
      holder,
      ctx.now(),
      `tombstone of a corrupt record (${err.oid}): ${err.reason}`,
    ),
  );
  const oid = writeRecord(ctx.repo, LeaseType, tombstone);
  const audit = await commitWrites(ctx, [{ ref: err.ref, oid, expect: err.oid }], {
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
  return { lease: null, tombstone, deleted: [], audit };
}
