import type { CommandModule } from 'yargs';
import { formatGate, type GateEvaluation } from '../../gates/index.js';
import { runLeaseGate } from '../../gates/lease.js';
import { readLease } from '../../leases/state.js';
import { assertKey } from '../../refs/names.js';
import { context, emit, type JsonArgs, withJson, withKey } from '../common.js';
import { colors, displaySafe } from '../output.js';

/** Options of `git coord gate`. */
export interface GateArgs extends JsonArgs {
  key: string;
  rev?: string;
  gate?: string;
}

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
  const { evaluation: ev } = runLeaseGate(ctx, args.key, lease?.record ?? null, {
    rev: args.rev,
    gate: args.gate,
  });
  return { key: ev.key, result: ev.result, rules: ev.rules, gate: ev.gate, commit: ev.commit };
}

const PAINT = { pass: colors.green, fail: colors.red, skip: colors.dim } as const;

export const gateCommand: CommandModule<object, GateArgs> = {
  command: 'gate <key>',
  describe: "evaluate a lease's artifact gate on its branch head (changes nothing)",
  builder: (y) =>
    withJson(withKey(y))
      .option('rev', { type: 'string', describe: 'evaluate on this commit instead of the lease branch head' })
      .option('gate', { type: 'string', describe: 'gate name in .coord/config.json (default: done)' })
      .epilogue(
        'Prints every rule with pass / fail / skip. Exit 0 when the gate passes or is skipped (no `when` match), ' +
          '4 when it fails.',
      ) as never,
  handler: async (argv) => {
    const out = await run(argv);
    emit(
      argv.json,
      { key: out.key, result: out.result, rules: out.rules, gate: out.gate, commit: out.commit },
      () => formatGate(out, (status, s) => PAINT[status](s), displaySafe),
    );
    if (out.result === 'failed') process.exitCode = 4;
  },
};
