import { assertKey } from '../../refs/names.js';
import { buildReport, formatReport, isBlocked, type Report } from '../../report/index.js';
import type { ReportArgs } from '../commands/report.js';
import { context, emit } from '../common.js';
import { colors, displaySafe } from '../output.js';

/** Builds the closeout report; read-only. */
export async function run(args: ReportArgs, cwd: string = process.cwd()): Promise<Report> {
  if (args.key !== undefined) assertKey(args.key);
  return buildReport(context(cwd), args.key ?? null);
}

const PAINT = { BLOCK: colors.red, WARN: colors.yellow, INFO: colors.cyan } as const;

/** `git coord report`: the tagged report (JSON with `--json`); exit 4 when anything is [BLOCK]. */
export async function handle(argv: ReportArgs): Promise<void> {
  const report = await run(argv);
  emit(argv.json, report, () => formatReport(report, (tag, s) => PAINT[tag](s), displaySafe));
  if (isBlocked(report)) process.exitCode = 4;
}
