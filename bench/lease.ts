import { hostname } from 'node:os';
import { acquireLease } from '../src/leases/model.js';
import type { Lease } from '../src/records/schemas.js';

/**
 * An open lease on `key` as `git coord claim <key> --no-worktree` writes it (src/leases `acquireLease`
 * from nothing): holder `holderId` on this host, no pid, TTL 900 s, acquired at `now`.
 */
export function benchLease(key: string, now: Date, holderId = `agent-${key}`): Lease {
  return acquireLease(null, {
    key,
    holder: { id: holderId, host: hostname(), pid: null, pidStart: null, user: null },
    branch: null,
    baseRef: null,
    worktree: null,
    ttlSeconds: 900,
    note: null,
    now,
  });
}
