import { quote } from '../display.js';
import type { Repo } from '../refs/repo.js';
import { deleteBrokenRef, RefTransaction } from '../refs/transaction.js';
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
 * object is kept and reachable), deletes the original ref only if it still points at `oid` (or, with
 * `replaceWith`, points it at that object instead: a lease's tombstone, so its token never goes back),
 * and records an audit event.
 *
 * @returns the quarantine ref.
 * @throws CasMismatchError when the ref changed since it was found invalid (nothing is moved).
 */
export function quarantineRecord(
  repo: Repo,
  ref: string,
  oid: string,
  reason: string,
  by: Actor,
  replaceWith?: string,
): string {
  const at = new Date();
  const stamp = at.toISOString().replace(/[-:]/g, '');
  const target = `${QUARANTINE_PREFIX}${ref.replace(/^refs\/coord\//, '')}/${stamp}`;
  const tx = new RefTransaction(repo);
  tx.create(target, oid, `coord: quarantine ${ref}`);
  if (replaceWith) tx.update(ref, replaceWith, oid, `coord: quarantine ${ref} (tombstone)`);
  else tx.delete(ref, oid, `coord: quarantine ${ref}`);
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

function removalEvent(ref: string, by: Actor, reason: string) {
  return {
    action: 'remove' as const,
    key: null,
    ref,
    at: new Date().toISOString(),
    by,
    reason: reason.slice(0, 4096),
    previousHolder: null,
    token: null,
    commit: null,
    missing: [],
  };
}

/**
 * Removes a ref that points at an object missing from the object database (nothing to quarantine:
 * a quarantine ref at a missing object would make `git gc`, `git fsck` and `git for-each-ref` fail).
 * One transaction: the ref is deleted only if it still points at `oid` (its reflog goes with it, as
 * git deletes it), and a `remove` audit event records the ref and the oid.
 *
 * @throws CasMismatchError when the ref changed meanwhile (nothing is removed).
 */
export function removeMissingObjectRef(repo: Repo, ref: string, oid: string, by: Actor): void {
  const tx = new RefTransaction(repo);
  tx.delete(ref, oid, `coord: remove ${ref} (object missing)`);
  queueAuditEvent(
    repo,
    tx,
    removalEvent(ref, by, `${ref} pointed at ${oid}, missing from the object database; the ref was removed`),
  );
  tx.commit({ ident: { name: by.id, email: by.id } });
}

/**
 * Removes a loose ref file under `refs/coord/` that holds no object id (`content` as found): first a
 * `remove` audit event quoting the content, then the file itself, only if it still holds `content`
 * (src/refs/transaction.ts {@link deleteBrokenRef}).
 *
 * @returns false when the file changed meanwhile (left alone; the audit event says what was found).
 */
export function removeBrokenRef(repo: Repo, ref: string, content: string, by: Actor): boolean {
  const tx = new RefTransaction(repo);
  queueAuditEvent(
    repo,
    tx,
    removalEvent(
      ref,
      by,
      `the loose ref file of ${ref} held ${quote(content, 200)}, not an object id; removed`,
    ),
  );
  tx.commit({ ident: { name: by.id, email: by.id } });
  return deleteBrokenRef(repo, ref, content);
}
