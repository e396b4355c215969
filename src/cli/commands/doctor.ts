import type { CommandModule } from 'yargs';
import { type DoctorReport, runDoctor } from '../../doctor/index.js';
import { currentHost, discoverRepo } from '../../refs/repo.js';
import { colors, displaySafe, printJson } from '../output.js';

/** Options of `git coord doctor`. */
export interface DoctorArgs {
  fix?: boolean;
  json?: boolean;
}

/**
 * Runs the checks from `cwd` (any subdirectory or worktree). The actor named in quarantine audit
 * events and reflogs: `$COORD_HOLDER` > `git config coord.holder` > `user.email` > `git-coord-doctor`.
 */
export async function run(args: DoctorArgs, cwd: string = process.cwd()): Promise<DoctorReport> {
  const repo = discoverRepo(cwd);
  const cfg = repo.config();
  const id =
    process.env.COORD_HOLDER || cfg.get('coord.holder') || cfg.get('user.email') || 'git-coord-doctor';
  return runDoctor(repo, { fix: Boolean(args.fix), actor: { id, host: currentHost() } });
}

/** Human output: one line per problem, then a summary and the next action. */
export function formatDoctor(report: DoctorReport, fix: boolean): string {
  const { problems } = report;
  if (problems.length === 0) return `${colors.green('ok')}: no problems found in refs/coord`;
  const lines = problems.map((p) => {
    const tag = p.fixed ? colors.green('fixed  ') : colors.yellow('problem');
    return `${tag} ${p.kind.padEnd(14)} ${displaySafe(p.ref ?? p.path ?? '')}\n        ${displaySafe(p.message)}`;
  });
  const remaining = problems.filter((p) => !p.fixed).length;
  lines.push(
    remaining === 0
      ? `${problems.length} problem(s), all fixed`
      : `${problems.length} problem(s), ${remaining} remaining` +
          (fix ? '' : ': run `git coord doctor --fix` to repair what can be repaired'),
  );
  return lines.join('\n');
}

export const doctorCommand: CommandModule<object, DoctorArgs> = {
  command: 'doctor',
  describe:
    'check refs/coord: stale locks, corrupt records, branch/worktree indexes vs leases; --fix repairs (exit 0 when no problem remains)',
  builder: (y) =>
    y
      .option('fix', {
        type: 'boolean',
        describe: 'remove locks older than 60s, quarantine corrupt records, rebuild indexes from the leases',
      })
      .option('json', { type: 'boolean', describe: 'print exactly one JSON document on stdout' }) as never,
  handler: async (argv) => {
    const report = await run(argv);
    if (argv.json) printJson(report);
    else process.stdout.write(`${formatDoctor(report, Boolean(argv.fix))}\n`);
    process.exitCode = report.problems.some((p) => !p.fixed) ? 1 : 0;
  },
};
