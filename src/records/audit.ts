import { randomBytes } from 'node:crypto';
import type { Repo } from '../refs/repo.js';
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
  return `${AUDIT_PREFIX}${iso.slice(0, 10)}/${time}-${randomBytes(3).toString('hex')}`;
}

/**
 * Writes `event` as a blob and queues its creation in `tx`, so the event lands atomically with the
 * change it records. Returns the event's ref.
 */
export function queueAuditEvent(repo: Repo, tx: RefTransaction, event: Omit<AuditEvent, 'schema'>): string {
  const ref = auditRef(new Date(event.at));
  tx.create(
    ref,
    writeRecord(repo, AuditType, { schema: 'coord.audit/v1', ...event }),
    `coord: audit ${event.action}`,
  );
  return ref;
}
