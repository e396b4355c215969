import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import {
  claim,
  crash,
  done,
  type LeaseContext,
  LeaseHeldError,
  LeaseLostError,
  LeaseStaleError,
  LeaseStateError,
  listLeases,
  openContext,
  type ProcessProbe,
  readLease,
  release,
  renew,
  takeover,
} from '../../src/leases/index.js';
import type { Holder } from '../../src/records/schemas.js';
import { cleanup, makeRepo, sh } from '../fixtures/repo.js';

afterAll(cleanup);

const holder = (id: string, pid: number | null = null, pidStart: number | null = null): Holder => ({
  id,
  host: 'test-host',
  pid,
  pidStart,
  user: null,
});

/** A context with an injectable clock and process probe. */
function ctxFor(dir: string, clock: { t: number }, probe?: ProcessProbe): LeaseContext {
  const c = openContext(dir, {
    config: parseConfig('{"leases": {"ttl": "1m", "skew": "0s"}}', null),
    now: () => new Date(clock.t),
    probe,
  });
  return { ...c, host: 'test-host' };
}

describe('lease operations (in-process, real git)', () => {
  it('expiry by the injected clock; takeover; the old holder loses renew/release/done', async () => {
    const dir = makeRepo();
    const clock = { t: Date.parse('2026-01-01T00:00:00Z') };
    const ctx = ctxFor(dir, clock);
    const a = await claim(ctx, { key: 'k', holder: holder('a'), worktree: false });
    expect(a).toMatchObject({ action: 'acquired', lease: { token: 1 } });
    await expect(claim(ctx, { key: 'k', holder: holder('b'), worktree: false })).rejects.toBeInstanceOf(
      LeaseHeldError,
    );
    await expect(takeover(ctx, { key: 'k', holder: holder('b') })).rejects.toBeInstanceOf(LeaseStateError);
    clock.t += 60_001;
    await expect(claim(ctx, { key: 'k', holder: holder('b'), worktree: false })).rejects.toBeInstanceOf(
      LeaseStaleError,
    );
    const b = await claim(ctx, { key: 'k', holder: holder('b'), worktree: false, takeover: true });
    expect(b).toMatchObject({ action: 'took-over', lease: { token: 2, transitions: 1 } });
    await expect(renew(ctx, { key: 'k', holder: 'a' })).rejects.toBeInstanceOf(LeaseLostError);
    await expect(release(ctx, { key: 'k', holder: 'a' })).rejects.toBeInstanceOf(LeaseLostError);
    await expect(done(ctx, { key: 'k', holder: 'a' })).rejects.toBeInstanceOf(LeaseLostError);
    await expect(renew(ctx, { key: 'k', holder: 'b', token: 1 })).rejects.toThrow(/token is now 2/);
    const closed = await done(ctx, {
      key: 'k',
      holder: 'b',
      gate: {
        result: 'overridden',
        missing: ['k-PLAN.md'],
        reason: 'by hand',
        by: 'b',
        at: new Date(clock.t).toISOString(),
        commit: null,
      },
    });
    expect(closed).toMatchObject({ state: 'closed', outcome: 'done', gate: { result: 'overridden' } });
    const actions = sh(dir, 'for-each-ref', '--format=%(refname)', 'refs/coord/audit/')
      .split('\n')
      .map((r) => JSON.parse(sh(dir, 'show', r)).action)
      .sort();
    expect(actions).toEqual(['override', 'takeover']);
    // A closed lease is never renewed back to life.
    await expect(renew(ctx, { key: 'k', holder: 'b' })).rejects.toBeInstanceOf(LeaseStateError);
  });

  it('pid reuse through an injected start-time resolver; crash by a non-holder only when stale', async () => {
    const dir = makeRepo();
    const clock = { t: Date.now() };
    let start = 500;
    const probe: ProcessProbe = { alive: () => true, startTime: () => start };
    const ctx = ctxFor(dir, clock, probe);
    await claim(ctx, { key: 'k', holder: holder('a', 77, 500), worktree: false });
    await expect(crash(ctx, { key: 'k', by: 'b', reason: 'x' })).rejects.toBeInstanceOf(LeaseHeldError);
    start = 501;
    const { leases } = await listLeases(ctx.repo);
    expect(leases).toHaveLength(1);
    const crashed = await crash(ctx, { key: 'k', by: 'b', reason: 'pid 77 now runs something else' });
    expect(crashed).toMatchObject({ state: 'crashed', crashReason: 'pid 77 now runs something else' });
    // Its own holder may claim a crashed lease again: a new tenure.
    const again = await claim(ctx, { key: 'k', holder: holder('a'), worktree: false });
    expect(again).toMatchObject({ action: 'acquired', lease: { token: 2, transitions: 0, state: 'open' } });
    expect((await readLease(ctx.repo, 'k'))!.record.crashedAt).toBeNull();
  });
});
