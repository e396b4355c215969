/**
 * Section: CLI start-up. Cold-process wall time of the read commands (`show`, `status`, `list` at 10
 * leases) and of `claim <key> --no-worktree` beside `node -e 0` in the same run (interleaved, so
 * machine noise hits all alike), and `claim` in a repository holding 10,000 leases against one holding
 * 10. The executable is package.json's `bin` (`dist/git-coord.cjs`); `dist/git-coord.mjs` (the same CLI
 * as an ES module entry) is measured beside it.
 * Targets (issues 3, 12): each of them <= 1.3x `node -e 0`; claim(10,000) <= 1.2x claim(10).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LeaseType } from '../../src/records/schemas.js';
import { writeRecord } from '../../src/records/store.js';
import { discoverRepo, git } from '../../src/refs/index.js';
import { benchLease } from '../lease.js';
import { scratchDir } from '../scratch.js';
import { type BenchSection, percentile } from '../table.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(
  ROOT,
  (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin[
    'git-coord'
  ]!,
);
const CLI_MJS = join(ROOT, 'dist', 'git-coord.mjs');
const RUNS = 21;
if (!existsSync('/usr/bin/time')) throw new Error('bench cli needs GNU time at /usr/bin/time');

/**
 * A repository with one commit and `n` open leases `p00000…`, written fast: one writeBlob per record
 * and a sorted `packed-refs` file written directly (as `git pack-refs --all` leaves them).
 */
function seed(base: string, n: number): string {
  const dir = join(base, `repo-${n}`);
  mkdirSync(dir);
  git(['init', '-q', '-b', 'main', dir], { cwd: base });
  git(['-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-q', '--allow-empty', '-m', 'init'], {
    cwd: dir,
  });
  const repo = discoverRepo(dir);
  const at = new Date().toISOString();
  const lines = ['# pack-refs with: peeled fully-peeled sorted '];
  for (let i = 0; i < n; i++) {
    const key = `p${String(i).padStart(5, '0')}`;
    lines.push(`${writeRecord(repo, LeaseType, benchLease(key, new Date(at)))} refs/coord/leases/${key}`);
  }
  writeFileSync(join(repo.commonDir, 'packed-refs'), `${lines.join('\n')}\n`);
  return dir;
}

/** Wall and CPU (user + sys, from GNU time) milliseconds of one job: median and p10 over the runs. */
interface Timing {
  p50: number;
  p10: number;
  cpu: number;
}

/**
 * Runs each job `RUNS` times, round-robin (machine noise hits all jobs alike), under GNU time for the
 * child's CPU time, which a busy machine disturbs far less than wall time.
 */
function measure(jobs: Array<{ cwd: string; args: (run: number) => string[] }>): Timing[] {
  const wall = jobs.map(() => [] as number[]);
  const cpu = jobs.map(() => [] as number[]);
  for (let run = 0; run < RUNS; run++) {
    jobs.forEach((job, j) => {
      const args = job.args(run);
      const t0 = performance.now();
      const res = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...args], {
        cwd: job.cwd,
        encoding: 'utf8',
      });
      wall[j]!.push(performance.now() - t0);
      if (res.status !== 0) throw new Error(`node ${args.join(' ')} exited ${res.status}: ${res.stderr}`);
      const [user, sys] = res.stderr.trim().split('\n').pop()!.split(' ').map(Number);
      cpu[j]!.push((user! + sys!) * 1000);
    });
  }
  return wall.map((t, j) => ({
    p50: percentile(t, 50),
    p10: percentile(t, 10),
    cpu: percentile(cpu[j]!, 50),
  }));
}

export default async function cli(): Promise<BenchSection> {
  const base = scratchDir('cli');
  const small = seed(base, 10);
  const large = seed(base, 10_000);
  const env = ['--holder', 'bench'];
  // Warm the page cache and the object store once.
  spawnSync(process.execPath, [CLI, 'show', 'p00001'], { cwd: large });
  const [node, version, show, showMjs, status, list, showLarge, claimSmall, claimLarge] = measure([
    { cwd: small, args: () => ['-e', '0'] },
    { cwd: small, args: () => [CLI, '--version'] },
    { cwd: small, args: () => [CLI, 'show', 'p00001'] },
    { cwd: small, args: () => [CLI_MJS, 'show', 'p00001'] },
    { cwd: small, args: () => [CLI, 'status'] },
    { cwd: small, args: () => [CLI, 'list'] },
    { cwd: large, args: () => [CLI, 'show', 'p00001'] },
    { cwd: small, args: (r) => [CLI, 'claim', `new-${r}`, '--no-worktree', ...env] },
    { cwd: large, args: (r) => [CLI, 'claim', `new-${r}`, '--no-worktree', ...env] },
  ]);
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const row = (what: string, n: number, t: Timing, ref: Timing, limit: number | null, of = 'node') => [
    what,
    n,
    t.p50,
    t.p10,
    t.cpu,
    `${x(t.p50, ref.p50)} (p10 ${x(t.p10, ref.p10)}, cpu ${x(t.cpu, ref.cpu)})`,
    limit === null ? '—' : `<= ${limit}x ${of}`,
    limit === null ? '—' : t.p50 / ref.p50 <= limit ? 'met' : 'missed',
  ];
  const claimCmd = '`git-coord claim <new key> --no-worktree`';
  const rows: Array<Array<string | number>> = [
    row('`node -e 0` (reference)', 10, node!, node!, null),
    row(
      '`git-coord --version` (loader and bundle with its code cache; no yargs, no zod)',
      10,
      version!,
      node!,
      null,
    ),
    row('`git-coord show <key>`', 10, show!, node!, 1.3),
    row('`git-coord status`', 10, status!, node!, 1.3),
    row('`git-coord list`', 10, list!, node!, 1.3),
    row(claimCmd, 10, claimSmall!, node!, 1.3),
    row('`git-coord show <key>`', 10_000, showLarge!, node!, null),
    row('`node dist/git-coord.mjs show <key>` (ES module entry)', 10, showMjs!, node!, null),
    row(claimCmd, 10_000, claimLarge!, claimSmall!, 1.2, 'claim at 10'),
  ];
  return {
    title: 'CLI start-up: cold `show` and `claim` beside bare `node -e 0`',
    columns: [
      'command',
      'leases',
      'median wall ms',
      'p10 wall ms',
      'median CPU ms',
      'ratio',
      'target',
      'verdict (median wall)',
    ],
    rows,
    notes: [
      `Cold process each run, ${RUNS} runs per row, interleaved round-robin. Ratio = median wall time over ` +
        'the reference (`node -e 0`; for claim at 10,000: claim at 10), with the same ratio of p10 wall ' +
        'times and of median CPU times (user + sys, GNU time) beside it: on a shared machine those two ' +
        'move far less with load than the median wall time.',
      'Leases are seeded as one blob each and a packed-refs file; each claim run takes a new key (a real ' +
        'acquisition: read, validate, write blob, 2-ref CAS transaction with reflog).',
      `Executable: \`node ${CLI.slice(ROOT.length + 1)}\` (package.json bin), with the V8 code cache the build ` +
        'made; the ES module entry costs node its ES module loader on top. stdout and stderr are pipes ' +
        '(read by this process), as when an agent or a script runs the command.',
      '`--version` is answered before yargs and the command modules load: the gap between it and a read ' +
        'command is the parser, the validators and the command itself.',
    ],
  };
}
