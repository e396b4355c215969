import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OUTPUT_SCHEMAS } from '../../src/cli/schemas.js';
import type { Lease } from '../../src/records/schemas.js';
import { CLI, cli, makeCoordRepo, record, sleep, worktrees } from '../cli/helpers.js';
import { cleanup, collect, GIT_ENV, sh, tempDir } from '../fixtures/repo.js';
import { commitAs, initRepo } from '../hooks/helpers.js';

/**
 * Gate rule `run`: real commands in a pristine detached worktree at the gated commit, on real
 * repositories: an uncommitted edit cannot make it pass, a hanging command hits the timeout, SIGINT to
 * `git coord gate` stops it, and the verification worktree never outlives the run.
 */

afterAll(cleanup);

const as = (holder: string) => ({ COORD_HOLDER: holder });

/** `check.sh` (committed) passes only when flag.txt says yes. */
const CHECK = 'test "$(cat flag.txt)" = yes || { echo "flag is $(cat flag.txt)"; exit 1; }\n';

function repoWith(run: string[], timeout = '10m'): string {
  const dir = makeCoordRepo({ protect: ['main'], gates: { done: { run, timeout } } });
  writeFileSync(join(dir, 'check.sh'), CHECK);
  writeFileSync(join(dir, 'flag.txt'), 'no\n');
  sh(dir, 'add', 'check.sh', 'flag.txt');
  sh(dir, 'commit', '-q', '-m', 'check');
  return dir;
}

async function claimed(dir: string, key: string): Promise<string> {
  const res = await cli(dir, ['claim', key, '--json'], as('agent-a'));
  expect(res.code, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as Lease).worktree!.path;
}

/** Only the main worktree and the lease worktrees: no verification worktree left, its directory empty. */
function expectNoVerifyWorktree(dir: string): void {
  expect(worktrees(dir).filter((w) => w.path.includes('/coord/verify/'))).toEqual([]);
  const verify = join(dir, '.git', 'coord', 'verify');
  expect(existsSync(verify) ? readdirSync(verify) : []).toEqual([]);
  expect(sh(dir, 'worktree', 'list', '--porcelain')).not.toContain('prunable');
}

