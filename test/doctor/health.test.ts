import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DoctorOutput, GC_CONFIG_KEY } from '../../src/doctor/index.js';
import { readPidStart } from '../../src/leases/liveness.js';
import { LeaseType } from '../../src/records/schemas.js';
import { writeRecord } from '../../src/records/store.js';
import { discoverRepo, RefTransaction, type Repo } from '../../src/refs/index.js';
import { addWorktree, cleanup, makeRepo, run, sh } from '../fixtures/repo.js';
import { sampleLease } from '../records/sample.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'git-coord.mjs');
const HOST = 'doctor-test-host';
const children: ChildProcess[] = [];

beforeAll(() => {
  if (!existsSync(CLI)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  cleanup();
});

const ENV = { COORD_HOLDER: 'agent@example.com', COORD_HOST: HOST };

async function coord(dir: string, args: string[], env: Record<string, string> = {}) {
  return run('node', [CLI, ...args], { cwd: dir, env: { ...ENV, ...env } });
}

async function doctor(dir: string, ...args: string[]) {
  const res = await run('node', [CLI, 'doctor', '--json', ...args], {
    cwd: dir,
    env: { COORD_HOLDER: 'ops@example.com', COORD_HOST: HOST },
  });
  return { ...res, report: DoctorOutput.parse(JSON.parse(res.stdout)) };
}

function coordRepo(): { dir: string; repo: Repo } {
  const dir = makeRepo();
  sh(dir, 'config', GC_CONFIG_KEY, 'never');
  return { dir, repo: discoverRepo(dir) };
}

/** A real long-running process, as an agent holding a lease would be. */
function sleeper(): ChildProcess & { pid: number } {
  const c = spawn('sleep', ['300'], { stdio: 'ignore' });
  children.push(c);
  return c as ChildProcess & { pid: number };
}

async function kill9(c: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => c.once('exit', resolve));
  c.kill('SIGKILL');
  await exited;
}

function age(path: string, ms: number): void {
  const t = (Date.now() - ms) / 1000;
  utimesSync(path, t, t);
}

