import { formatGate, type GateEvaluation } from '../../gates/index.js';
import { runLeaseGate } from '../../gates/lease.js';
import { readLease } from '../../leases/state.js';
import { assertKey } from '../../refs/names.js';
import type { GateArgs } from '../commands/gate.js';
import { context, emit } from '../common.js';
import { colors, displaySafe } from '../output.js';

/** The `gate --json` document. */
export interface GateOutput {
  key: string;
  result: GateEvaluation['result'];
  rules: GateEvaluation['rules'];
  gate: string;
  commit: string | null;
}

/** Evaluates the gate of `key` on its branch head (or `--rev`); changes nothing. */
export async function run(args: GateArgs, cwd: string = process.cwd()): Promise<GateOutput> {
  assertKey(args.key);
  const ctx = context(cwd);
  const lease = await readLease(ctx.repo, args.key);
  const { evaluation: ev } = await runLeaseGate(ctx, args.key, lease?.record ?? null, {
    rev: args.rev,
    gate: args.gate,
  });
  return { key: ev.key, result: ev.result, rules: ev.rules, gate: ev.gate, commit: ev.commit };
}

const PAINT = { pass: colors.green, fail: colors.red, skip: colors.dim } as const;

/** `git coord gate`: every rule with pass / fail / skip; exit 4 when the gate fails. */
export async function handle(argv: GateArgs): Promise<void> {
  const out = await run(argv);
  emit(
    argv.json,
    { key: out.key, result: out.result, rules: out.rules, gate: out.gate, commit: out.commit },
    () => formatGate(out, (status, s) => PAINT[status](s), displaySafe),
  );
  if (out.result === 'failed') process.exitCode = 4;
}