/** True while `pid` runs (a zombie waiting to be reaped by a container's init does not count). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('gate rule run', () => {
  it('passes only on the committed tree: an uncommitted fix in the agent worktree fails gate and done', async () => {
    const dir = repoWith(['sh check.sh']);
    const wt = await claimed(dir, '1');
    writeFileSync(join(wt, 'flag.txt'), 'yes\n'); // not committed
    expect(sh(wt, 'status', '--porcelain')).toBe('M flag.txt');
    // It passes in the agent's own worktree…
    const local = await new Promise<number | null>((r) =>
      spawn('sh', ['check.sh'], { cwd: wt }).on('exit', r),
    );
    expect(local).toBe(0);
    // …but not in the pristine one at the branch head.
    const gate = await cli(dir, ['gate', '1', '--json'], as('agent-a'));
    expect(gate.code, gate.stderr).toBe(4);
    const doc = OUTPUT_SCHEMAS.gate!.parse(JSON.parse(gate.stdout)) as {
      result: string;
      rules: Array<{ rule: string; status: string; detail: string }>;
    };
    expect(doc.result).toBe('failed');
    expect(doc.rules).toEqual([
      {
        rule: 'run sh check.sh',
        status: 'fail',
        detail: expect.stringMatching(/^exit 1 in .*: flag is no; output \//),
      },
    ]);
    const log = /output (\S+)$/.exec(doc.rules[0]!.detail)![1]!;
    expect(log.startsWith(join(dir, '.git', 'coord', 'gate-runs', '1'))).toBe(true);
    expect(readFileSync(log, 'utf8')).toContain('flag is no');
    expectNoVerifyWorktree(dir);

    const done = await cli(dir, ['done', '1'], as('agent-a'));
    expect(done.code, done.stderr).toBe(4);
    expect(done.stderr).toContain('missing: run sh check.sh: exit 1');
    expect(record(dir, 'refs/coord/leases/1')!.state).toBe('open');
    expectNoVerifyWorktree(dir);

    // Committed, it passes; done records the run in the lease's gate result.
    sh(wt, 'commit', '-q', '-am', 'flag: yes');
    const ok = await cli(dir, ['done', '1'], as('agent-a'));
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(
      /run sh check\.sh: pass \(exit 0\) in [\d.]+s; output <git dir>\/coord\/gate-runs\/1\//,
    );
    const lease = record(dir, 'refs/coord/leases/1')!;
    expect(lease.gate).toMatchObject({ result: 'passed', commit: sh(wt, 'rev-parse', 'HEAD') });
    expect(lease.gate!.runs).toEqual([
      {
        command: 'sh check.sh',
        status: 'pass',
        exitCode: 0,
        signal: null,
        durationMs: expect.any(Number),
        output: expect.stringMatching(/^coord\/gate-runs\/1\/.*-1\.log$/),
      },
    ]);
    expect(existsSync(join(dir, '.git', lease.gate!.runs![0]!.output))).toBe(true);
    expectNoVerifyWorktree(dir);
  });

  it('a command ignoring SIGTERM hits the timeout: killed, the gate fails, no worktree and no process left', async () => {
    const pidFile = join(tempDir('coord-pid-'), 'pid');
    const dir = repoWith([`echo $$ > ${pidFile}; trap '' TERM; sleep 60`, 'echo never'], '1s');
    await claimed(dir, '2');
    const started = Date.now();
    const gate = await cli(dir, ['gate', '2', '--json'], as('agent-a'));
    expect(gate.code, gate.stderr).toBe(4);
    // 1 s timeout + 2 s grace before SIGKILL; generous for a loaded machine.
    expect(Date.now() - started).toBeLessThan(30_000);
    const rules = JSON.parse(gate.stdout).rules as Array<{ rule: string; status: string; detail: string }>;
    expect(rules[0]).toMatchObject({ status: 'fail', detail: expect.stringContaining('timed out after') });
    expect(rules[1]).toMatchObject({ rule: 'run echo never', status: 'skip' });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(pid)).toBe(false);
    expectNoVerifyWorktree(dir);
  });

  it('SIGINT to git coord gate stops the command and removes the worktree', async () => {
    const pidFile = join(tempDir('coord-pid-'), 'pid');
    const dir = repoWith([`echo $$ > ${pidFile}; sleep 60`]);
    await claimed(dir, '3');
    const child = spawn(process.execPath, [CLI, 'gate', '3'], {
      cwd: dir,
      env: { ...process.env, ...GIT_ENV, COORD_HOLDER: 'agent-a', NO_COLOR: '1' },
    });
    const result = collect(child);
    for (let i = 0; i < 200 && !existsSync(pidFile); i++) await sleep(100);
    expect(existsSync(pidFile)).toBe(true);
    await sleep(100);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(pid)).toBe(true);
    expect(worktrees(dir).some((w) => w.path.includes('/coord/verify/'))).toBe(true);
    child.kill('SIGINT');
    const res = await result;
    expect(res.signal).toBe('SIGINT');
    expect(alive(pid)).toBe(false);
    expectNoVerifyWorktree(dir);
  });

  it('the commit-msg hook does not run the commands (too slow for a commit); done does', async () => {
    const dir = await initRepo({ protect: ['main'], gates: { done: { run: ['exit 1'] } } });
    const res = await cli(dir, ['claim', '4', '--json'], as('agent-a'));
    const wt = (JSON.parse(res.stdout) as Lease).worktree!.path;
    const commit = await commitAs(wt, 'agent-a', 'finish\n\nCoord-Done: 4\n');
    expect(commit.code, commit.stderr).toBe(0);
    expect(commit.stderr).toContain('gate done passed');
    const done = await cli(dir, ['done', '4'], as('agent-a'));
    expect(done.code, done.stderr).toBe(4);
    expect(done.stderr).toContain('missing: run exit 1: exit 1');
  });

  it('a bad timeout in the config is a clear error (exit 1), nothing run', async () => {
    const dir = repoWith(['sh check.sh'], 'soon');
    const res = await cli(dir, ['gate', '5'], as('agent-a'));
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('gates.done.timeout');
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });
});
