import { auditUpdate } from '../records/audit.js';
import { optimistic } from '../records/optimistic.js';
import type { AuditEvent } from '../records/schemas.js';
import type { RefUpdate } from '../refs/store.js';
import type { LeaseContext } from './context.js';
import { withWriteLock } from './write-lock.js';

/**
 * One ref change of a lease write: `oid` is the new value (`null` deletes), `expect` the value the
 * ref must hold now (`null` = must not exist). A write with both `null` is a no-op and skipped.
 */
export interface RefWrite {
  ref: string;
  oid: string | null;
  expect: string | null;
  /**
   * A fence: a ref of this repository (the lease's branch, `refs/heads/<b>`) verified at `expect`
   * under its lock in the same transaction, never sent to a remote. git holds that lock from
   * `prepared` to `committed` of every branch update, so a write that changes who may update the
   * branch and a branch update judged by the reference-transaction hook never interleave.
   */
  local?: boolean;
}

/** What a write is, for the reflog message `coord: <verb> <key> by <holder> token <n>`. */
export interface WriteIntent {
  verb: string;
  key: string;
  /** Holder id of the actor; also the reflog identity. */
  by: string;
  token: number | null;
  /** An audit event to create in the same transaction. */
  audit?: Omit<AuditEvent, 'schema'>;
}

/**
 * The single point where lease writes reach storage: one all-or-nothing compare-and-swap of `writes`
 * (and the audit event) through `ctx.store`: a local ref transaction, or in team mode one
 * `git push --atomic --force-with-lease=<ref>:<expect>` (DESIGN §7, §10).
 *
 * @returns the audit event's ref, if any.
 * @throws CasMismatchError / LockTimeoutError (retried by {@link transact}), RefNameConflictError, and
 *   the remote backend's errors.
 */
export async function commitWrites(
  ctx: LeaseContext,
  writes: readonly RefWrite[],
  intent: WriteIntent,
): Promise<string | null> {
  const message = `coord: ${intent.verb} ${intent.key} by ${intent.by} token ${intent.token ?? '-'}`;
  const updates: RefUpdate[] = writes
    .filter((w) => w.oid !== null || w.expect !== null)
    .map((w) => ({ ...w, message }));
  const audit = intent.audit ? auditUpdate(ctx.repo, intent.audit) : null;
  if (audit) updates.push(audit);
  await ctx.store.commit(updates, { name: intent.by, email: intent.by });
  return audit?.ref ?? null;
}

/**
 * Runs one read-decide-write round `attempt` until it commits: the store is refreshed before each
 * round (team mode: the remote's records are fetched unless this process is already current), so no
 * decision is taken on a mirror older than the command; a lost compare-and-swap re-reads and
 * re-decides, within the store's retry policy. With `key`, the rounds run under the lease's write lock
 * ({@link withWriteLock}): writers of one lease on this clone take turns instead of racing.
 *
 * @throws CasLostError (exit 3) when the budget runs out; whatever `attempt` throws otherwise.
 */
export function transact<T>(ctx: LeaseContext, attempt: (n: number) => Promise<T>, key?: string): Promise<T> {
  const rounds = () =>
    optimistic(
      async (n) => {
        await ctx.store.refresh();
        return attempt(n);
      },
      { budgetMs: ctx.store.retry.budgetMs, maxBackoffMs: ctx.store.retry.maxBackoffMs },
    );
  return key === undefined ? rounds() : withWriteLock(ctx.repo, key, ctx.host, rounds);
}
