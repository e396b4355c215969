import type { Lease } from '../../src/records/schemas.js';

/** A valid lease record with every field set, for tests. */
export function sampleLease(overrides: Partial<Lease> = {}): Lease {
  return {
    schema: 'coord.lease/v1',
    key: '65',
    state: 'open',
    outcome: null,
    holder: { id: 'agent-7@example.com', host: 'build-1', pid: 4242, pidStart: 123456, user: 'agent' },
    token: 1,
    revision: 1,
    branch: 'coord/65',
    baseRef: '0123456789abcdef0123456789abcdef01234567',
    worktree: { id: 'wt-65-0a1b2c3d', path: '/work/repo/.coord/worktrees/65', host: 'build-1' },
    ttlSeconds: 900,
    acquiredAt: '2026-11-21T09:55:39.123Z',
    renewedAt: '2026-11-21T10:00:00.000Z',
    transitions: 0,
    closedAt: null,
    crashedAt: null,
    crashReason: null,
    gate: null,
    note: 'phase 65: ünïcode ok',
    attempts: [
      {
        number: 1,
        holder: 'agent-7@example.com',
        token: 1,
        pid: 4242,
        startedAt: '2026-11-21T09:55:40.000Z',
        endedAt: '2026-11-21T09:58:00.000Z',
        exit: 1,
        signal: null,
        result: 'kept',
        reason: 'exit 1; lease kept open (--keep)',
      },
    ],
    ...overrides,
  };
}
