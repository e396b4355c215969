import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Lease } from '../../src/records/schemas.js';
import { cli, expectConsistent, makeCoordRepo, record, sleep } from '../cli/helpers.js';
import { cleanup, sh, tempDir } from '../fixtures/repo.js';
import { alive, branchCommits, killGroup, showLease, start, waitFor } from './helpers.js';

/**
 * `git coord run` with real processes on real repositories: heartbeats that keep a 2 s lease alive,
 * a takeover that stops the command, signals, SIGKILL of the runner, exit codes and attempts.
 */

afterAll(cleanup);

/** No clock skew: a lease is expired ttl after its last heartbeat, so heartbeats really matter. */
const CONFIG = { leases: { ttl: '15m', skew: '0s' } };
const as = (holder: string) => ({ COORD_HOLDER: holder });

/** A repository with `git coord init` run (hooks installed). */
async function initRepo(config: object = CONFIG): Promise<string> {
  const dir = makeCoordRepo(config);
  const res = await cli(dir, ['init']);
  expect(res.code, res.stderr).toBe(0);
  return dir;
}

/** Writes an executable sh script in a temp dir and returns its path. */
function script(body: string): string {
  const path = join(tempDir('coord-script-'), 'agent.sh');
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}

/** Reads the report file `run` writes for `parallel` (to learn the command's pid). */
function report(path: string): { status: string; commandPid: number | null } | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

