import { CoordError, UsageError } from '../errors.js';
import type { LeaseContext } from '../leases/context.js';
import type { GateResult, Lease } from '../records/schemas.js';
import { git } from '../refs/git.js';
import { DONE_GATE, evaluateGate, type GateEvaluation } from './index.js';

/**
 * Gates as `git coord gate` and `git coord done` run them: on the lease's branch head (or an explicit
 * revision), and the record of the result stored in the lease.
 */

/** What a gate was run on, for messages. */
export interface GateRun {
  evaluation: GateEvaluation;
  /** How the commit was chosen, e.g. `branch coord/65`, `HEAD`, `--rev v1`. */
  source: string;
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
 * no branch) the current HEAD. Changes nothing.
 *
 * @throws UsageError when `rev` does not resolve to a commit; CoordError (exit 1) when the lease's branch
 *   or HEAD does not.
 */
export function runLeaseGate(
  ctx: LeaseContext,
  key: string,
  lease: Lease | null,
  opts: { rev?: string; gate?: string } = {},
): GateRun {
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
  return { evaluation, source };
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
  };
}
