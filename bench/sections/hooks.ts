/**
 * Section: hooks. Median wall time `git commit` takes with the git-coord hooks installed minus the same
 * commit without them (hooks pointed at an empty directory), interleaved round-robin in one run beside
 * bare `node -e 0`:
 *   (a) a worktree with no coord records, in a repository that has leases (target <= 10 ms added);
 *   (b) a leased worktree committed by its holder: the hook renews the lease (target: added time
 *       <= 1.3x `node -e 0`).
 * Plus, for information, (b) with the identity from `git config user.email` instead of $COORD_HOLDER,
 * and (b) forced through node (`COORD_HOOK_NODE=1`), the path taken when the shell cannot decide.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from '../scratch.js';
import { type BenchSection, percentile } from '../table.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'git-coord.mjs');
const RUNS = 31;

const BASE_ENV: Record<string, string> = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
  NO_COLOR: '1',
};

function env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...BASE_ENV };
  delete e.COORD_HOLDER;
  delete e.COORD_PID;
  delete e.COORD;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete e[k];
    else e[k] = v;
  }
  return e;
}

function must(cmd: string, args: string[], cwd: string, e = env()): string {
  const res = spawnSync(cmd, args, { cwd, env: e, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${res.status}: ${res.stderr}`);
  return res.stdout;
}

interface Job {
  cmd: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** Runs every job RUNS times round-robin (so machine noise hits all alike); returns median and p10. */
function measure(jobs: Job[]): Array<{ p50: number; p10: number }> {
  const times = jobs.map(() => [] as number[]);
  for (const job of jobs) spawnSync(job.cmd, job.args, { cwd: job.cwd, env: job.env }); // warm up
  for (let r = 0; r < RUNS; r++) {
    jobs.forEach((job, j) => {
      const t0 = performance.now();
      const res = spawnSync(job.cmd, job.args, { cwd: job.cwd, env: job.env, encoding: 'utf8' });
      times[j]!.push(performance.now() - t0);
      if (res.status !== 0)
        throw new Error(`${job.cmd} ${job.args.join(' ')}: exit ${res.status}: ${res.stderr}`);
    });
  }
  return times.map((t) => ({ p50: percentile(t, 50), p10: percentile(t, 10) }));
}