describe('git coord doctor: dead holders', () => {
  it('reports an open lease whose holder process was killed; --fix marks it crashed via the leases API', async () => {
    const { dir, repo } = coordRepo();
    const dead = sleeper();
    const live = sleeper();
    for (const [key, c] of [
      ['70', dead],
      ['71', live],
    ] as const) {
      const res = await coord(dir, ['claim', key, '--no-worktree', '--pid', String(c.pid), '--json']);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
    }
    // another host's pid is never judged here
    const remote = sampleLease({
      key: '73',
      branch: null,
      worktree: null,
      renewedAt: new Date().toISOString(),
      holder: { id: 'b@x', host: 'elsewhere', pid: dead.pid, pidStart: 1, user: 'b' },
    });
    new RefTransaction(repo)
      .update('refs/coord/leases/73', writeRecord(repo, LeaseType, remote), null, 'test')
      .commit();

    expect((await doctor(dir)).report).toEqual({ problems: [] });
    // pid reused: the pid of a live process whose start time differs from the recorded one
    const reused = sampleLease({
      key: '72',
      branch: null,
      worktree: null,
      renewedAt: new Date().toISOString(),
      holder: { id: 'a@x', host: HOST, pid: live.pid, pidStart: readPidStart(live.pid)! + 1, user: 'a' },
    });
    new RefTransaction(repo)
      .update('refs/coord/leases/72', writeRecord(repo, LeaseType, reused), null, 'test')
      .commit();
    await kill9(dead);

    const check = await doctor(dir);
    expect(check.code).toBe(1);
    expect(check.report.problems.map((p) => [p.kind, p.ref, p.fixed])).toEqual([
      ['dead-holder', 'refs/coord/leases/70', false],
      ['dead-holder', 'refs/coord/leases/72', false],
    ]);
    expect(check.report.problems[0]!.message).toContain(`holder agent@example.com, pid ${dead.pid}`);
    expect(check.report.problems[0]!.message).toMatch(/is gone/);
    expect(check.report.problems[1]!.message).toMatch(/now belongs to another process/);
    expect(JSON.parse(sh(dir, 'show', 'refs/coord/leases/70')).state).toBe('open');

    const fixed = await doctor(dir, '--fix');
    expect(fixed.stderr).toBe('');
    expect(fixed.code).toBe(0);
    expect(fixed.report.problems.map((p) => [p.kind, p.ref, p.fixed])).toEqual([
      ['dead-holder', 'refs/coord/leases/70', true],
      ['dead-holder', 'refs/coord/leases/72', true],
    ]);
    const l70 = JSON.parse(sh(dir, 'show', 'refs/coord/leases/70'));
    expect(l70).toMatchObject({ state: 'crashed', crashReason: `doctor: holder pid ${dead.pid} is gone` });
    expect(JSON.parse(sh(dir, 'show', 'refs/coord/leases/72')).crashReason).toBe(
      `doctor: holder pid ${live.pid} is gone`,
    );
    expect(JSON.parse(sh(dir, 'show', 'refs/coord/leases/71')).state).toBe('open');
    expect(JSON.parse(sh(dir, 'show', 'refs/coord/leases/73')).state).toBe('open');
    expect(readFileSync(join(repo.commonDir, 'logs/refs/coord/leases/70'), 'utf8')).toMatch(
      /\tcoord: crash 70 by ops@example\.com token 1\n$/,
    );
    const audit = sh(dir, 'for-each-ref', '--format=%(objectname)', 'refs/coord/audit');
    expect(audit.split('\n')).toHaveLength(2);
    expect((await doctor(dir)).report).toEqual({ problems: [] });
  });

  it('reports the claim lock of a killed claim; --fix removes it at once, a live one never', async () => {
    const { dir, repo } = coordRepo();
    const lock = join(repo.commonDir, 'coord-provision.lock');
    const me = sleeper();
    writeFileSync(lock, `${me.pid} ${HOST}\n`);
    expect((await doctor(dir)).report).toEqual({ problems: [] }); // a live claim holding it
    age(lock, 120_000);
    const held = await doctor(dir, '--fix');
    expect(held.report.problems.map((p) => [p.kind, p.path, p.fixed])).toEqual([['lock-held', lock, false]]);
    expect(held.report.problems[0]!.message).toContain(`kill ${me.pid}`);
    expect(existsSync(lock)).toBe(true);

    await kill9(me);
    age(lock, 5_000);
    const report = await doctor(dir);
    expect(report.code).toBe(1);
    expect(report.report.problems.map((p) => [p.kind, p.path, p.fixed])).toEqual([
      ['stale-lock', lock, false],
    ]);
    expect(report.report.problems[0]!.message).toContain(`process ${me.pid} on ${HOST}, which is gone`);
    expect(report.report.problems[0]!.message).toContain('`git coord doctor --fix` removes it now');
    expect(existsSync(lock)).toBe(true);
    const fixed = await doctor(dir, '--fix');
    expect(fixed.code).toBe(0);
    expect(fixed.report.problems.map((p) => [p.kind, p.fixed])).toEqual([['stale-lock', true]]);
    expect(existsSync(lock)).toBe(false);
  });
});

