import type { Repo } from '../refs/repo.js';
import { RefTransaction } from '../refs/transaction.js';
import { queueAuditEvent } from './audit.js';

/** Prefix under which invalid records are moved aside; never synced to a remote. */
export const QUARANTINE_PREFIX = 'refs/coord/quarantine/';

/** Who performs a quarantine, for the audit event. */
export interface Actor {
  id: string;
  host: string;
}

/**
 * Moves a record that failed validation aside, in one transaction: creates
 * `refs/coord/quarantine/<path under refs/coord/>/<yyyymmddThhmmss.mmmZ>` at the same object (so the
 * object is kept and reachable), deletes the original ref only if it still points at `oid`, and
 * records an audit event.
 *
 * @returns the quarantine ref.
 * @throws CasMismatchError when the ref changed since it was found invalid (nothing is moved).
 */
export function quarantineRecord(repo: Repo, ref: string, oid: string, reason: string, by: Actor): string {
  const at = new Date();
  const stamp = at.toISOString().replace(/[-:]/g, '');
  const target = `${QUARANTINE_PREFIX}${ref.replace(/^refs\/coord\//, '')}/${stamp}`;
  const tx = new RefTransaction(repo);
  tx.create(target, oid, `coord: quarantine ${ref}`);
  tx.delete(ref, oid, `coord: quarantine ${ref}`);
  queueAuditEvent(repo, tx, {
    action: 'quarantine',
    key: null,
    ref,
    at: at.toISOString(),
    by,
    reason: reason.slice(0, 4096),
    previousHolder: null,
    token: null,
    commit: null,
    missing: [],
  });
  tx.commit({ ident: { name: by.id, email: by.id } });
  return target;
}
