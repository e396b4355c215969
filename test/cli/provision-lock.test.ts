import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPidStart, systemProbe } from '../../src/leases/liveness.js';
import { PROVISION_LOCK, ProvisionLock, ProvisionLockHeldError } from '../../src/leases/provision-lock.js';
import { currentHost } from '../../src/refs/worktree-id.js';
import { cleanup, collect, type RunResult } from '../fixtures/repo.js';
import { PROJECT_ROOT } from '../refs/helpers.js';
import { cli, expectConsistent, makeCoordRepo, worktrees } from './helpers.js';

/**
 * Issue 9 item 6: a `.git/coord-provision.lock` left by a killed claim no longer blocks every claim.
 * A lock whose owner is provably dead (same host; pid gone or reused) is broken at once and safely (of
 * claimers breaking it together, one proceeds at a time), an empty one after a short grace, and
 * `doctor --fix` removes a dead one at once.
 */

const HOST = currentHost();
const WORKER = join(import.meta.dirname, '..', 'leases', 'workers', 'provision-worker.ts');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  cleanup();
});

/** The pid and start time of a process that existed and was killed with SIGKILL. */
async function deadProcess(): Promise<{ pid: number; start: number }> {
  const c = spawn('sleep', ['300'], { stdio: 'ignore' });
  const pid = c.pid!;
  const start = readPidStart(pid)!;
  const exited = new Promise((resolve) => c.once('exit', resolve));
  c.kill('SIGKILL');
  await exited;
  return { pid, start };
}

function lockPath(dir: string): string {
  return join(dir, '.git', PROVISION_LOCK);
}

/** Files the provisioning lock protocol may leave in the git dir (none after a clean run). */
function lockLeftovers(dir: string): string[] {
  return readdirSync(join(dir, '.git')).filter((f) => f.startsWith(PROVISION_LOCK));
}

function age(path: string, ms: number): void {
  const t = (Date.now() - ms) / 1000;
  utimesSync(path, t, t);
}

