import { type DoctorReport, runDoctor } from '../../doctor/index.js';
import { currentHost, discoverRepo } from '../../refs/repo.js';
import type { DoctorArgs } from '../commands/doctor.js';
import { colors, displaySafe, printJson } from '../output.js';
import { writeOut } from '../stdio.js';

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
  const notes = (report.notes ?? []).map(
    (n) =>
      `${colors.dim('note   ')} ${n.kind.padEnd(14)} ${displaySafe(n.path)}\n        ${displaySafe(n.message)}`,
  );
  if (problems.length === 0)
    return [...notes, `${colors.green('ok')}: no problems found in refs/coord`].join('\n');
  const lines = [...notes];
  lines.push(
    ...problems.map((p) => {
      const tag = p.fixed ? colors.green('fixed  ') : colors.yellow('problem');
      return `${tag} ${p.kind.padEnd(14)} ${displaySafe(p.ref ?? p.path ?? '')}\n        ${displaySafe(p.message)}`;
    }),
  );
  const remaining = problems.filter((p) => !p.fixed).length;
  lines.push(
    remaining === 0
      ? `${problems.length} problem(s), all fixed`
      : `${problems.length} problem(s), ${remaining} remaining` +
          (fix ? '' : ': run `git coord doctor --fix` to repair what can be repaired'),
  );
  return lines.join('\n');
}

/** `git coord doctor`: the report; exit 1 while a problem remains. */
export async function handle(argv: DoctorArgs): Promise<void> {
  const report = await run(argv);
  if (argv.json) printJson(report);
  else writeOut(`${formatDoctor(report, Boolean(argv.fix))}\n`);
  process.exitCode = report.problems.some((p) => !p.fixed) ? 1 : 0;
}
