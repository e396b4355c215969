import { existsSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Lease } from '../../src/records/schemas.js';
import { cleanup, type RunResult, run, sh } from '../fixtures/repo.js';
import { findLocks } from '../refs/helpers.js';
import { cli, expectConsistent, makeCoordRepo, record, refs, runTogether, sleep } from './helpers.js';

/**
 * The write paths other than claim (renew, release, done, takeover, clear) under the project rule:
 * many real processes on the same record (count what survived), and SIGKILL at every fault point.
 */

afterAll(cleanup);

/** Short clock skew, so a `--ttl 1s` lease is stale after a little over a second. */
const CONFIG = { leases: { ttl: '15m', skew: '0s' } };

/** {@link runTogether} with every job in `dir`. */
function together(
  dir: string,
  jobs: Array<{ args: string[]; env?: Record<string, string | undefined> }>,
): Promise<RunResult[]> {
  return runTogether(jobs.map((job) => ({ ...job, cwd: dir })));
}

const as = (holder: string) => ({ COORD_HOLDER: holder });
const codes = (rs: RunResult[]) => rs.map((r) => r.code);
const show = (rs: RunResult[]) =>
  rs.map((r, i) => `#${i} exit ${r.code} ${r.signal ?? ''} ${r.stderr}`).join('\n');

/** `claim` expecting success; returns the lease. */
async function claimAs(dir: string, key: string, holder: string, extra: string[] = []): Promise<Lease> {
  const res = await cli(dir, ['claim', key, '--json', ...extra], as(holder));
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as Lease;
}

/** A repository whose lease `key` (held by `holder`, with worktree) is expired. */
async function staleLease(key: string, holder = 'agent-old'): Promise<{ dir: string; lease: Lease }> {
  const dir = makeCoordRepo(CONFIG);
  const lease = await claimAs(dir, key, holder, ['--ttl', '1s']);
  await sleep(1200);
  return { dir, lease };
}

/** The reflog of a lease, oldest first: old/new oid, the record written, message fields. */
function leaseLog(dir: string, key: string) {
  const path = join(dir, '.git', 'logs', 'refs', 'coord', 'leases', key);
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [head, message = ''] = line.split('\t');
      const [oldOid, newOid] = head!.split(' ');
      const m = /^coord: (\S+) (\S+) by (\S+) token (\S+)$/.exec(message);
      expect(m, `reflog message ${message}`).not.toBeNull();
      const lease = JSON.parse(sh(dir, 'cat-file', 'blob', newOid!)) as Lease;
      return { oldOid, newOid, verb: m![1]!, by: m![3]!, token: Number(m![4]), lease };
    });
}

/** The reflog is one unbroken chain: each entry starts where the last ended, revision +1, token never down. */
function expectMonotonicLog(dir: string, key: string) {
  const log = leaseLog(dir, key);
  for (let i = 1; i < log.length; i++) {
    const [a, b] = [log[i - 1]!, log[i]!];
    expect(b.oldOid, `reflog entry ${i} starts where ${i - 1} ended`).toBe(a.newOid);
    expect(b.lease.revision).toBe(a.lease.revision + 1);
    expect(b.lease.token).toBeGreaterThanOrEqual(a.lease.token);
    expect(b.token).toBe(b.lease.token);
  }
  return log;
}

function auditEvents(
  dir: string,
): Array<{ action: string; key: string; token: number | null; by: { id: string } }> {
  return refs(dir, 'refs/coord/audit/').map((r) => record(dir, r)!) as never;
}

function indexRefs(dir: string): string[] {
  return [...refs(dir, 'refs/coord/branches/'), ...refs(dir, 'refs/coord/worktrees/')];
}