describe('the provisioning lock of a killed claim (issue 9 item 6)', () => {
  it('a claim SIGKILLed while provisioning: the next claims break its lock at once and say so', async () => {
    const dir = makeCoordRepo();
    const killed = await cli(dir, ['claim', '1', '--holder', 'agent-a'], {
      GIT_COORD_TEST_FAULT: 'blob-temp',
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(lockPath(dir))).toBe(true);
    const owner = readFileSync(lockPath(dir), 'utf8');

    // another key: not blocked
    const other = await cli(dir, ['claim', '2', '--holder', 'agent-b']);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stderr).toContain(
      `removed the claim lock left by process ${owner.split(' ')[0]} on ${HOST} (gone)`,
    );
    expect(lockLeftovers(dir)).toEqual([]);
    // the same key again: reuses the worktree the killed claim made
    const retry = await cli(dir, ['claim', '1', '--holder', 'agent-a']);
    expect(retry.code, retry.stderr).toBe(0);
    expectConsistent(dir, '1');
    expectConsistent(dir, '2');
    expect(worktrees(dir).map((w) => w.branch)).toEqual([
      'refs/heads/main',
      'refs/heads/coord/1',
      'refs/heads/coord/2',
    ]);
    expect(lockLeftovers(dir)).toEqual([]);
  });

  it('a lock whose pid now runs another program (pid reused) is broken; an old empty lock too; a young empty one after the grace', async () => {
    const dir = makeCoordRepo();
    // this test process is alive, but started at another time than the lock says
    writeFileSync(lockPath(dir), `${process.pid} ${HOST} 1 0123456789ab\n`);
    const reused = await cli(dir, ['claim', '1', '--holder', 'a']);
    expect(reused.code, reused.stderr).toBe(0);
    expect(reused.stderr).toContain(`left by process ${process.pid} on ${HOST} (gone)`);

    writeFileSync(lockPath(dir), '');
    age(lockPath(dir), 60_000);
    const empty = await cli(dir, ['claim', '2', '--holder', 'a']);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stderr).toContain('no owner written');

    writeFileSync(lockPath(dir), ''); // as a claim killed between create and write would leave it
    const young = await cli(dir, ['claim', '3', '--holder', 'a']);
    expect(young.code, young.stderr).toBe(0);
    expect(young.stderr).toContain('no owner written');
    expect(lockLeftovers(dir)).toEqual([]);
  });

  it('a live holder is waited for, never broken, and the message says what to do; so is a holder on another host', async () => {
    const dir = makeCoordRepo();
    const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
    children.push(sleeper);
    const pid = sleeper.pid!;
    writeFileSync(lockPath(dir), `${pid} ${HOST} ${readPidStart(pid)} 0123456789ab\n`);
    const repo = { commonDir: join(dir, '.git') };
    let err: unknown;
    try {
      ProvisionLock.acquire(repo, HOST, 300, systemProbe);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProvisionLockHeldError);
    expect((err as Error).message).toContain(`held by process ${pid} on ${HOST}, still running`);
    expect((err as Error).message).toContain(`kill ${pid}`);
    expect(existsSync(lockPath(dir))).toBe(true);

    const exited = new Promise((resolve) => sleeper.once('exit', resolve));
    sleeper.kill('SIGKILL');
    await exited;
    const after = await cli(dir, ['claim', '1', '--holder', 'a']);
    expect(after.code, after.stderr).toBe(0);

    writeFileSync(lockPath(dir), `4242 other-host - 0123456789ab\n`);
    expect(() => ProvisionLock.acquire(repo, HOST, 300, systemProbe)).toThrow(
      `If no git-coord claim is running on other-host, remove it: \`rm ${lockPath(dir)}\``,
    );
    expect(existsSync(lockPath(dir))).toBe(true);
  });

  it('doctor --fix removes a dead claim lock at once, whatever its age', async () => {
    const dir = makeCoordRepo();
    const dead = await deadProcess();
    writeFileSync(lockPath(dir), `${dead.pid} ${HOST} ${dead.start} 0123456789ab\n`);
    const check = await cli(dir, ['doctor', '--json'], { COORD_HOLDER: 'ops' });
    expect(check.code).toBe(1);
    const problem = JSON.parse(check.stdout).problems[0];
    expect(problem).toMatchObject({ kind: 'stale-lock', path: lockPath(dir), fixed: false });
    expect(problem.message).toContain(`left by process ${dead.pid} on ${HOST}, which is gone`);
    expect(problem.message).toContain('`git coord doctor --fix` removes it now');
    const fix = await cli(dir, ['doctor', '--fix', '--json'], { COORD_HOLDER: 'ops' });
    expect(fix.code, fix.stdout).toBe(0);
    expect(JSON.parse(fix.stdout).problems[0]).toMatchObject({ kind: 'stale-lock', fixed: true });
    expect(lockLeftovers(dir)).toEqual([]);
  });

  it('8 processes racing on a dead lock: one breaks it, and exactly one holds the lock at a time', async () => {
    const dir = makeCoordRepo();
    const dead = await deadProcess();
    writeFileSync(lockPath(dir), `${dead.pid} ${HOST} ${dead.start} 0123456789ab\n`);
    const log = join(dir, '..', `provision-log-${Date.now()}`);
    const workers = Array.from({ length: 8 }, () => {
      const c = spawn('node', ['--import', 'tsx', WORKER, join(dir, '.git'), log], { cwd: PROJECT_ROOT });
      children.push(c);
      const ready = new Promise<void>((resolve) => c.stdout.once('data', () => resolve()));
      return { c, ready, done: collect(c) };
    });
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.c.stdin.write('go\n');
    const results: RunResult[] = await Promise.all(workers.map((w) => w.done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);

    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(16);
    const pids = new Set<string>();
    for (let i = 0; i < lines.length; i += 2) {
      const [enter, pid] = lines[i]!.split(' ');
      expect(enter, `line ${i}: ${lines.join(' | ')}`).toBe('enter');
      expect(lines[i + 1], `line ${i + 1}: ${lines.join(' | ')}`).toBe(`leave ${pid}`);
      pids.add(pid!);
    }
    expect(pids.size).toBe(8);
    expect(lines.filter((l) => l.endsWith(' broke'))).toHaveLength(1);
    expect(lockLeftovers(dir)).toEqual([]);
  });

  it('8 claims with worktrees racing on a dead lock all succeed, each with its own worktree', async () => {
    const dir = makeCoordRepo();
    const dead = await deadProcess();
    writeFileSync(lockPath(dir), `${dead.pid} ${HOST} ${dead.start} 0123456789ab\n`);
    const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
    const results = await Promise.all(keys.map((k) => cli(dir, ['claim', k, '--holder', `agent-${k}`])));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(results.filter((r) => r.stderr.includes('removed the claim lock'))).toHaveLength(1);
    for (const k of keys) expectConsistent(dir, k);
    expect(worktrees(dir)).toHaveLength(9);
    expect(lockLeftovers(dir)).toEqual([]);
  });
});