export default async function hooks(): Promise<BenchSection> {
  const base = realpathSync(scratchDir('hooks'));
  const dir = join(base, 'repo');
  const noHooks = join(base, 'no-hooks');
  mkdirSync(dir);
  mkdirSync(noHooks);
  must('git', ['init', '-q', '-b', 'main'], dir);
  must('git', ['config', 'user.email', 'holder@example.com'], dir);
  must('git', ['commit', '-q', '--allow-empty', '-m', 'init'], dir);
  must('node', [CLI, 'init'], dir);
  must('git', ['add', '-A'], dir);
  must('git', ['commit', '-q', '--no-verify', '-m', 'coord config'], dir);
  // Leases held by others elsewhere (so the repository has records), and one for the holder.
  must('node', [CLI, 'claim', 'other-1'], dir, env({ COORD_HOLDER: 'agent-x' }));
  must('node', [CLI, 'claim', 'other-2'], dir, env({ COORD_HOLDER: 'agent-y' }));
  const leased = JSON.parse(
    must('node', [CLI, 'claim', '65', '--json'], dir, env({ COORD_HOLDER: 'holder@example.com' })),
  ).worktree.path as string;

  const commit = (cwd: string, hooksOn: boolean, e: NodeJS.ProcessEnv): Job => ({
    cmd: 'git',
    args: [
      ...(hooksOn ? [] : ['-c', `core.hooksPath=${noHooks}`]),
      'commit',
      '-q',
      '--allow-empty',
      '-m',
      'bench',
    ],
    cwd,
    env: e,
  });
  const holder = env({ COORD_HOLDER: 'holder@example.com' });
  const anyone = env({ COORD_HOLDER: 'someone@example.com' });
  const fromConfig = env();
  const viaNode = env({ COORD_HOLDER: 'holder@example.com', COORD_HOOK_NODE: '1' });
  const before = must('git', ['rev-parse', 'refs/coord/leases/65'], dir).trim();
  const [node, aOff, aOn, bOff, bOn, cOff, cOn, dOff, dOn] = measure([
    { cmd: process.execPath, args: ['-e', '0'], cwd: dir, env: env() },
    commit(dir, false, anyone),
    commit(dir, true, anyone),
    commit(leased, false, holder),
    commit(leased, true, holder),
    commit(leased, false, fromConfig),
    commit(leased, true, fromConfig),
    commit(leased, false, viaNode),
    commit(leased, true, viaNode),
  ]);
  const after = must('git', ['rev-parse', 'refs/coord/leases/65'], dir).trim();
  if (after === before) throw new Error('the holder commits did not renew the lease');

  // The reference-transaction hook alone (issue 10): a hooks directory holding only it, against the
  // empty one, on a commit to a branch no lease holds (main) and on a fetch of 1,000 new refs.
  const rtOnly = join(base, 'rt-only');
  const exit0 = join(base, 'exit-0');
  mkdirSync(rtOnly);
  mkdirSync(exit0);
  copyFileSync(join(dir, '.git', 'hooks', 'reference-transaction'), join(rtOnly, 'reference-transaction'));
  writeFileSync(join(exit0, 'reference-transaction'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const withHooks = (hooksDir: string, args: string[], cwd: string, e: NodeJS.ProcessEnv): Job => ({
    cmd: 'git',
    args: ['-c', `core.hooksPath=${hooksDir}`, ...args],
    cwd,
    env: e,
  });
  const plainCommit = ['commit', '-q', '--allow-empty', '-m', 'bench'];
  const [rtOff, rtOn] = measure([
    withHooks(noHooks, plainCommit, dir, anyone),
    withHooks(rtOnly, plainCommit, dir, anyone),
  ]);
  const remote = join(base, 'remote.git');
  must('git', ['init', '-q', '--bare', remote], base);
  const head = must('git', ['rev-parse', 'HEAD'], dir).trim();
  const lines = Array.from({ length: 1000 }, (_, i) => `create refs/heads/many/b${i} ${head}\n`).join('');
  must('git', ['push', '-q', '--no-verify', remote, 'main'], dir);
  spawnSync('git', ['update-ref', '--stdin'], { cwd: remote, input: lines, env: env() });
  const fetchRuns = 5;
  const fetchTimes = [noHooks, exit0, rtOnly].map(() => [] as number[]);
  for (let r = 0; r < fetchRuns; r++) {
    [noHooks, exit0, rtOnly].forEach((hooksDir, j) => {
      const t0 = performance.now();
      must(
        'git',
        ['-c', `core.hooksPath=${hooksDir}`, 'fetch', '-q', remote, '+refs/heads/many/*:refs/bench/many/*'],
        dir,
        anyone,
      );
      fetchTimes[j]!.push(performance.now() - t0);
      const del = Array.from({ length: 1000 }, (_, i) => `delete refs/bench/many/b${i}\n`).join('');
      const res = spawnSync('git', ['-c', `core.hooksPath=${noHooks}`, 'update-ref', '--stdin'], {
        cwd: dir,
        input: del,
        env: env(),
      });
      if (res.status !== 0) throw new Error(`cleaning up the fetched refs: ${res.stderr}`);
    });
  }
  const [fNone, fExit0, fOurs] = fetchTimes.map((t) => percentile(t, 50));

  type Stat = { p50: number; p10: number };
  const ms = (v: number) => Number(v.toFixed(1));
  const n = node!;
  const row = (label: string, off: Stat, on: Stat, target: string) => [
    label,
    ms(off.p50),
    ms(on.p50),
    ms(on.p50 - off.p50),
    `${((on.p50 - off.p50) / n.p50).toFixed(2)}x`,
    `${ms(on.p10 - off.p10)} / ${((on.p10 - off.p10) / n.p10).toFixed(2)}x`,
    target,
  ];
  return {
    title: 'Hooks: time added to `git commit` (with the hooks − without, same run)',
    columns: [
      'case',
      'commit without hooks ms',
      'with hooks ms',
      'added ms',
      'added / `node -e 0`',
      'p10: added ms / ratio',
      'target',
    ],
    rows: [
      ['`node -e 0` (reference)', '—', ms(n.p50), '—', '1.00x', `p10 ${ms(n.p10)} ms`, '—'],
      row('(a) worktree with no coord records', aOff!, aOn!, '<= 10 ms'),
      row('(b) leased worktree, holder commits ($COORD_HOLDER)', bOff!, bOn!, '<= 1.3x node'),
      row('(b) same, identity from `git config user.email`', cOff!, cOn!, '—'),
      row('(b) same, decided by node (`COORD_HOOK_NODE=1`, the fallback path)', dOff!, dOn!, '—'),
      row('(c) reference-transaction alone: commit on a branch no lease holds', rtOff!, rtOn!, '<= +5 ms'),
      [
        '(d) `git fetch` of 1,000 new refs: no hook / an `exit 0` reference-transaction / ours',
        ms(fNone!),
        `${ms(fExit0!)} / ${ms(fOurs!)}`,
        `${ms(fExit0! - fNone!)} / ${ms(fOurs! - fNone!)}`,
        '—',
        `ours − exit 0: ${ms(fOurs! - fExit0!)} ms`,
        'ours ≈ exit 0',
      ],
    ],
    notes: [
      `Medians (and 10th percentiles) of ${RUNS} cold runs per row, interleaved round-robin; \`git commit -q --allow-empty\`, without hooks ` +
        '= `-c core.hooksPath=<empty dir>`.',
      '(a): pre-commit and commit-msg run as POSIX sh only (one `git for-each-ref`), no node. (b): the holder ' +
        'path is settled in sh with git plumbing (records read with `for-each-ref %(raw)`, renewed blob via ' +
        '`hash-object`, one `update-ref --stdin` CAS that verifies the index refs); node starts only to refuse ' +
        'another holder or when the shell cannot decide. Every holder commit was checked to move ' +
        '`refs/coord/leases/65`.',
      'Row (b) forced through node: one node start (`git-coord hook pre-commit`, dispatched before yargs) ' +
        'plus one CAS.',
      '(c): a hooks directory holding only the reference-transaction script; git runs it twice per ref ' +
        'transaction (prepared, committed). A commit touching no leased branch costs two sh starts and one ' +
        '`git for-each-ref` (its refs/heads line is looked up in refs/coord/branches); no node.',
      `(d): medians of ${fetchRuns} runs. git 2.39 fetches each ref in its own transaction (without ` +
        '`--atomic`), so any reference-transaction hook is started twice per fetched ref: that cost is ' +
        "git's (the `exit 0` hook pays it too). Ours ends after reading stdin when no line names refs/heads/; " +
        '`git fetch --atomic` makes one transaction.',
    ],
  };
}