describe('racing writes on one lease (real processes, released together)', () => {
  it('8 takeovers of one expired lease: one wins (token +1, one audit event), seven exit 3', async () => {
    const { dir, lease } = await staleLease('65');
    const holders = Array.from({ length: 8 }, (_, i) => `agent-${i}`);
    const rs = await together(
      dir,
      // A long TTL for the new tenure: on a loaded machine the winner's 1 s lease could expire before
      // a slow loser reads it, and taking that over would be right.
      holders.map((h) => ({ args: ['takeover', '65', '--ttl', '10m', '--json'], env: as(h) })),
    );
    const winners = rs.flatMap((r, i) => (r.code === 0 ? [i] : []));
    expect(winners, show(rs)).toHaveLength(1);
    expect(
      codes(rs)
        .filter((c) => c !== 0)
        .every((c) => c === 3),
      show(rs),
    ).toBe(true);
    const winner = holders[winners[0]!]!;
    for (const r of rs.filter((x) => x.code === 3)) {
      // --json: the error is the JSON document on stdout.
      const err = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
      expect(err.code).toBe('not-stale');
      expect(err.message).toContain(`held by ${winner}`);
    }

    const now = expectConsistent(dir, '65');
    expect(now).toMatchObject({ state: 'open', token: lease.token + 1, transitions: lease.transitions + 1 });
    expect(now.holder.id).toBe(winner);
    expect(JSON.parse(rs[winners[0]!]!.stdout)).toEqual(now);
    const takeovers = auditEvents(dir).filter((e) => e.action === 'takeover' && e.key === '65');
    expect(takeovers).toHaveLength(1);
    expect(takeovers[0]).toMatchObject({ token: now.token, by: { id: winner }, previousHolder: 'agent-old' });
    const log = expectMonotonicLog(dir, '65');
    expect(log.map((e) => e.verb)).toEqual(['claim', 'takeover']);
  });

  it('8 concurrent renews by the holder: all exit 0, revision +8 (no lost update)', async () => {
    const dir = makeCoordRepo(CONFIG);
    const lease = await claimAs(dir, '7', 'agent-a');
    const rs = await together(
      dir,
      Array.from({ length: 8 }, () => ({
        args: ['renew', '7', '--token', String(lease.token)],
        env: as('agent-a'),
      })),
    );
    expect(codes(rs), show(rs)).toEqual(Array(8).fill(0));
    const now = expectConsistent(dir, '7');
    expect(now).toMatchObject({ state: 'open', token: lease.token, revision: lease.revision + 8 });
    const log = expectMonotonicLog(dir, '7');
    expect(log.map((e) => e.verb)).toEqual(['claim', ...Array(8).fill('renew')]);
  });

  it('renews, takeovers and a release interleaved: consistent, token never down, a stale --token renew changes nothing', async () => {
    const { dir, lease } = await staleLease('9', 'agent-a');
    const t = String(lease.token);
    const jobs = [
      ...Array.from({ length: 4 }, () => ({ args: ['renew', '9', '--token', t], env: as('agent-a') })),
      { args: ['takeover', '9'], env: as('agent-b') },
      { args: ['takeover', '9'], env: as('agent-c') },
      { args: ['release', '9'], env: as('agent-a') },
    ];
    const rs = await together(dir, jobs);
    for (const r of rs) expect([0, 3], show(rs)).toContain(r.code);
    const takeoversWon = rs.slice(4, 6).filter((r) => r.code === 0).length;
    expect(takeoversWon, show(rs)).toBeLessThanOrEqual(1);

    const log = expectMonotonicLog(dir, '9');
    // Every exit 0 is one reflog entry (plus the claim), and nothing else was written.
    expect(log).toHaveLength(1 + rs.filter((r) => r.code === 0).length);
    const now = record(dir, 'refs/coord/leases/9')!;
    if (now.state === 'open') expectConsistent(dir, '9');
    else expect(indexRefs(dir)).toEqual([]);
    // After a takeover, no write by agent-a with the old token follows it.
    const tk = log.findIndex((e) => e.verb === 'takeover');
    if (tk >= 0) expect(log.slice(tk + 1).filter((e) => e.by === 'agent-a')).toEqual([]);
    expect(auditEvents(dir).filter((e) => e.action === 'takeover')).toHaveLength(takeoversWon);

    // Make sure the token has moved on, then renew with the old one: exit 3, nothing written.
    if (now.token === lease.token) {
      const bump =
        now.state === 'open'
          ? await cli(dir, ['takeover', '9', '--force', '--reason', 'test'], as('agent-d'))
          : await cli(dir, ['claim', '9', '--no-worktree'], as('agent-d'));
      expect(bump.code, bump.stderr).toBe(0);
    }
    const before = sh(dir, 'rev-parse', 'refs/coord/leases/9');
    const logBefore = leaseLog(dir, '9').length;
    const stale = await cli(dir, ['renew', '9', '--token', t], as('agent-a'));
    expect(stale.code, stale.stderr).toBe(3);
    expect(stale.stderr).toContain('you lost the lease 9');
    expect(sh(dir, 'rev-parse', 'refs/coord/leases/9')).toBe(before);
    expect(leaseLog(dir, '9')).toHaveLength(logBefore);
  });

  it('8 renews and then a release while `git pack-refs --all` runs in a loop: no lost update, index gone', async () => {
    const dir = makeCoordRepo(CONFIG);
    const lease = await claimAs(dir, '8', 'agent-a');
    let packing = true;
    const packer = (async () => {
      let n = 0;
      while (packing) {
        await run('git', ['pack-refs', '--all'], { cwd: dir });
        n++;
      }
      return n;
    })();
    const rs = await together(
      dir,
      Array.from({ length: 8 }, () => ({ args: ['renew', '8'], env: as('agent-a') })),
    );
    const rel = await cli(dir, ['release', '8'], as('agent-a'));
    packing = false;
    expect(await packer).toBeGreaterThan(0);
    expect(codes(rs), show(rs)).toEqual(Array(8).fill(0));
    expect(rel.code, rel.stderr).toBe(0);
    const now = record(dir, 'refs/coord/leases/8')!;
    expect(now).toMatchObject({ state: 'closed', outcome: 'released', revision: lease.revision + 9 });
    expect(indexRefs(dir)).toEqual([]);
    expect(expectMonotonicLog(dir, '8').map((e) => e.verb)).toEqual([
      'claim',
      ...Array(8).fill('renew'),
      'release',
    ]);
  });

  it('8 processes crash the same lease: one exits 0, seven exit 3, one crash audit event', async () => {
    const dir = makeCoordRepo(CONFIG);
    const lease = await claimAs(dir, '6', 'agent-a');
    const rs = await together(
      dir,
      Array.from({ length: 8 }, (_, i) => ({
        args: ['crash', '6', '--reason', `r${i}`],
        env: as('agent-a'),
      })),
    );
    expect(codes(rs).sort(), show(rs)).toEqual([0, 3, 3, 3, 3, 3, 3, 3]);
    for (const r of rs.filter((x) => x.code === 3)) expect(r.stderr).toContain('lease 6 is crashed');
    const now = expectConsistent(dir, '6');
    expect(now).toMatchObject({ state: 'crashed', token: lease.token, revision: lease.revision + 1 });
    expect(auditEvents(dir).filter((e) => e.action === 'crash')).toHaveLength(1);
    expect(expectMonotonicLog(dir, '6').map((e) => e.verb)).toEqual(['claim', 'crash']);
  });

  it.each([
    ['release', ['release', '5'], 3],
    ['release --remove-worktree', ['release', '5', '--remove-worktree'], 3],
    ['done', ['done', '5'], 3],
    ['clear --force', ['clear', '5', '--force'], 1],
  ] as const)(
    '8 processes %s the same lease: one exits 0, seven exit $2, index refs gone once',
    async (_name, args, loserCode) => {
      const dir = makeCoordRepo(CONFIG);
      const lease = await claimAs(dir, '5', 'agent-a');
      const rs = await together(
        dir,
        Array.from({ length: 8 }, () => ({ args: [...args], env: as('agent-a') })),
      );
      const winners = rs.filter((r) => r.code === 0);
      expect(winners, show(rs)).toHaveLength(1);
      const losers = rs.filter((r) => r.code !== 0);
      expect(codes(losers), show(rs)).toEqual(Array(7).fill(loserCode));
      for (const r of losers) {
        if (loserCode === 3) expect(r.stderr).toContain('lease 5 is already closed');
        else expect(r.stderr).toContain('no lease 5');
      }
      expect(indexRefs(dir)).toEqual([]);
      if (args[0] === 'clear') {
        expect(record(dir, 'refs/coord/leases/5')).toMatchObject({
          state: 'closed',
          outcome: 'cleared',
          token: lease.token,
          revision: lease.revision + 1,
        });
        const clears = auditEvents(dir).filter((e) => e.action === 'clear');
        expect(clears).toHaveLength(1);
        expect(clears[0]).toMatchObject({ key: '5', token: lease.token });
      } else {
        const now = record(dir, 'refs/coord/leases/5')!;
        expect(now).toMatchObject({ state: 'closed', outcome: args[0] === 'done' ? 'done' : 'released' });
        expect(now.revision).toBe(lease.revision + 1);
        expect(expectMonotonicLog(dir, '5').map((e) => e.verb)).toEqual(['claim', args[0]]);
      }
      if ((args as readonly string[]).includes('--remove-worktree'))
        expect(existsSync(lease.worktree!.path)).toBe(false);
      expect(findLocks(join(dir, '.git'))).toEqual([]);
    },
  );
});

