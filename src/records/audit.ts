import type { Repo } from '../refs/repo.js';
import type { RefUpdate } from '../refs/store.js';
import type { RefTransaction } from '../refs/transaction.js';
import { type AuditEvent, AuditType } from './schemas.js';
import { writeRecord } from './store.js';

/** Prefix of audit event refs. */
export const AUDIT_PREFIX = 'refs/coord/audit/';

/**
 * The ref of a new audit event: `refs/coord/audit/<yyyy-mm-dd>/<hhmmss.mmm>Z-<6 hex>` (UTC), unique
 * per event and sorted by time within a day.
 */
export function auditRef(at: Date): string {
  const iso = at.toISOString(); // 2026-11-21T09:55:39.123Z
  const time = `${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 23)}Z`;
  return `${AUDIT_PREFIX}${iso.slice(0, 10)}/${time}-${process.getBuiltinModule('node:crypto').randomBytes(3).toString('hex')}`;
}

/**
 * Writes `event` as a blob and returns the creation of its ref (`expect: null`: a fresh, randomly
 * named ref), to be committed in the same transaction as the change it records.
 */
export function auditUpdate(repo: Repo, event: Omit<AuditEvent, 'schema'>): RefUpdate {
  return {
    ref: auditRef(new Date(event.at)),
    oid: writeRecord(repo, AuditType, { schema: 'coord.audit/v1', ...event }),
    expect: null,
    message: `coord: audit ${event.action}`,
  };
}

/** Queues {@link auditUpdate} in `tx`. Returns the event's ref. */
export function queueAuditEvent(repo: Repo, tx: RefTransaction, event: Omit<AuditEvent, 'schema'>): string {
  const u = auditUpdate(repo, event);
  tx.create(u.ref, u.oid!, u.message);
  return u.ref;
}
