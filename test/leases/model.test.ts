import { describe, expect, it } from 'vitest';
import {
  acquireLease,
  attemptCount,
  beginAttempt,
  branchIndexFor,
  closeLease,
  crashLease,
  expiresAt,
  finishAttempt,
  formatAge,
  type ProcessProbe,
  readPidStart,
  renewLease,
  runningAttempt,
  staleness,
  takeOverLease,
  worktreeRecordFor,
} from '../../src/leases/index.js';
import type { Holder } from '../../src/records/schemas.js';
import { ATTEMPTS_KEPT, LeaseType } from '../../src/records/schemas.js';

const A: Holder = { id: 'agent-a', host: 'h1', pid: 4242, pidStart: 1000, user: null };
const B: Holder = { id: 'agent-b', host: 'h1', pid: null, pidStart: null, user: null };
const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function first() {
  return acquireLease(null, {
    key: '65',
    holder: A,
    branch: 'coord/65',
    baseRef: null,
    worktree: { id: '65-abcdef01', path: '/r/.coord/worktrees/65', host: 'h1' },
    ttlSeconds: 60,
    note: null,
    now: T0,
  });
}

describe('lease transitions (pure)', () => {
  it('token +1 per acquisition, transitions +1 per holder change, revision +1 per write', () => {
    const l1 = first();
    expect(l1).toMatchObject({
      state: 'open',
      token: 1,
      revision: 1,
      transitions: 0,
      acquiredAt: T0.toISOString(),
    });
    expect(LeaseType.schema.safeParse(l1).success).toBe(true);
    const l2 = renewLease(l1, at(10));
    expect(l2).toMatchObject({ token: 1, revision: 2, transitions: 0, renewedAt: at(10).toISOString() });
    const l3 = takeOverLease(l2, B, at(100));
    expect(l3).toMatchObject({ token: 2, revision: 3, transitions: 1, holder: B, branch: 'coord/65' });
    const l4 = closeLease(l3, 'released', at(110));
    expect(l4).toMatchObject({ state: 'closed', outcome: 'released', token: 2, revision: 4 });
    expect(branchIndexFor(l4)).toBeNull();
    expect(worktreeRecordFor(l4)).toBeNull();
    // Re-claim by the same holder after close: a new tenure (token +1), no holder change.
    const l5 = acquireLease(l4, { ...l4, holder: B, note: null, now: at(120) });
    expect(l5).toMatchObject({
      state: 'open',
      token: 3,
      revision: 5,
      transitions: 1,
      closedAt: null,
      outcome: null,
    });
    const l6 = crashLease(l5, 'gone', at(130));
    expect(l6).toMatchObject({ state: 'crashed', crashReason: 'gone', revision: 6, token: 3 });
    expect(branchIndexFor(l6)).toMatchObject({ key: '65', holder: 'agent-b', token: 3 });
    for (const l of [l2, l3, l4, l5, l6]) expect(LeaseType.schema.safeParse(l).success).toBe(true);
  });
});

describe('attempts (pure)', () => {
  const end = { result: 'failed' as const, exit: 1, signal: null, reason: 'exit 1' };

  it('numbers keep counting while only the last ATTEMPTS_KEPT are kept; every list validates', () => {
    let l = first();
    for (let i = 1; i <= ATTEMPTS_KEPT + 3; i++) {
      l = { ...l, attempts: beginAttempt(l, 4242, at(i)) };
      expect(runningAttempt(l)?.number).toBe(i);
      l = { ...l, attempts: finishAttempt(l.attempts, end, at(i + 0.5)) };
      expect(runningAttempt(l)).toBeNull();
      expect(LeaseType.schema.safeParse(l).success).toBe(true);
    }
    expect(l.attempts).toHaveLength(ATTEMPTS_KEPT);
    expect(attemptCount(l)).toBe(ATTEMPTS_KEPT + 3);
    expect(l.attempts![0]!.number).toBe(4);
    expect(l.attempts!.at(-1)).toMatchObject({
      exit: 1,
      result: 'failed',
      endedAt: at(ATTEMPTS_KEPT + 3.5).toISOString(),
    });
  });

  it('a new tenure carries the attempts over and ends a running one lost; crash and close end it too', () => {
    const l = first();
    const running = { ...l, attempts: beginAttempt(l, 4242, at(1)) };
    const taken = takeOverLease(running, B, at(2));
    expect(taken.attempts).toHaveLength(1);
    expect(taken.attempts![0]).toMatchObject({ result: 'lost', exit: null, endedAt: at(2).toISOString() });
    expect(taken.attempts![0]!.reason).toContain('agent-b (token 2)');
    expect(crashLease(running, 'runner gone', at(3)).attempts![0]).toMatchObject({
      result: 'crashed',
      reason: 'runner gone',
    });
    expect(closeLease(running, 'released', at(3)).attempts![0]!.result).toBe('released');
    const reclaimed = acquireLease(crashLease(running, 'x', at(3)), {
      key: '65',
      holder: A,
      branch: null,
      baseRef: null,
      worktree: null,
      ttlSeconds: 60,
      note: null,
      now: at(4),
    });
    expect(attemptCount(reclaimed)).toBe(1);
    // No attempts yet: the field stays absent (records written before it existed are unchanged).
    expect('attempts' in takeOverLease(l, B, at(2))).toBe(false);
  });
});

describe('liveness', () => {
  const probe = (alive: boolean, start: number | null): ProcessProbe => ({
    alive: () => alive,
    startTime: () => start,
  });
  const opts = (now: number, p: ProcessProbe, host = 'h1') => ({ now, skewSeconds: 30, host, probe: p });

  it('expiry = renewedAt + ttl + skew', () => {
    const l = first();
    expect(expiresAt(l, 30)).toBe(T0.getTime() + 90_000);
    expect(staleness(l, opts(at(90).getTime(), probe(true, 1000)))).toBeNull();
    expect(staleness(l, opts(at(90).getTime() + 1, probe(true, 1000)))).toBe('expired');
  });

  it('holder-dead and pid-reused (injected start-time resolver) only for holders on this host', () => {
    const l = first();
    const now = at(1).getTime();
    expect(staleness(l, opts(now, probe(false, null)))).toBe('holder-dead');
    expect(staleness(l, opts(now, probe(true, 1001)))).toBe('pid-reused');
    expect(staleness(l, opts(now, probe(true, 1000)))).toBeNull();
    expect(staleness(l, opts(now, probe(true, null)))).toBeNull();
    expect(staleness(l, opts(now, probe(false, null), 'other-host'))).toBeNull();
    expect(staleness({ ...l, holder: B }, opts(now, probe(false, null)))).toBeNull();
    expect(staleness(closeLease(l, 'done', at(2)), opts(now, probe(false, null)))).toBeNull();
  });

  it('reads the real start time of a process from /proc', () => {
    const mine = readPidStart(process.pid);
    expect(mine).toBeTypeOf('number');
    expect(readPidStart(process.pid)).toBe(mine);
    expect(readPidStart(2 ** 22 + 12345)).toBeNull();
  });

  it('formats ages', () => {
    expect(formatAge(850)).toBe('850ms');
    expect(formatAge(42_000)).toBe('42s');
    expect(formatAge(192_000)).toBe('3m12s');
    expect(formatAge(2 * 3_600_000 + 5 * 60_000)).toBe('2h05m');
    expect(formatAge(-5000)).toBe('-5s');
  });
});
