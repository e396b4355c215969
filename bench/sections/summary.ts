/**
 * Section: recovering from a dead holder. The holder of a lock / lease was killed; 8 contenders notice
 * at the same moment and each tries to take over. Correct = exactly one ends up holding it. Compares a
 * pid lock file (break the lock when its pid is dead, the common recipe) with `git-coord takeover`
 * (a CAS on the lease ref), as real processes, several trials each.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { scratchDir } from '../scratch.js';
import type { BenchSection } from '../table.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'git-coord.mjs');
const CONTENDERS = 8;
/** Trials per approach: pid-lock trials are cheap (long-lived contenders), each takeover trial starts 9 CLIs. */
const PID_LOCK_TRIALS = 40;
const TAKEOVER_TRIALS = 12;

/** A pid that belonged to a process which has exited (no process has it now). */
function deadPid(): number {
  const res = spawnSync('sh', ['-c', 'echo $$']);
  return Number(String(res.stdout).trim());
}

/** Per trial: how many contenders believed they held the lock. */
async function pidLockTrials(dir: string): Promise<number[]> {
  const children = Array.from({ length: CONTENDERS }, () =>
    spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/workers/pidlock-contender.ts')], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const lines = children.map((c) => createInterface({ input: c.stdout })[Symbol.asyncIterator]());
  const next = async (i: number) => {
    const r = await lines[i]!.next();
    if (r.done) throw new Error(`pid-lock contender ${i} exited early`);
    return r.value as string;
  };
  await Promise.all(children.map((_, i) => next(i)));
  const holders: number[] = [];
  for (let t = 0; t < PID_LOCK_TRIALS; t++) {
    const file = join(dir, `trial-${t}.pid`);
    writeFileSync(file, String(deadPid()));
    for (const c of children) c.stdin.write(`${file}\n`);
    const results = await Promise.all(
      children.map(async (_, i) => JSON.parse(await next(i)) as { held: boolean }),
    );
    holders.push(results.filter((r) => r.held).length);
  }
  for (const c of children) c.stdin.end();
  return holders;
}

/** Runs the CLI as a real process; resolves with its exit code and stderr. */
function cli(args: string[], cwd: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b) => {
      stderr += b;
    });
    child.on('close', (code) => resolve({ code: code ?? 128, stderr }));
  });
}

/** Per trial: how many of the concurrent `git-coord takeover` processes exited 0. */
async function takeoverTrials(dir: string): Promise<number[]> {
  const repo = join(dir, 'repo');
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'b',
    GIT_AUTHOR_EMAIL: 'b@x',
    GIT_COMMITTER_NAME: 'b',
    GIT_COMMITTER_EMAIL: 'b@x',
  };
  spawnSync('git', ['init', '-q', repo]);
  spawnSync('git', ['commit', '-q', '--allow-empty', '-m', 'start'], { cwd: repo, env });
  const holders: number[] = [];
  for (let t = 0; t < TAKEOVER_TRIALS; t++) {
    const key = `t${t}`;
    // The holder: a real agent process, killed after its claim (claim --pid refuses a pid that is gone).
    const agent = spawn('sleep', ['300'], { stdio: 'ignore' });
    const exited = new Promise((r) => agent.once('exit', r));
    const claimed = await cli(
      ['claim', key, '--no-worktree', '--holder', 'dead-agent', '--pid', String(agent.pid)],
      repo,
    );
    agent.kill('SIGKILL');
    await exited;
    if (claimed.code !== 0) throw new Error(`claim ${key} exited ${claimed.code}: ${claimed.stderr}`);
    const codes = await Promise.all(
      Array.from({ length: CONTENDERS }, (_, i) =>
        cli(['takeover', key, '--holder', `contender-${i}`], repo),
      ),
    );
    const odd = codes.find((c) => c.code !== 0 && c.code !== 3);
    if (odd) throw new Error(`takeover ${key} exited ${odd.code}: ${odd.stderr}`);
    holders.push(codes.filter((c) => c.code === 0).length);
  }
  return holders;
}

function row(approach: string, holders: number[]): Array<string | number> {
  return [
    approach,
    CONTENDERS,
    holders.length,
    holders.filter((h) => h === 1).length,
    holders.filter((h) => h >= 2).length,
    holders.filter((h) => h === 0).length,
    Math.max(...holders),
  ];
}

export default async function summary(): Promise<BenchSection> {
  const base = scratchDir('recovery');
  const pidLock = await pidLockTrials(base);
  const takeover = await takeoverTrials(base);
  return {
    title: `Recovering from a dead holder: ${CONTENDERS} contenders take over at once`,
    columns: [
      'approach',
      'contenders',
      'trials',
      'exactly 1 holder',
      '2+ holders',
      'no holder',
      'max holders',
    ],
    rows: [
      row('pid lock file (O_EXCL; break if the pid is dead)', pidLock),
      row('`git-coord takeover` (CAS on the lease ref)', takeover),
    ],
    notes: [
      'Each trial starts from a lock file / lease whose holder pid is dead. Pid-lock contenders are ' +
        'long-lived processes released together per trial; each `git-coord takeover` is its own cold process.',
      'With a pid lock file two contenders can both see the dead pid; the slower one then unlinks the lock the ' +
        'faster one just created and creates its own: both believe they hold it.',
      'A plain O_EXCL lock file without a pid cannot be recovered automatically at all: it blocks every ' +
        'contender until someone removes it by hand.',
    ],
  };
}
