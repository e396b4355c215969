import { queueAuditEvent } from '../records/audit.js';
import type { AuditEvent } from '../records/schemas.js';
import type { Repo } from '../refs/repo.js';
import { RefTransaction } from '../refs/transaction.js';

/**
 * One ref change of a lease write: `oid` is the new value (`null` deletes), `expect` the value the
 * ref must hold now (`null` = must not exist). A write with both `null` is a no-op and skipped.
 */
export interface RefWrite {
  ref: string;
  oid: string | null;
  expect: string | null;
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
 * The single point where lease writes reach the ref store: one compare-and-swap transaction over all
 * `writes` (and the audit event), all or nothing. Team mode (DESIGN §7) routes this same list of
 * expected/new oids through `git push --atomic --force-with-lease=<ref>:<expect>`.
 *
 * @returns the audit event's ref, if any.
 * @throws CasMismatchError / LockTimeoutError (retried by `optimistic`), RefNameConflictError.
 */
export function commitWrites(repo: Repo, writes: readonly RefWrite[], intent: WriteIntent): string | null {
  const message = `coord: ${intent.verb} ${intent.key} by ${intent.by} token ${intent.token ?? '-'}`;
  const tx = new RefTransaction(repo);
  for (const w of writes) {
    if (w.oid === w.expect) {
      if (w.oid === null) continue;
      tx.verify(w.ref, w.expect);
    } else if (w.oid === null) tx.delete(w.ref, w.expect ?? undefined, message);
    else if (w.expect === null) tx.create(w.ref, w.oid, message);
    else tx.update(w.ref, w.oid, w.expect, message);
  }
  const auditRef = intent.audit ? queueAuditEvent(repo, tx, intent.audit) : null;
  tx.commit({ ident: { name: intent.by, email: intent.by } });
  return auditRef;
}