describe('git coord run: heartbeats', () => {
  it('a 6 s command under --ttl 2s: never expired (checked every 0.5 s from outside), done after, its commits landed', async () => {
    const dir = makeCoordRepo(CONFIG);
    const work = script(
      'for i in 1 2 3; do sleep 2; echo "$i" > "step-$i"; git add "step-$i"; git commit -qm "step $i"; done',
    );
    const run = start(dir, ['run', 'w', '--ttl', '2s', '--', work], as('agent-a'));
    let exitedAt = 0;
    void run.result.then(() => {
      exitedAt = Date.now();
    });
    // A look from outside every 0.5 s (each a real `git coord show` process, not waiting for the last).
    const looks: Array<Promise<{ at: number; state: string; stale: string | null; pid: number | null }>> = [];
    await waitFor('the lease', () => (record(dir, 'refs/coord/leases/w') ? true : undefined));
    while (!exitedAt) {
      looks.push(
        showLease(dir, 'w').then((l) => ({
          at: Date.now(),
          state: l.state,
          stale: l.stale,
          pid: l.holder.pid,
        })),
      );
      await sleep(500);
    }
    // A look that saw the lease closed ran after the end (a loaded machine makes each look slow).
    const seen = (await Promise.all(looks)).filter((l) => l.state === 'open').map(({ at, ...l }) => l);
    const res = await run.result;
    expect(res.code, res.stderr).toBe(0);
    // Every look while it ran: open, not stale, held by the runner's pid.
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (const s of seen) expect(s).toEqual({ state: 'open', stale: null, pid: run.child.pid });
    const lease = record(dir, 'refs/coord/leases/w')!;
    expect(lease).toMatchObject({ state: 'closed', outcome: 'done', token: 1 });
    // claim, attempt start, a heartbeat every ~0.67 s for over 6 s, attempt end, done.
    const verbs = readFileSync(join(dir, '.git', 'logs', 'refs', 'coord', 'leases', 'w'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => /coord: (\S+)/.exec(l)![1]);
    expect(verbs.filter((v) => v === 'renew').length).toBeGreaterThanOrEqual(6);
    expect(verbs.slice(0, 2)).toEqual(['claim', 'run-start']);
    expect(verbs.slice(-2)).toEqual(['run-end', 'done']);
    expect(lease.attempts).toEqual([
      expect.objectContaining({
        number: 1,
        result: 'done',
        exit: 0,
        signal: null,
        token: 1,
        pid: run.child.pid,
      }),
    ]);
    expect(branchCommits(dir, 'coord/w')).toEqual(['step 1', 'step 2', 'step 3']);
    expect(res.stderr).toContain('lease w done');
  });

  it('gives the command COORD_KEY, COORD_HOLDER, COORD_TOKEN, COORD_WORKTREE and runs it in the worktree', async () => {
    const dir = makeCoordRepo(CONFIG);
    const res = await cli(
      dir,
      [
        'run',
        'env',
        '--',
        'sh',
        '-c',
        'echo "$COORD_KEY|$COORD_HOLDER|$COORD_TOKEN|$COORD_WORKTREE|$COORD_ATTEMPT|$PWD"',
      ],
      as('agent-a'),
    );
    expect(res.code, res.stderr).toBe(0);
    const wt = join(dir, '.coord', 'worktrees', 'env');
    expect(res.stdout.trim()).toBe(`env|agent-a|1|${wt}|1|${wt}`);
  });
});

describe('git coord run: losing the lease', () => {
  it('a takeover while it runs: the command is stopped within one heartbeat + grace, exit 3, nothing committed after the takeover', async () => {
    const dir = await initRepo();
    const pidFile = join(tempDir('coord-pid-'), 'pid');
    // Ignores SIGTERM, so the runner must escalate to SIGKILL after --grace; commits every 0.2 s,
    // each message carrying the time (ms) it was decided on, before `git commit` starts.
    const work = script(
      `echo $$ > ${pidFile}; trap '' TERM; i=0; while :; do i=$((i+1)); echo $i > n; git add n; ` +
        'git commit -qm "c$i $(date +%s%3N)" 2>/dev/null || echo refused >&2; sleep 0.2; done',
    );
    const run = start(dir, ['run', 't', '--ttl', '3s', '--grace', '1s', '--', work], as('agent-a'));
    await waitFor('three commits', () => (branchCommits(dir, 'coord/t').length >= 3 ? true : undefined));
    const take = await cli(
      dir,
      ['takeover', 't', '--force', '--reason', 'test: take it', '--json'],
      as('agent-b'),
    );
    expect(take.code, take.stderr).toBe(0);
    const tookAt = Date.now();
    const res = await run.result;
    const stoppedMs = Date.now() - tookAt;
    expect(res.code, res.stderr).toBe(3);
    expect(res.stderr).toContain('lease lost');
    expect(res.stderr).toMatch(/SIGKILL/);
    // Heartbeat every 1 s + 1 s grace; the rest is slack for a loaded machine.
    expect(stoppedMs).toBeLessThan(1000 + 1000 + 10_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(pid)).toBe(false);
    const stamps = branchCommits(dir, 'coord/t').map((s) => Number(s.split(' ')[1]));
    expect(stamps.length).toBeGreaterThanOrEqual(3);
    for (const t of stamps) expect(t).toBeLessThan(tookAt);
    const lease = expectConsistent(dir, 't');
    expect(lease).toMatchObject({ state: 'open', token: 2, holder: { id: 'agent-b' } });
    expect(lease.attempts?.[0]).toMatchObject({ number: 1, result: 'lost', holder: 'agent-a', token: 1 });
  });

  it('SIGINT to run: the command gets it, the lease ends closed aborted (attempt aborted, exit 130)', async () => {
    const dir = makeCoordRepo(CONFIG);
    const mark = join(tempDir('coord-mark-'), 'got');
    const work = script(`trap 'echo INT > ${mark}; exit 130' INT; echo ready; while :; do sleep 0.1; done`);
    const run = start(dir, ['run', 's', '--grace', '5s', '--', work], as('agent-a'));
    let out = '';
    run.child.stdout.on('data', (b) => {
      out += b;
    });
    await waitFor('the command', () => (out.includes('ready') ? true : undefined));
    run.child.kill('SIGINT');
    const res = await run.result;
    expect(res.code, res.stderr).toBe(130);
    expect(readFileSync(mark, 'utf8')).toBe('INT\n');
    const lease = record(dir, 'refs/coord/leases/s')!;
    expect(lease).toMatchObject({ state: 'closed', outcome: 'aborted' });
    expect(lease.attempts![0]).toMatchObject({ result: 'aborted', exit: 130 });
    expect(lease.attempts![0]!.reason).toContain('SIGINT');
  });

  it('SIGKILL to the runner: the lease shows holder-dead at once and another holder takes it over', async () => {
    const dir = makeCoordRepo(CONFIG);
    const reportFile = join(tempDir('coord-report-'), 'r.json');
    const run = start(dir, ['run', 'k', '--report-file', reportFile, '--', 'sleep', '60'], as('agent-a'));
    const rep = await waitFor('the command', () => report(reportFile));
    try {
      const exited = new Promise((r) => run.child.once('exit', r));
      run.child.kill('SIGKILL');
      // (Not run.result: the orphaned command still holds the runner's stdout.)
      await exited;
      const seen = await showLease(dir, 'k');
      expect(seen).toMatchObject({ state: 'open', stale: 'holder-dead', holder: { pid: run.child.pid } });
      const take = await cli(dir, ['takeover', 'k', '--json'], as('agent-b'));
      expect(take.code, take.stderr).toBe(0);
      expect(JSON.parse(take.stdout)).toMatchObject({ token: 2, holder: { id: 'agent-b' } });
    } finally {
      // The command is in its own process group: a SIGKILLed runner cannot take it along.
      killGroup(rep.commandPid!);
    }
  });
});

describe('git coord run --pool', () => {
  it('a runner killed with SIGKILL frees its slot at once: the next run takes the slot over', async () => {
    const dir = makeCoordRepo(CONFIG);
    const reportFile = join(tempDir('coord-report-'), 'r.json');
    const first = start(
      dir,
      ['run', 'p1', '--pool', 'solo:1', '--report-file', reportFile, '--', 'sleep', '60'],
      as('agent-a'),
    );
    const rep = await waitFor('the command', () => report(reportFile));
    try {
      expect(record(dir, 'refs/coord/leases/pool.solo.1')).toMatchObject({
        state: 'open',
        holder: { pid: first.child.pid },
        worktree: null,
        branch: null,
      });
      const exited = new Promise((r) => first.child.once('exit', r));
      first.child.kill('SIGKILL');
      await exited;
      const next = await cli(dir, ['run', 'p2', '--pool', 'solo:1', '--', 'true'], as('agent-b'));
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).toContain('holding pool slot pool.solo.1');
      const slot = record(dir, 'refs/coord/leases/pool.solo.1')!;
      expect(slot).toMatchObject({ state: 'closed', outcome: 'released', token: 2 });
    } finally {
      killGroup(rep.commandPid!);
    }
  });

  it('a full pool makes a run wait until a slot frees', async () => {
    const dir = makeCoordRepo(CONFIG);
    const slow = start(dir, ['run', 'w1', '--pool', 'one:1', '--', 'sleep', '2'], as('agent-a'));
    await waitFor('the slot', () =>
      record(dir, 'refs/coord/leases/pool.one.1')?.state === 'open' ? true : undefined,
    );
    const waited = await cli(dir, ['run', 'w2', '--pool', 'one:1', '--', 'true'], as('agent-b'));
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stderr).toContain('every slot of pool one is busy; waiting');
    const a = record(dir, 'refs/coord/leases/w1')!;
    const b = record(dir, 'refs/coord/leases/w2')!;
    // w2's command started only after w1's ended.
    expect(Date.parse(b.attempts![0]!.startedAt)).toBeGreaterThanOrEqual(
      Date.parse(a.attempts![0]!.endedAt!),
    );
    expect((await slow.result).code).toBe(0);
  });
});

