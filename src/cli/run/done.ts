import { CoordError, ExitCode, UsageError } from '../../errors.js';
import { gateRecord, runLeaseGate } from '../../gates/lease.js';
import { resolveIdentity } from '../../leases/identity.js';
import { done } from '../../leases/ops/index.js';
import { readLease } from '../../leases/state.js';
import type { GateResult, Lease } from '../../records/schemas.js';
import { assertKey } from '../../refs/names.js';
import type { DoneArgs } from '../commands/done.js';
import { context, emit, textArg, tokenArg } from '../common.js';
import { displaySafe } from '../output.js';

/** The gate refused `done` (exit 4); the lease stays open. */
export class GateFailedError extends CoordError {
  readonly missing: string[];
  constructor(message: string, missing: string[]) {
    super('gate-failed', message, ExitCode.refused);
    this.missing = missing;
  }
}

/**
 * Closes a lease the caller holds with outcome `done`. Runs the `done` gate on the lease's branch
 * head first: failing → GateFailedError (exit 4), the lease stays open; `--force` needs `--reason`
 * (exit 2), and then the lease closes with `gate.result` `overridden` plus an `override` audit event
 * (who, when, reason, what was missing, the commit). A skipped gate records `gate: null`.
 */
export async function run(args: DoneArgs, cwd: string = process.cwd()): Promise<Lease> {
  if (args.force && !args.reason?.trim()) {
    throw new UsageError(
      '--force needs --reason "why the gate is overridden" (it is recorded)',
      'reason-required',
    );
  }
  textArg(args.reason, '--reason');
  if (args.reason !== undefined && !args.force) {
    throw new UsageError('--reason only goes with --force (overriding a failing gate)', 'usage');
  }
  assertKey(args.key);
  const ctx = context(cwd);
  const holder = resolveIdentity(ctx.repo, args.holder);
  const token = tokenArg(args.token);
  const cur = await readLease(ctx.repo, args.key);
  let gate: GateResult | null = null;
  // Only the holder of an open lease gets as far as the gate; everyone else gets done()'s own refusal.
  if (cur && cur.record.state === 'open' && cur.record.holder.id === holder.id) {
    const { evaluation: ev, source, runs } = await runLeaseGate(ctx, args.key, cur.record);
    if (ev.result === 'failed' && !args.force) {
      const missing = ev.rules.filter((r) => r.status === 'fail').map((r) => `${r.rule}: ${r.detail}`);
      throw new GateFailedError(
        `gate ${ev.gate} for ${args.key} fails on ${source} (${ev.commit?.slice(0, 12)}); lease ${args.key} stays open.\n` +
          missing.map((m) => `  missing: ${m}`).join('\n') +
          `\nCommit what is missing on ${source.replace(/^branch /, '')} and run \`git coord done ${args.key}\` again, ` +
          `or override (recorded): \`git coord done ${args.key} --force --reason "…"\`.`,
        ev.missing,
      );
    }
    gate = gateRecord(ev, holder.id, ctx.now(), args.force ? args.reason : null, runs);
  }
  return done(ctx, { key: args.key, holder, token, gate });
}

/** `git coord done`: one line with the gate result (or the lease with `--json`). */
export async function handle(argv: DoneArgs): Promise<void> {
  const l = await run(argv);
  emit(argv.json, l, () => {
    const g = l.gate
      ? `, gate ${l.gate.result}${l.gate.result === 'overridden' ? ` (${l.gate.reason})` : ''}`
      : '';
    // The gate's `run` commands, one line each (their output is in the log file named).
    const runs = (l.gate?.runs ?? []).map(
      (r) =>
        `  run ${r.command}: ${r.status}${r.exitCode !== null ? ` (exit ${r.exitCode})` : ''} in ${(r.durationMs / 1000).toFixed(1)}s; output <git dir>/${r.output}`,
    );
    return [`done: lease ${l.key}, token ${l.token}${g}`, ...runs].map((x) => displaySafe(x)).join('\n');
  });
}
