import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Job, Parallel } from '../../agents/parallel.js';
import { parsePool } from '../../agents/pool.js';
import { CoordError, ExitCode, UsageError } from '../../errors.js';
import { type LeaseContext, mainTopOf } from '../../leases/context.js';
import { formatAge } from '../../leases/liveness.js';
import { branchForKey } from '../../leases/model.js';
import { readLease } from '../../leases/state.js';
import { assertKey } from '../../refs/names.js';
import type { ParallelArgs } from '../commands/parallel.js';
import { context, durationArg } from '../common.js';
import { renderTable } from '../format.js';
import { colors, displaySafe, printJson } from '../output.js';
import { commandArg } from './run.js';

/** How many earlier parallel runs keep their logs under `<git dir>/coord/runs/`. */
const RUNS_KEPT = 20;

/** One key of the plan shown before starting. */
interface PlanRow {
  key: string;
  branch: string;
  worktree: string;
  lease: string;
}

/** The confirmation was answered no (exit 1); nothing was started. */
class NotConfirmedError extends CoordError {
  constructor() {
    super('not-confirmed', 'not confirmed; nothing was started', ExitCode.error);
  }
}

async function plan(ctx: LeaseContext, keys: string[]): Promise<PlanRow[]> {
  const top = mainTopOf(ctx.repo);
  return Promise.all(
    keys.map(async (key) => {
      const cur = (await readLease(ctx.repo, key).catch(() => null))?.record ?? null;
      const held = cur && cur.state !== 'closed';
      return {
        key,
        branch: cur?.branch ?? branchForKey(ctx.config.branchPattern, key),
        worktree: cur?.worktree?.path ?? (top ? join(top, ctx.config.worktreeDir, key) : '-'),
        lease: !cur
          ? 'new'
          : held
            ? `${cur.state}, held by ${cur.holder.id}`
            : `closed (${cur.outcome}), token ${cur.token}`,
      };
    }),
  );
}