describe('git coord doctor: worktrees', () => {
  it("reports orphan worktrees with the command to remove them and never deletes one, even with --fix; a released lease's kept worktree is a note pointing to cleanup", async () => {
    const { dir } = coordRepo();
    // a worktree git-coord provisioned and whose lease is still open: fine
    expect((await coord(dir, ['claim', '81', '--json'])).code).toBe(0);
    // a lease released without --remove-worktree leaves its worktree behind
    expect((await coord(dir, ['claim', '82', '--json'])).code).toBe(0);
    expect((await coord(dir, ['release', '82', '--json'])).code).toBe(0);
    // worktrees made by hand in the worktrees dir, one of them with uncommitted work
    const wtDir = join(dir, '.coord', 'worktrees');
    mkdirSync(wtDir, { recursive: true });
    sh(dir, 'worktree', 'add', '-q', '-b', 'manual', join(wtDir, 'manual'));
    sh(dir, 'worktree', 'add', '-q', '-b', 'dirty', join(wtDir, 'dirty'));
    writeFileSync(join(wtDir, 'dirty', 'work.txt'), 'unsaved\n');
    // a worktree elsewhere is not coord's business
    addWorktree(dir, 'outside');

    const check = await doctor(dir);
    expect(check.code).toBe(1);
    expect(check.report.problems.map((p) => [p.kind, p.path, p.fixed])).toEqual([
      ['orphan-worktree', join(wtDir, 'dirty'), false],
      ['orphan-worktree', join(wtDir, 'manual'), false],
    ]);
    const [dirty, manual] = check.report.problems;
    expect(check.report.notes).toEqual([
      {
        kind: 'kept-worktree',
        path: join(wtDir, '82'),
        message: expect.stringContaining('git coord cleanup'),
      },
    ]);
    expect(check.report.notes![0]!.message).toMatch(
      /branch coord\/82 of lease 82, closed \(released\), was kept; it is clean/,
    );
    expect(dirty!.message).toMatch(/no lease names it; it has 1 uncommitted change\(s\)/);
    expect(manual!.message).toContain(
      `git coord claim <key> --branch manual --worktree ${join(wtDir, 'manual')}`,
    );

    const fixed = await doctor(dir, '--fix');
    expect(fixed.code).toBe(1);
    expect(fixed.report.problems.map((p) => [p.kind, p.fixed])).toEqual([
      ['orphan-worktree', false],
      ['orphan-worktree', false],
    ]);
    for (const name of ['81', '82', 'dirty', 'manual']) expect(existsSync(join(wtDir, name))).toBe(true);
    expect(existsSync(join(wtDir, 'dirty', 'work.txt'))).toBe(true);

    // the command the message gives works on the clean one; the dirty one needs the user
    sh(dir, 'worktree', 'remove', join(wtDir, 'manual'));
    expect((await doctor(dir)).report.problems.map((p) => p.path)).toEqual([join(wtDir, 'dirty')]);
  });

  it('reports worktrees whose directory is gone; --fix removes only git registration, a lease keeps it reported', async () => {
    const { dir } = coordRepo();
    const wtDir = join(dir, '.coord', 'worktrees');
    expect((await coord(dir, ['claim', '90', '--json'])).code).toBe(0);
    mkdirSync(wtDir, { recursive: true });
    sh(dir, 'worktree', 'add', '-q', '-b', 'gone', join(wtDir, 'gone'));
    rmSync(join(wtDir, '90'), { recursive: true, force: true });
    rmSync(join(wtDir, 'gone'), { recursive: true, force: true });
    const outside = addWorktree(dir, 'outside');
    rmSync(outside, { recursive: true, force: true });

    const check = await doctor(dir);
    expect(check.code).toBe(1);
    expect(check.report.problems.map((p) => [p.kind, p.path, p.fixed])).toEqual([
      ['missing-worktree', join(wtDir, '90'), false],
      ['missing-worktree', join(wtDir, 'gone'), false],
    ]);
    expect(check.report.problems[0]!.message).toMatch(
      /lease 90 \(open\) still names it: .*git coord release 90/,
    );
    expect(check.report.problems[1]!.message).toMatch(
      /registers a worktree .* on branch gone, but its directory is gone/,
    );

    const fixed = await doctor(dir, '--fix');
    expect(fixed.code).toBe(1);
    expect(fixed.report.problems.map((p) => [p.kind, p.path, p.fixed])).toEqual([
      ['missing-worktree', join(wtDir, '90'), false],
      ['missing-worktree', join(wtDir, 'gone'), true],
    ]);
    const listed = sh(dir, 'worktree', 'list', '--porcelain');
    expect(listed).not.toContain(join(wtDir, 'gone'));
    expect(listed).not.toContain(join(wtDir, '90'));
    expect(listed).toContain(outside); // not ours: left to git worktree prune
    expect(sh(dir, 'rev-parse', '--verify', 'refs/heads/gone')).toMatch(/^[0-9a-f]{40}$/);

    const after = await doctor(dir, '--fix');
    expect(after.report.problems.map((p) => [p.kind, p.path, p.fixed])).toEqual([
      ['missing-worktree', join(wtDir, '90'), false],
    ]);
    expect(after.report.problems[0]!.message).toMatch(/no longer exists and git does not know/);
    expect((await coord(dir, ['release', '90', '--json'])).code).toBe(0);
    expect((await doctor(dir)).report).toEqual({ problems: [] });
  });
});
