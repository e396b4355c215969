import type { CommandModule } from 'yargs';
import { assertKey } from '../../refs/names.js';
import { buildReport, formatReport, isBlocked, type Report } from '../../report/index.js';
import { context, emit, type JsonArgs, withJson } from '../common.js';
import { colors, displaySafe } from '../output.js';

/** Options of `git coord report`. */
export interface ReportArgs extends JsonArgs {
  key?: string;
}

/** Builds the closeout report; read-only. */
export async function run(args: ReportArgs, cwd: string = process.cwd()): Promise<Report> {
  if (args.key !== undefined) assertKey(args.key);
  return buildReport(context(cwd), args.key ?? null);
}

const PAINT = { BLOCK: colors.red, WARN: colors.yellow, INFO: colors.cyan } as const;

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report',
  describe: 'closeout report: other open leases [BLOCK], yours [INFO], stale/crashed [WARN]; read-only',
  builder: (y) =>
    withJson(y)
      .option('key', {
        type: 'string',
        describe: 'the lease you are closing out (default: the lease of the current worktree)',
      })
      .epilogue('Exit 4 when anything is [BLOCK]. Never changes a ref, a file or a worktree.') as never,
  handler: async (argv) => {
    const report = await run(argv);
    emit(argv.json, report, () => formatReport(report, (tag, s) => PAINT[tag](s), displaySafe));
    if (isBlocked(report)) process.exitCode = 4;
  },
};