/** Asks `[y/N]` on the terminal. */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.question(question, resolve);
      rl.once('close', () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** A fresh log directory for this run; older ones beyond {@link RUNS_KEPT} are removed. */
function logDir(ctx: LeaseContext): string {
  const root = join(ctx.repo.commonDir, 'coord', 'runs');
  mkdirSync(root, { recursive: true });
  const old = readdirSync(root).sort();
  for (const d of old.slice(0, Math.max(0, old.length - RUNS_KEPT + 1)))
    rmSync(join(root, d), { recursive: true, force: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = join(root, `${stamp}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const STATE_PAINT: Record<Job['state'], (s: string) => string> = {
  queued: colors.dim,
  running: colors.cyan,
  done: colors.green,
  failed: colors.red,
  refused: colors.yellow,
  conflict: colors.yellow,
  aborted: colors.red,
};

function elapsed(j: Job, now: number): string {
  if (j.startedAt === null) return '-';
  const ms = (j.endedAt ?? now) - j.startedAt;
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : formatAge(ms);
}

function detailOf(j: Job): string {
  const merge = j.merge ? `; merge: ${j.merge}${j.mergeDetail ? ` (${j.mergeDetail})` : ''}` : '';
  return displaySafe(`${j.detail}${merge}`);
}

/** One live line per key, redrawn in place (a terminal only). */
class LiveLines {
  private drawn = 0;
  private timer: NodeJS.Timeout | null = null;
  constructor(
    private readonly jobs: Job[],
    private readonly out: NodeJS.WriteStream,
  ) {}

  start(): void {
    this.draw();
    this.timer = setInterval(() => this.draw(), 1000);
  }

  draw(): void {
    const now = Date.now();
    const width = this.out.columns || 100;
    const keyW = Math.max(...this.jobs.map((j) => j.key.length));
    let text = this.drawn ? `\x1b[${this.drawn}F` : '';
    for (const j of this.jobs) {
      const line = `${displaySafe(j.key).padEnd(keyW)}  ${j.state.padEnd(8)}  ${elapsed(j, now).padStart(6)}  ${detailOf(j)}`;
      const cut = line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line;
      text += `\x1b[2K${cut.replace(j.state.padEnd(8), STATE_PAINT[j.state](j.state.padEnd(8)))}\n`;
    }
    this.drawn = this.jobs.length;
    this.out.write(text);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.draw();
  }
}

/** `git coord parallel`: see the command's help. */
export async function handle(argv: ParallelArgs): Promise<void> {
  const keys = [...new Set((argv.keys ?? []).map(String))];
  if (keys.length === 0) throw new UsageError('name at least one key', 'usage');
  for (const k of keys) assertKey(k);
  const template = commandArg(argv['--'], 'git coord parallel <key>… [options] -- <command, {key} replaced>');
  const max = argv.max ?? 3;
  if (!Number.isSafeInteger(max) || max < 1)
    throw new UsageError(`--max must be a positive integer, not ${argv.max}`);
  if (argv.pool !== undefined) parsePool(argv.pool);
  const maxAttempts = argv['max-attempts'];
  if (maxAttempts !== undefined && (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1))
    throw new UsageError(`--max-attempts must be a positive integer, not ${maxAttempts}`, 'invalid-attempts');
  const graceSeconds = durationArg(argv.grace, '--grace') ?? 10;
  durationArg(argv.ttl, '--ttl');
  const terminal = Boolean(process.stdin.isTTY);
  if (!argv.yes && !terminal)
    throw new UsageError(
      'not on a terminal: pass --yes to start the runs without a confirmation',
      'confirm-needed',
    );

  const ctx = context();
  const human = argv.json ? process.stderr : process.stdout;
  if (!argv.yes) {
    const rows = await plan(ctx, keys);
    process.stderr.write(
      `${renderTable(
        ['KEY', 'BRANCH', 'WORKTREE', 'LEASE'],
        rows.map((r) => [
          displaySafe(r.key),
          displaySafe(r.branch),
          displaySafe(r.worktree),
          displaySafe(r.lease),
        ]),
      )}\n\n${keys.length} run${keys.length === 1 ? '' : 's'}, at most ${max} at once${argv.pool ? `, pool ${argv.pool}` : ''}: ${template.map(shellQuote).join(' ')}\n`,
    );
    if (!(await confirm('Start? [y/N] '))) throw new NotConfirmedError();
  }

  const pass: string[] = [];
  const opt = (name: string, value: string | number | boolean | undefined) => {
    if (value === undefined || value === false) return;
    pass.push(`--${name}`);
    if (value !== true) pass.push(String(value));
  };
  opt('ttl', argv.ttl);
  opt('holder', argv.holder);
  opt('base', argv.base);
  opt('release', argv.release);
  opt('keep', argv.keep);
  opt('max-attempts', maxAttempts);
  opt('grace', `${graceSeconds}s`);
  opt('pool', argv.pool);
  const cli = process.argv[1]!;
  const dir = logDir(ctx);
  const live = !argv.json && human.isTTY;
  const stamp = () => new Date().toISOString();
  const par: Parallel = new Parallel({
    keys,
    max,
    cwd: process.cwd(),
    logDir: dir,
    graceMs: graceSeconds * 1000 + 5000,
    runnerArgv: (key, report) => [
      cli,
      'run',
      key,
      ...pass,
      '--report-file',
      report,
      '--',
      ...template.map((a) => a.split('{key}').join(key)),
    ],
    mergeArgv: argv.merge
      ? (key) => [cli, 'merge', key, ...(argv.holder ? ['--holder', argv.holder] : [])]
      : undefined,
    onChange: (j) => {
      if (live) return;
      const what =
        j.state === 'running'
          ? `started (${j.detail})`
          : `${j.state}${j.exitCode !== null ? ` exit ${j.exitCode}` : ''}: ${j.detail}`;
      const merge = j.merge ? ` merge ${j.merge}${j.mergeDetail ? `: ${j.mergeDetail}` : ''}` : '';
      human.write(`${stamp()}  ${displaySafe(j.key)}  ${displaySafe(j.merge ? merge.trim() : what)}\n`);
    },
  });
  const lines = live ? new LiveLines(par.jobs, human) : null;
  const onSignal = (s: NodeJS.Signals) => {
    if (!live) human.write(`${stamp()}  got ${s}: stopping every run\n`);
    par.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  lines?.start();
  let jobs: Job[];
  try {
    jobs = await par.run();
  } finally {
    lines?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
  const exitCode = exitOf(jobs, par.stopped);
  if (argv.json) {
    printJson({
      logs: dir,
      jobs: jobs.map((j) => ({
        key: j.key,
        result: j.state,
        status: j.status,
        exitCode: j.exitCode,
        seconds: j.startedAt !== null && j.endedAt !== null ? (j.endedAt - j.startedAt) / 1000 : null,
        detail: j.detail,
        merge: j.merge,
        log: j.log,
      })),
    });
  } else {
    const now = Date.now();
    const counts = (['done', 'failed', 'refused', 'conflict', 'aborted'] as const)
      .map((s) => [s, jobs.filter((j) => j.state === s).length] as const)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${n} ${s}`);
    human.write(
      `\n${renderTable(
        ['KEY', 'RESULT', 'EXIT', 'TIME', ...(argv.merge ? ['MERGE'] : []), 'DETAIL'],
        jobs.map((j) => [
          displaySafe(j.key),
          j.state,
          j.exitCode === null ? '-' : String(j.exitCode),
          elapsed(j, now),
          ...(argv.merge ? [j.merge ?? '-'] : []),
          displaySafe(j.detail),
        ]),
        (_r, c, text) => (c === 1 ? (STATE_PAINT[text.trim() as Job['state']]?.(text) ?? text) : text),
      )}\n${counts.join(', ')}; logs in ${dir}\n`,
    );
  }
  process.exitCode = exitCode;
}

/** `arg` as a shell would need it, for showing a command. */
function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+{}-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

/** 0 only if every key is done (and merged); see the command's help for the rest. */
function exitOf(jobs: Job[], stopped: boolean): number {
  if (stopped) return 130;
  if (jobs.some((j) => j.state === 'failed')) return ExitCode.error;
  if (jobs.some((j) => j.state === 'refused' || j.state === 'conflict' || j.state === 'aborted'))
    return ExitCode.conflict;
  if (jobs.some((j) => j.merge !== null && j.merge !== 'merged')) return ExitCode.refused;
  return 0;
}
