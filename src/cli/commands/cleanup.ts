import type { CommandModule } from 'yargs';
import { type JsonArgs, withJson } from '../options.js';

/** Options of `git coord cleanup`. */
export interface CleanupArgs extends JsonArgs {
  dryRun?: boolean;
  branches?: boolean;
}

export const cleanupCommand: CommandModule<object, CleanupArgs> = {
  command: 'cleanup',
  describe: 'remove the worktrees (and branches) of closed leases that are clean and merged',
  builder: (y) =>
    withJson(y)
      .option('dry-run', { type: 'boolean', describe: 'say what would be removed; remove nothing' })
      .option('branches', { type: 'boolean', describe: 'also delete the merged branches of closed leases' })
      .epilogue(
        "Only closed leases' worktrees, only when clean and merged into their target (the branch of their " +
          'last `git coord merge`, else the first "protect" branch); open and crashed leases are never touched. ' +
          'Lists what it removed and what it kept, and why. Exit 0 either way.',
      ) as never,
  handler: async (argv) => (await import('../run/cleanup.js')).handle(argv),
};
