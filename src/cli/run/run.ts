import { writeFileSync } from 'node:fs';
import { parsePool } from '../../agents/pool.js';
import {
  type RunEvent,
  RunInterruptedError,
  type RunOutcome,
  runUnderLease,
  signalExit,
} from '../../agents/runner.js';
import { CoordError, ExitCode, UsageError } from '../../errors.js';
import {
  AttemptBudgetError,
  BranchHeldError,
  LeaseHeldError,
  LeaseStaleError,
  RunInProgressError,
  WorktreeHeldError,
} from '../../leases/errors.js';
import { assertKey } from '../../refs/names.js';
import type { RunArgs } from '../commands/run.js';
import { context, durationArg, warn } from '../common.js';
import { colors, displaySafe } from '../output.js';

/** What `run --report-file` writes (read by `parallel`): the outcome, or why nothing ran. */
export interface RunReport {
  key: string;
  /** A {@link RunOutcome} status, or `refused` / `conflict` / `error` / `aborted` when nothing ran. */
  status: RunOutcome['status'] | 'refused' | 'conflict' | 'error' | 'running';
  exitCode: number | null;
  commandExit: number | null;
  signal: string | null;
  attempt: number | null;
  token: number | null;
  /** The command's pid (its process group), while it runs. */
  commandPid: number | null;
  message: string;
}

/** The command after `--`, as strings. @throws UsageError when there is none. */
export function commandArg(rest: Array<string | number> | undefined, usage: string): string[] {
  const cmd = (rest ?? []).map(String);
  if (cmd.length === 0 || cmd[0] === '') throw new UsageError(`no command given: ${usage}`, 'no-command');
  return cmd;
}

/** How a refusal before the command started shows in a report. */
function refusalStatus(err: unknown): RunReport['status'] {
  if (
    err instanceof LeaseHeldError ||
    err instanceof LeaseStaleError ||
    err instanceof BranchHeldError ||
    err instanceof WorktreeHeldError ||
    err instanceof RunInProgressError ||
    err instanceof AttemptBudgetError
  )
    return 'refused';
  if (err instanceof RunInterruptedError) return 'aborted';
  if (err instanceof CoordError && err.exitCode === ExitCode.conflict) return 'conflict';
  return 'error';
}

function describe(e: RunEvent): string {
  switch (e.kind) {
    case 'waiting-slot':
      return `every slot of pool ${e.pool} is busy; waiting`;
    case 'slot':
      return `holding pool slot ${e.key}`;
    case 'claimed': {
      const l = e.lease;
      const where = l.worktree ? `, worktree ${displaySafe(l.worktree.path)}` : '';
      return `${e.action === 'reentered' ? 'already yours' : e.action === 'took-over' ? 'took over' : 'claimed'}: token ${l.token}${l.branch ? `, branch ${displaySafe(l.branch)}` : ''}${where}`;
    }
    case 'started':
      return `attempt ${e.attempt}: started pid ${e.pid} in ${displaySafe(e.cwd)}`;
    case 'heartbeat-failed':
      return `heartbeat failed (will retry): ${displaySafe(e.message, { lines: true })}`;
    case 'lost':
      return `${colors.red('lease lost:')} ${displaySafe(e.message, { lines: true })}`;
    case 'signal':
      return e.forwarded ? `got ${e.signal}; passing it to the command` : `got ${e.signal}`;
    case 'killing':
      return `stopping the command (${e.signal}): ${e.reason}`;
  }
}

/** `git coord run`: progress on stderr, the command's own output untouched; exit code per the help. */
export async function handle(argv: RunArgs): Promise<void> {
  const key = argv.key;
  const report = argv['report-file'];
  const write = (r: RunReport) => {
    if (report) writeFileSync(report, `${JSON.stringify(r, null, 2)}\n`);
  };
  const prefix = colors.dim(`git-coord run ${displaySafe(key)}:`);
  const say = (text: string) => {
    for (const line of text.split('\n')) process.stderr.write(`${prefix} ${line}\n`);
  };
  try {
    assertKey(key);
    const command = commandArg(argv['--'], 'git coord run <key> [options] -- <command…>');
    const maxAttempts = argv['max-attempts'];
    if (maxAttempts !== undefined && (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1))
      throw new UsageError(
        `--max-attempts must be a positive integer, not ${maxAttempts}`,
        'invalid-attempts',
      );
    const graceMs = (durationArg(argv.grace, '--grace') ?? 10) * 1000;
    const pool = argv.pool !== undefined ? parsePool(argv.pool) : undefined;
    const ctx = context();
    const outcome = await runUnderLease(ctx, {
      key,
      command,
      holder: argv.holder,
      claim: {
        branch: argv.branch,
        base: argv.base,
        worktree:
          argv.worktree === false ? false : typeof argv.worktree === 'string' ? argv.worktree : undefined,
        cwd: process.cwd(),
        ttlSeconds: durationArg(argv.ttl, '--ttl'),
        note: argv.note,
        takeover: argv.takeover,
        reason: argv.reason,
      },
      release: argv.release,
      keep: argv.keep,
      maxAttempts,
      graceMs,
      pool,
      onEvent: (e) => {
        if (e.kind === 'claimed') for (const w of e.warnings) warn(w);
        const text = describe(e);
        say(text);
      },
      onSpawn: (pid) =>
        write({
          key,
          status: 'running',
          exitCode: null,
          commandExit: null,
          signal: null,
          attempt: null,
          token: null,
          commandPid: pid,
          message: `running, pid ${pid}`,
        }),
    });
    const paint = outcome.exitCode === 0 ? colors.green : colors.red;
    // A lost lease was told as it happened: only how the command ended is left to say.
    const text =
      outcome.status === 'lost' ? outcome.message.split('\n').slice(1).join('\n') : outcome.message;
    if (text) say(paint(displaySafe(text, { lines: true })));
    write({ ...outcome, commandPid: null, lease: undefined } as RunReport);
    process.exitCode = outcome.exitCode;
  } catch (err) {
    const exitCode =
      err instanceof RunInterruptedError
        ? signalExit(err.signal)
        : err instanceof CoordError
          ? err.exitCode
          : ExitCode.error;
    write({
      key,
      status: refusalStatus(err),
      exitCode,
      commandExit: null,
      signal: null,
      attempt: null,
      token: null,
      commandPid: null,
      message: err instanceof Error ? err.message : String(err),
    });
    if (err instanceof RunInterruptedError) {
      say(err.message);
      process.exitCode = exitCode;
      return;
    }
    throw err;
  }
}
