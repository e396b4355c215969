import { CoordError, UsageError } from '../errors.js';
import type { LeaseContext } from '../leases/context.js';
import type { GateResult, Lease } from '../records/schemas.js';
import { git } from '../refs/git.js';
import { DONE_GATE, evaluateGate, type GateEvaluation } from './index.js';
import type { CommandRun } from './run.js';

/**
 * Gates as `git coord gate` and `git coord done` run them: on the lease's branch head (or an explicit
 * revision), and the record of the result stored in the lease.
 */

/** What a gate was run on, for messages. */
export interface GateRun {
  evaluation: GateEvaluation;
  /** How the commit was chosen, e.g. `branch coord/65`, `HEAD`, `--rev v1`. */
  source: string;
  /** The `run` commands executed (empty when the gate has none or does not apply). */
  runs: CommandRun[];
}

/** Resolves `rev` to a commit id, or null. */
function resolveCommit(cwd: string, rev: string): string | null {
  const res = git(['rev-parse', '--verify', '-q', '--end-of-options', `${rev}^{commit}`], {
    cwd,
    allowFailure: true,
  });
  return res.status === 0 ? res.stdout.trim() : null;
}

/**
 * Evaluates gate `done` for `key` on: `rev` when given; else the lease's branch head; else (no lease,
 * no branch) the current HEAD; then runs its `run` commands in a pristine worktree at that commit
 * (src/gates/run.ts). Changes no ref.
 *
 * @throws UsageError when `rev` does not resolve to a commit; CoordError (exit 1) when the lease's branch
 *   or HEAD does not.
 */
export async function runLeaseGate(
  ctx: LeaseContext,
  key: string,
  lease: Lease | null,
  opts: { rev?: string; gate?: string } = {},
): Promise<GateRun> {
  const cwd = ctx.repo.worktreeTop ?? ctx.repo.gitDir;
  let rev: string;
  let source: string;
  if (opts.rev) {
    rev = opts.rev;
    source = `--rev ${opts.rev}`;
  } else if (lease?.branch) {
    rev = `refs/heads/${lease.branch}`;
    source = `branch ${lease.branch}`;
  } else {
    rev = 'HEAD';
    source = 'HEAD';
  }
  const commit = resolveCommit(cwd, rev);
  if (!commit) {
    const message =
      `cannot evaluate the gate of ${key}: ${source} is not a commit here` +
      (lease?.branch && !opts.rev
        ? ` (does branch ${lease.branch} exist in this clone? git fetch it first)`
        : '');
    // A bad --rev is the caller's mistake (exit 2); a missing branch or unborn HEAD is the repository's (1).
    throw opts.rev ? new UsageError(message, 'no-commit') : new CoordError('no-commit', message);
  }
  const evaluation = evaluateGate(
    ctx.repo,
    ctx.config,
    key,
    { kind: 'commit', commit },
    {
      gate: opts.gate ?? DONE_GATE,
      now: ctx.now().getTime(),
    },
  );
  if (evaluation.pending.length === 0) return { evaluation, source, runs: [] };
  const runs = await runPending(ctx, key, commit, evaluation.pending);
  return { evaluation: withRuns(evaluation, runs), source, runs };
}

/** Executes the gate's `run` commands in a pristine worktree (src/gates/run.ts, loaded only then). */
async function runPending(
  ctx: LeaseContext,
  key: string,
  commit: string,
  pending: GateEvaluation['pending'],
): Promise<CommandRun[]> {
  const [{ runGateCommands }, { mainTopOf }, { gitCwd, makeLinks }] = await Promise.all([
    import('./run.js'),
    import('../leases/context.js'),
    import('../leases/worktree.js'),
  ]);
  const mainTop = mainTopOf(ctx.repo);
  return runGateCommands({
    repo: ctx.repo,
    gitCwd: gitCwd(ctx.repo, mainTop),
    key,
    commit,
    runs: pending,
    link: (wt) => {
      const warnings: string[] = [];
      makeLinks(mainTop, wt, ctx.config.link, warnings);
      return warnings;
    },
  });
}

/** The evaluation with its `run` rules replaced by what the commands did, result and missing redone. */
function withRuns(ev: GateEvaluation, runs: readonly CommandRun[]): GateEvaluation {
  const byRule = new Map(runs.map((r) => [`run ${r.command}`, r]));
  const rules = ev.rules.map((rule) => {
    const r = byRule.get(rule.rule);
    return r ? { rule: rule.rule, status: RULE_STATUS[r.status], detail: describeRun(r) } : rule;
  });
  const failed = rules.filter((r) => r.status === 'fail');
  return {
    ...ev,
    rules,
    pending: [],
    result: failed.length > 0 ? 'failed' : 'passed',
    missing: failed.map((r) => `${r.rule.replace(/^require /, '')} (${r.detail})`),
  };
}

const RULE_STATUS = { pass: 'pass', fail: 'fail', timeout: 'fail', skip: 'skip' } as const;

/** One line about a command run: how it ended, how long it took, the last output line, the log. */
export function describeRun(r: CommandRun): string {
  const secs = `${(r.durationMs / 1000).toFixed(1)}s`;
  const how =
    r.status === 'skip'
      ? 'not run: an earlier command failed'
      : r.status === 'timeout'
        ? `timed out after ${secs}, stopped (${r.signal ?? 'exited'})`
        : r.exitCode !== null
          ? `exit ${r.exitCode} in ${secs}`
          : `killed by ${r.signal} after ${secs}`;
  // The most telling line: the last one that says what failed (TAP `not ok`, an error), else the last.
  const telling = [...r.tail].reverse().find((l) => /not ok|error|fail|assert/i.test(l)) ?? r.tail.at(-1);
  const last = r.status === 'fail' || r.status === 'timeout' ? telling?.trim() : undefined;
  return r.status === 'skip' ? how : `${how}${last ? `: ${last.slice(0, 200)}` : ''}; output ${r.outputPath}`;
}

/**
 * The lease's `gate` field for an evaluation: `passed`, `failed`, or (a failing gate with an override
 * `reason`) `overridden`; `null` for a skipped gate (it did not apply).
 */
export function gateRecord(
  ev: GateEvaluation,
  by: string,
  at: Date,
  reason?: string | null,
  runs: readonly CommandRun[] = [],
): GateResult | null {
  if (ev.result === 'skipped') return null;
  const overridden = ev.result === 'failed' && !!reason;
  return {
    result: overridden ? 'overridden' : ev.result,
    missing: ev.missing,
    reason: overridden ? reason! : null,
    by,
    at: at.toISOString(),
    commit: ev.commit,
    ...(runs.length
      ? {
          runs: runs
            .filter((r) => r.status !== 'skip')
            .map((r) => ({
              command: r.command,
              status: r.status as 'pass' | 'fail' | 'timeout',
              exitCode: r.exitCode,
              signal: r.signal,
              durationMs: r.durationMs,
              output: r.output,
            })),
        }
      : {}),
  };
}
