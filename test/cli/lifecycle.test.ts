import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LeaseType } from '../../src/records/schemas.js';
import { readRecord, writeRecord } from '../../src/records/store.js';
import { discoverRepo, RefTransaction } from '../../src/refs/index.js';
import { cleanup, sh } from '../fixtures/repo.js';
import {
  cli,
  cliJson,
  expectConsistent,
  expectExit,
  makeCoordRepo,
  record,
  refs,
  sleep,
  worktrees,
} from './helpers.js';

afterAll(cleanup);

interface LeaseJson {
  key: string;
  state: string;
  token: number;
  revision: number;
  transitions: number;
  holder: { id: string; pid: number | null; pidStart: number | null };
  worktree: { id: string; path: string } | null;
  stale?: string | null;
  crashReason?: string | null;
}

const oid = (dir: string, ref: string) => sh(dir, 'rev-parse', ref);

/** Starts a real long-lived process standing in for an agent. */
function agentProcess() {
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const kill = async () => {
    child.kill('SIGKILL');
    await exited;
  };
  return { pid: child.pid!, kill };
}

describe('must show: lease lifecycle through the CLI (real processes)', () => {
  it('expiry with a 1 s TTL and zero skew: B takes over (token +1, transitions 1); A renew and release exit 3 and change nothing', async () => {
    const dir = makeCoordRepo({ leases: { skew: '0s' } });
    const a = await cliJson<LeaseJson>(dir, ['claim', '65', '--ttl', '1s', '--holder', 'agent-a']);
    expect(a).toMatchObject({ token: 1, transitions: 0, revision: 1 });
    // B cannot claim it (live or, on a slow machine, already expired: exit 3 either way, naming A).
    const held = await expectExit(dir, ['claim', '65', '--holder', 'agent-b'], 3);
    expect(held.stderr).toMatch(/lease 65 (is held by|of) agent-a/);
    await sleep(1300);
    expect((await cliJson<LeaseJson>(dir, ['show', '65'])).stale).toBe('expired');
    const list = await cli(dir, ['list']);
    expect(list.stdout).toMatch(/65\s+open \(expired\)\s+agent-a/);
    // Stale: claim refuses but names takeover.
    const stale = await expectExit(dir, ['claim', '65', '--holder', 'agent-b'], 3);
    expect(stale.stderr).toContain('git coord takeover 65');
    const b = await cliJson<LeaseJson>(dir, ['takeover', '65', '--holder', 'agent-b']);
    expect(b).toMatchObject({ state: 'open', token: 2, transitions: 1, holder: { id: 'agent-b' } });
    expect(b.worktree!.path).toBe(a.worktree!.path);
    const lease = expectConsistent(dir, '65');
    expect(lease.holder.id).toBe('agent-b');
    const audit = refs(dir, 'refs/coord/audit/');
    expect(audit).toHaveLength(1);
    expect(record(dir, audit[0]!)).toMatchObject({
      action: 'takeover',
      key: '65',
      previousHolder: 'agent-a',
      token: 2,
    });

    const before = refs(dir, 'refs/coord/').map((r) => `${r} ${oid(dir, r)}`);
    const renew = await expectExit(dir, ['renew', '65', '--holder', 'agent-a', '--token', '1'], 3);
    expect(renew.stderr).toContain('you lost the lease 65: token is now 2');
    expect(renew.stderr).toContain('held by agent-b');
    await expectExit(dir, ['renew', '65', '--holder', 'agent-a'], 3);
    const release = await expectExit(dir, ['release', '65', '--holder', 'agent-a'], 3);
    expect(release.stderr).toContain('you lost the lease 65');
    expect(refs(dir, 'refs/coord/').map((r) => `${r} ${oid(dir, r)}`)).toEqual(before);
    // B's own renew with its token works.
    expect(
      await cliJson<LeaseJson>(dir, ['renew', '65', '--holder', 'agent-b', '--token', '2']),
    ).toMatchObject({
      token: 2,
      revision: 3,
    });
  });

  it('holder killed with SIGKILL: list shows it dead, takeover works without waiting for the TTL', async () => {
    const dir = makeCoordRepo();
    const agent = agentProcess();
    const a = await cliJson<LeaseJson>(dir, [
      'claim',
      '65',
      '--holder',
      'agent-a',
      '--pid',
      String(agent.pid),
    ]);
    expect(a.holder.pid).toBe(agent.pid);
    expect(a.holder.pidStart).toBeTypeOf('number');
    expect((await cliJson<LeaseJson>(dir, ['show', '65'])).stale).toBeNull();
    await agent.kill();
    const list = await cli(dir, ['list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/65\s+open \(holder dead\)\s+agent-a/);
    expect((await cliJson<{ leases: LeaseJson[] }>(dir, ['list'])).leases[0]!.stale).toBe('holder-dead');
    expect((await cliJson<{ leases: LeaseJson[] }>(dir, ['list', '--state', 'stale'])).leases).toHaveLength(
      1,
    );
    // list and show never write.
    expect(record(dir, 'refs/coord/leases/65')).toMatchObject({ state: 'open', revision: 1 });
    const b = await cliJson<LeaseJson>(dir, ['takeover', '65', '--holder', 'agent-b']);
    expect(b).toMatchObject({
      state: 'open',
      token: 2,
      transitions: 1,
      holder: { id: 'agent-b', pid: null },
    });
    expectConsistent(dir, '65');
    const audit = record(dir, refs(dir, 'refs/coord/audit/')[0]!);
    expect(audit).toMatchObject({ action: 'takeover', previousHolder: 'agent-a' });
    expect(JSON.stringify(audit)).toContain(`holder process ${agent.pid}`);
  });

  it('a claim that finds the holder dead marks the lease crashed and refuses; --takeover then takes it', async () => {
    const dir = makeCoordRepo();
    const agent = agentProcess();
    await expectExit(
      dir,
      ['claim', '66', '--holder', 'agent-a', '--pid', String(agent.pid), '--no-worktree'],
      0,
    );
    await agent.kill();
    const res = await expectExit(dir, ['claim', '66', '--holder', 'agent-b', '--no-worktree'], 3);
    expect(res.stderr).toContain('marked it crashed');
    const crashed = record<LeaseJson>(dir, 'refs/coord/leases/66')!;
    expect(crashed).toMatchObject({ state: 'crashed', token: 1, revision: 2 });
    expect(crashed.crashReason).toContain(`holder process ${agent.pid}`);
    expect((await cli(dir, ['list'])).stdout).toMatch(/66\s+crashed\s+agent-a/);
    await expectExit(dir, ['claim', '66', '--holder', 'agent-b', '--no-worktree'], 3);
    const b = await cliJson<LeaseJson>(dir, [
      'claim',
      '66',
      '--holder',
      'agent-b',
      '--no-worktree',
      '--takeover',
    ]);
    expect(b).toMatchObject({ state: 'open', token: 2, transitions: 1, crashReason: null });
    const actions = refs(dir, 'refs/coord/audit/').map((r) => record<{ action: string }>(dir, r)!.action);
    expect(actions.sort()).toEqual(['crash', 'takeover']);
  });

  it('PID reuse: a live pid whose start time differs from the recorded one is stale (pid-reused)', async () => {
    const dir = makeCoordRepo();
    const agent = agentProcess();
    try {
      await expectExit(
        dir,
        ['claim', '65', '--holder', 'agent-a', '--pid', String(agent.pid), '--no-worktree'],
        0,
      );
      // The recorded process is gone and its number was handed to another process: equivalent to
      // rewriting the recorded start time while the (other) process with that pid lives.
      const repo = discoverRepo(dir);
      const cur = (await readRecord(repo, 'refs/coord/leases/65', LeaseType))!;
      const reused = {
        ...cur.record,
        holder: { ...cur.record.holder, pidStart: cur.record.holder.pidStart! + 1 },
      };
      new RefTransaction(repo)
        .update('refs/coord/leases/65', writeRecord(repo, LeaseType, reused), cur.oid, 'test: pid reused')
        .commit();
      expect((await cliJson<LeaseJson>(dir, ['show', '65'])).stale).toBe('pid-reused');
      expect((await cli(dir, ['list'])).stdout).toMatch(/65\s+open \(pid reused\)/);
      expect(await cliJson<LeaseJson>(dir, ['takeover', '65', '--holder', 'agent-b'])).toMatchObject({
        token: 2,
      });
    } finally {
      await agent.kill();
    }
  });

  it('takeover refuses a live lease (exit 3) unless --force --reason, which is audited', async () => {
    const dir = makeCoordRepo();
    await expectExit(dir, ['claim', '65', '--holder', 'agent-a', '--no-worktree'], 0);
    const refused = await expectExit(dir, ['takeover', '65', '--holder', 'agent-b'], 3);
    expect(refused.stderr).toContain('lease 65 is live');
    expect(refused.stderr).toContain('--force --reason');
    await expectExit(dir, ['takeover', '65', '--holder', 'agent-b', '--force'], 2);
    expect(record<LeaseJson>(dir, 'refs/coord/leases/65')).toMatchObject({ token: 1, revision: 1 });
    const b = await cliJson<LeaseJson>(dir, [
      'takeover',
      '65',
      '--holder',
      'agent-b',
      '--force',
      '--reason',
      'a is wedged',
    ]);
    expect(b).toMatchObject({ token: 2, transitions: 1, holder: { id: 'agent-b' } });
    expect(record(dir, refs(dir, 'refs/coord/audit/')[0]!)).toMatchObject({
      action: 'takeover',
      reason: 'forced: a is wedged',
      previousHolder: 'agent-a',
    });
  });

  it('the same holder claiming again gets the same worktree and token, exit 0', async () => {
    const dir = makeCoordRepo();
    const first = await cliJson<LeaseJson>(dir, ['claim', '65', '--holder', 'agent-a']);
    const again = await cliJson<LeaseJson>(dir, ['claim', '65', '--holder', 'agent-a']);
    expect(again).toMatchObject({
      token: first.token,
      revision: 2,
      transitions: 0,
      worktree: first.worktree,
    });
    // From inside the worktree too.
    const inside = await cliJson<LeaseJson>(first.worktree!.path, ['claim', '65'], 0, {
      COORD_HOLDER: 'agent-a',
    });
    expect(inside).toMatchObject({ token: 1, revision: 3, worktree: first.worktree });
    expect(worktrees(dir)).toHaveLength(2);
    // After release, a new claim is a new tenure on the same worktree: token 2.
    await expectExit(dir, ['release', '65', '--holder', 'agent-a'], 0);
    expect(refs(dir, 'refs/coord/branches/')).toEqual([]);
    const next = await cliJson<LeaseJson>(dir, ['claim', '65', '--holder', 'agent-a']);
    expect(next).toMatchObject({ token: 2, transitions: 0, worktree: first.worktree });
    expectConsistent(dir, '65');
    expect(worktrees(dir)).toHaveLength(2);
  });

  it('clear: an open lease needs --force (exit 3, intact); with --force a tombstone keeps the token, index refs are gone, an audit event exists', async () => {
    const dir = makeCoordRepo();
    const lease = await cliJson<LeaseJson>(dir, ['claim', '65', '--holder', 'agent-a']);
    const before = oid(dir, 'refs/coord/leases/65');
    const refused = await expectExit(dir, ['clear', '65', '--holder', 'agent-b'], 3);
    expect(refused.stderr).toContain('--force');
    expect(oid(dir, 'refs/coord/leases/65')).toBe(before);
    expect(refs(dir, 'refs/coord/')).toHaveLength(3);
    const out = await cliJson<{ deleted: string[]; audit: string; tombstone: LeaseJson }>(dir, [
      'clear',
      '65',
      '--force',
      '--holder',
      'agent-b',
    ]);
    expect(out.deleted.sort()).toEqual(
      ['refs/coord/branches/coord/65', `refs/coord/worktrees/${lease.worktree!.id}`].sort(),
    );
    // The lease is never deleted: a tombstone (closed, cleared) keeps its token.
    expect(refs(dir, 'refs/coord/leases/')).toEqual(['refs/coord/leases/65']);
    expect(record(dir, 'refs/coord/leases/65')).toMatchObject({
      state: 'closed',
      outcome: 'cleared',
      token: 1,
      revision: lease.revision + 1,
    });
    expect(out.tombstone).toEqual(record(dir, 'refs/coord/leases/65'));
    expect(refs(dir, 'refs/coord/branches/')).toEqual([]);
    expect(refs(dir, 'refs/coord/worktrees/')).toEqual([]);
    expect(refs(dir, 'refs/coord/audit/')).toEqual([out.audit]);
    expect(record(dir, out.audit)).toMatchObject({
      action: 'clear',
      key: '65',
      by: { id: 'agent-b' },
      previousHolder: 'agent-a',
      token: 1,
      reason: 'forced clear of an open lease',
    });
    // The worktree and branch stay; clearing a cleared lease is an error; the next claim's token is higher.
    expect(worktrees(dir)).toHaveLength(2);
    await expectExit(dir, ['clear', '65', '--holder', 'agent-b'], 1);
    const again = await cliJson<LeaseJson>(dir, ['claim', '65', '--holder', 'agent-c']);
    expect(again.token).toBe(2);
  });

  it('from a nested subdirectory of a linked worktree, list --json equals the output from the main worktree', async () => {
    const dir = makeCoordRepo();
    const lease = await cliJson<LeaseJson>(dir, ['claim', '65', '--holder', 'agent-a']);
    await expectExit(dir, ['claim', '66', '--holder', 'agent-b', '--no-worktree'], 0);
    const nested = join(lease.worktree!.path, 'a', 'b', 'c');
    mkdirSync(nested, { recursive: true });
    const fromMain = await cli(dir, ['list', '--json']);
    const fromNested = await cli(nested, ['list', '--json']);
    expect(fromMain.code).toBe(0);
    expect(fromNested.stdout).toBe(fromMain.stdout);
    expect(JSON.parse(fromMain.stdout).leases.map((l: LeaseJson) => l.key)).toEqual(['65', '66']);
    // status finds the worktree's lease from the nested directory.
    const status = await cliJson<{ lease: LeaseJson; worktree: { path: string } }>(nested, ['status']);
    expect(status.lease.key).toBe('65');
    expect(status.worktree.path).toBe(lease.worktree!.path);
  });

  it('release --remove-worktree keeps a dirty worktree (warning) and removes a clean one; the branch stays', async () => {
    const dir = makeCoordRepo({ worktrees: { link: ['node_modules'] } });
    mkdirSync(join(dir, 'node_modules', 'pkg'), { recursive: true });
    writeFileSync(join(dir, '.gitignore'), 'node_modules/\n');
    const a = await cliJson<LeaseJson>(dir, ['claim', 'a', '--holder', 'h']);
    const b = await cliJson<LeaseJson>(dir, ['claim', 'b', '--holder', 'h']);
    // worktrees.link: node_modules is a symlink to the main worktree's.
    expect(lstatSync(join(a.worktree!.path, 'node_modules')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(a.worktree!.path, 'node_modules'))).toBe(join(dir, 'node_modules'));
    writeFileSync(join(a.worktree!.path, 'scratch.txt'), 'uncommitted\n');
    const ra = await cli(dir, ['release', 'a', '--remove-worktree', '--holder', 'h']);
    expect(ra.code).toBe(0);
    expect(ra.stderr).toContain(`kept worktree ${a.worktree!.path}`);
    expect(ra.stderr).toContain('scratch.txt');
    expect(record(dir, 'refs/coord/leases/a')).toMatchObject({ state: 'closed', outcome: 'released' });
    const rb = await cli(dir, ['release', 'b', '--remove-worktree', '--holder', 'h']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stdout).toContain(`removed worktree ${b.worktree!.path}`);
    expect(worktrees(dir).map((w) => w.path)).toEqual([dir, a.worktree!.path]);
    expect(sh(dir, 'branch', '--list', 'coord/b')).toContain('coord/b');
    expect(refs(dir, 'refs/coord/worktrees/')).toEqual([]);
  });
});
