import type { CommandModule } from 'yargs';
import { type JsonArgs, withHolder, withJson } from '../options.js';

/** Options of `git coord report`. */
export interface ReportArgs extends JsonArgs {
  key?: string;
  holder?: string;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report',
  describe: 'closeout report: other open leases [BLOCK], yours [INFO], stale/crashed [WARN]; read-only',
  builder: (y) =>
    withJson(withHolder(y))
      .option('key', {
        type: 'string',
        describe: 'the lease you are closing out (default: the lease of the current worktree)',
      })
      .epilogue('Exit 4 when anything is [BLOCK]. Never changes a ref, a file or a worktree.') as never,
  handler: async (argv) => (await import('../run/report.js')).handle(argv),
};