/** Every ref under refs/coord with its value. */
function coordState(dir: string): string {
  return sh(dir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/coord/');
}

/** Lock paths named in an error message (absolute paths ending in `.lock`). */
function lockPathsIn(message: string): string[] {
  return [...new Set(message.match(/\/[^\s'`]+\.lock/g) ?? [])];
}

type Cmd = 'renew' | 'release' | 'done' | 'takeover' | 'clear' | 'crash';
/** `writeLock`: the command holds the lease's write lock (src/leases/write-lock.ts) while it writes. */
const COMMANDS: Record<Cmd, { args: string[]; holder: string; deletes: boolean; writeLock: boolean }> = {
  renew: { args: ['renew', 'k'], holder: 'agent-a', deletes: false, writeLock: true },
  release: { args: ['release', 'k', '--remove-worktree'], holder: 'agent-a', deletes: true, writeLock: true },
  done: { args: ['done', 'k'], holder: 'agent-a', deletes: true, writeLock: true },
  takeover: { args: ['takeover', 'k'], holder: 'agent-b', deletes: false, writeLock: false },
  clear: { args: ['clear', 'k', '--force'], holder: 'agent-a', deletes: true, writeLock: true },
  crash: {
    args: ['crash', 'k', '--reason', 'agent died'],
    holder: 'agent-a',
    deletes: false,
    writeLock: true,
  },
};
const FAULTS = ['blob-temp', 'ref-locked', 'ref-written', 'packed-locked'] as const;
const CASES = (Object.keys(COMMANDS) as Cmd[]).flatMap((c) => FAULTS.map((f) => [c, f] as const));

describe('writes killed with SIGKILL at their fault points', () => {
  it.concurrent('renew retried at once after a kill at ref-locked: waits out its retry budget, then names the lock (exit 1)', async () => {
    const dir = makeCoordRepo(CONFIG);
    const lease = await claimAs(dir, 'k', 'agent-a', ['--no-worktree']);
    const killed = await cli(dir, ['renew', 'k'], { ...as('agent-a'), GIT_COORD_TEST_FAULT: 'ref-locked' });
    expect(killed.signal).toBe('SIGKILL');
    const lock = join(dir, '.git', 'refs', 'coord', 'leases', 'k.lock');
    const res = await cli(dir, ['renew', 'k'], as('agent-a'));
    expect(res.code, res.stderr).toBe(1);
    expect(lockPathsIn(res.stderr)).toEqual([lock]);
    expect(record(dir, 'refs/coord/leases/k')).toEqual(lease);
    rmSync(lock);
    const ok = await cli(dir, ['renew', 'k', '--json'], as('agent-a'));
    expect(ok.code, ok.stderr).toBe(0);
    expect(record(dir, 'refs/coord/leases/k')!.revision).toBe(lease.revision + 1);
  });

  it.concurrent.each(CASES)(
    '%s at %s: nothing changed, the locks are named, removing them lets the same command succeed',
    async (cmd, fault) => {
      const c = COMMANDS[cmd];
      const dir = makeCoordRepo(CONFIG);
      const lease = await claimAs(dir, 'k', 'agent-a', cmd === 'takeover' ? ['--ttl', '1s'] : []);
      if (cmd === 'takeover') await sleep(1200);
      const before = coordState(dir);
      const shown = sh(dir, 'show', 'refs/coord/leases/k');

      const killed = await cli(dir, c.args, { ...as(c.holder), GIT_COORD_TEST_FAULT: fault });
      // renew and takeover delete no ref, so they never take packed-refs.lock.
      const reached = fault !== 'packed-locked' || c.deletes;
      if (!reached) {
        expect(killed.code, killed.stderr).toBe(0);
        return;
      }
      expect(killed.signal, `${killed.code} ${killed.stderr}`).toBe('SIGKILL');
      // All or nothing: every fault point comes before the first ref is renamed into place.
      expect(coordState(dir)).toBe(before);
      expect(sh(dir, 'show', 'refs/coord/leases/k')).toBe(shown);
      expectConsistent(dir, 'k');
      if (cmd === 'release') expect(existsSync(lease.worktree!.path)).toBe(true);

      // The user comes back a while later: the crash's locks are old. Remove what each error names.
      const gitDir = join(dir, '.git');
      // The killed writer's lease write lock (coord/write-locks/) names a dead process: the next
      // writer breaks it at once, so no error names it. git's ref locks are named and removed by hand.
      const isWriteLock = (p: string) => p.includes('coord/write-locks/');
      const all = findLocks(gitDir).map((f) => join(gitDir, f));
      expect(all.filter(isWriteLock)).toHaveLength(c.writeLock ? 1 : 0);
      const leftover = all.filter((p) => !isWriteLock(p));
      const old = new Date(Date.now() - 120_000);
      for (const p of leftover) utimesSync(p, old, old);
      const removed: string[] = [];
      let res = await cli(dir, c.args, as(c.holder));
      for (let i = 0; res.code !== 0 && i < 8; i++) {
        expect(res.code, res.stderr).toBe(1);
        const named = lockPathsIn(res.stderr);
        expect(named, res.stderr).toHaveLength(1);
        expect(res.stderr).toContain('File exists');
        expect(leftover).toContain(named[0]);
        rmSync(named[0]!);
        removed.push(named[0]!);
        res = await cli(dir, c.args, as(c.holder));
      }
      expect(res.code, res.stderr).toBe(0);
      expect(findLocks(gitDir).filter(isWriteLock)).toEqual([]);
      // The lock of the crashed write's audit event (a fresh random ref name each attempt) is named by
      // no error and blocks nothing: it stays for `git coord doctor --fix`. Every other lock was named.
      const isAudit = (p: string) => p.includes('/refs/coord/audit/');
      expect(removed.sort()).toEqual(leftover.filter((p) => !isAudit(p)).sort());
      expect(findLocks(gitDir).map((f) => join(gitDir, f))).toEqual(leftover.filter(isAudit));
      expect(leftover.filter(isAudit)).toHaveLength(
        (cmd === 'takeover' || cmd === 'clear' || cmd === 'crash') && fault !== 'blob-temp' ? 1 : 0,
      );

      const now = record(dir, 'refs/coord/leases/k')!;
      expect(now.revision).toBe(lease.revision + 1);
      expectMonotonicLog(dir, 'k');
      if (cmd === 'crash') {
        expect(now).toMatchObject({ state: 'crashed', crashReason: 'agent died', token: lease.token });
        expectConsistent(dir, 'k');
      } else if (cmd === 'renew' || cmd === 'takeover') {
        expectConsistent(dir, 'k');
        expect(now.holder.id).toBe(c.holder);
        expect(now.token).toBe(lease.token + (cmd === 'takeover' ? 1 : 0));
      } else {
        const outcome = cmd === 'clear' ? 'cleared' : cmd === 'done' ? 'done' : 'released';
        expect(now).toMatchObject({ state: 'closed', outcome, token: lease.token });
        expect(indexRefs(dir)).toEqual([]);
      }
      if (cmd === 'release') expect(existsSync(lease.worktree!.path)).toBe(false);
    },
  );
});