describe('git coord run: how the command ends', () => {
  it('exit 1: closed failed with exit code 1 and the attempt recorded; --max-attempts 2 refuses the third run (exit 4)', async () => {
    const dir = makeCoordRepo(CONFIG);
    const counter = join(tempDir('coord-count-'), 'runs');
    const cmd = ['sh', '-c', `echo x >> ${counter}; exit 1`];
    for (const n of [1, 2]) {
      const res = await cli(dir, ['run', 'f', '--max-attempts', '2', '--', ...cmd], as('agent-a'));
      expect(res.code, res.stderr).toBe(1);
      const lease = record(dir, 'refs/coord/leases/f')!;
      expect(lease).toMatchObject({ state: 'closed', outcome: 'failed', token: n });
      expect(lease.attempts).toHaveLength(n);
      expect(lease.attempts!.at(-1)).toMatchObject({ number: n, result: 'failed', exit: 1, token: n });
    }
    const before = sh(dir, 'rev-parse', 'refs/coord/leases/f');
    const third = await cli(dir, ['run', 'f', '--max-attempts', '2', '--', ...cmd], as('agent-a'));
    expect(third.code, third.stderr).toBe(4);
    expect(third.stderr).toContain('used 2 of 2 attempts');
    expect(third.stderr).toMatch(/#1 failed exit 1/);
    expect(third.stderr).toMatch(/#2 failed exit 1/);
    expect(readFileSync(counter, 'utf8')).toBe('x\nx\n');
    expect(sh(dir, 'rev-parse', 'refs/coord/leases/f')).toBe(before);
    const shown = await cli(dir, ['show', 'f']);
    expect(shown.stdout).toMatch(/attempts\s+#1 failed exit 1/);
    expect(shown.stdout).toMatch(/\n\s+#2 failed exit 1/);
  });

  it('--keep keeps a failing run open (live by TTL), the same holder runs it again; --release releases on exit 0', async () => {
    const dir = makeCoordRepo(CONFIG);
    const kept = await cli(dir, ['run', 'k', '--keep', '--', 'sh', '-c', 'exit 7'], as('agent-a'));
    expect(kept.code, kept.stderr).toBe(7);
    const open = await showLease(dir, 'k');
    expect(open).toMatchObject({ state: 'open', stale: null, holder: { pid: null } });
    expect(open.attempts![0]).toMatchObject({ result: 'kept', exit: 7 });
    const again = await cli(dir, ['run', 'k', '--release', '--', 'true'], as('agent-a'));
    expect(again.code, again.stderr).toBe(0);
    const l = record(dir, 'refs/coord/leases/k')!;
    expect(l).toMatchObject({ state: 'closed', outcome: 'released', token: 1 });
    expect(l.attempts!.map((a) => [a.number, a.result])).toEqual([
      [1, 'kept'],
      [2, 'released'],
    ]);
  });

  it('exit 0 with a failing gate: exit 4, the lease stays open for its holder, the gate named', async () => {
    const dir = makeCoordRepo({
      ...CONFIG,
      gates: {
        done: { when: '.planning/phases/{key}-*', require: ['.planning/phases/{key}-*/{key}-PLAN-CHECK.md'] },
      },
    });
    const work =
      'mkdir -p .planning/phases/7-x && echo plan > .planning/phases/7-x/PLAN.md && git add . && git commit -qm plan';
    const res = await cli(dir, ['run', '7', '--', 'sh', '-c', work], as('agent-a'));
    expect(res.code, res.stderr).toBe(4);
    expect(res.stderr).toContain('7-PLAN-CHECK.md');
    const l = await showLease(dir, '7');
    expect(l).toMatchObject({ state: 'open', stale: null, holder: { id: 'agent-a', pid: null } });
    expect(l.attempts![0]).toMatchObject({ result: 'gate-failed', exit: 0 });
    const fix = 'echo ok > .planning/phases/7-x/7-PLAN-CHECK.md && git add . && git commit -qm check';
    const ok = await cli(dir, ['run', '7', '--', 'sh', '-c', fix], as('agent-a'));
    expect(ok.code, ok.stderr).toBe(0);
    expect(record(dir, 'refs/coord/leases/7')).toMatchObject({ outcome: 'done', gate: { result: 'passed' } });
  });

  it('a key held by someone else: exit 3 naming the holder, the command never runs', async () => {
    const dir = makeCoordRepo(CONFIG);
    expect((await cli(dir, ['claim', 'h', '--no-worktree'], as('agent-b'))).code).toBe(0);
    const mark = join(tempDir('coord-mark-'), 'ran');
    const res = await cli(dir, ['run', 'h', '--', 'sh', '-c', `touch ${mark}`], as('agent-a'));
    expect(res.code, res.stderr).toBe(3);
    expect(res.stderr).toContain('held by agent-b');
    expect(existsSync(mark)).toBe(false);
  });

  it('bad input: no command, bad --max-attempts, bad --pool are usage errors (exit 2), nothing written', async () => {
    const dir = makeCoordRepo(CONFIG);
    for (const args of [
      ['run', 'u'],
      ['run', 'u', '--max-attempts', '0', '--', 'true'],
      ['run', 'u', '--pool', 'x', '--', 'true'],
      ['run', 'bad..key', '--', 'true'],
    ]) {
      const res = await cli(dir, args, as('agent-a'));
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(2);
      expect(res.stderr).not.toMatch(/\n\s+at /);
    }
    expect(record(dir, 'refs/coord/leases/u')).toBeNull();
  });

  it('a command that cannot start: exit 127, closed failed, the reason recorded', async () => {
    const dir = makeCoordRepo(CONFIG);
    const res = await cli(dir, ['run', 'n', '--', 'no-such-command-xyz'], as('agent-a'));
    expect(res.code, res.stderr).toBe(127);
    const l = record<Lease>(dir, 'refs/coord/leases/n')!;
    expect(l).toMatchObject({ outcome: 'failed' });
    expect(l.attempts![0]!.reason).toContain('could not start no-such-command-xyz');
  });
});
