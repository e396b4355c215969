import type { CommandModule } from 'yargs';
import { type JsonArgs, withHolder, withJson, withKey } from '../options.js';

/** Options of `git coord crash`. */
export interface CrashArgs extends JsonArgs {
  key: string;
  reason: string;
  holder?: string;
}

export const crashCommand: CommandModule<object, CrashArgs> = {
  command: 'crash <key>',
  describe: 'mark a lease crashed (its holder, or anyone once it is stale)',
  builder: (y) =>
    withJson(withHolder(withKey(y)))
      .option('reason', {
        type: 'string',
        demandOption: true,
        describe: 'what happened (recorded, with an audit event)',
      })
      .epilogue(
        'A crashed lease keeps its branch and worktree: its holder may claim it again; others take it over. ' +
          '`claim` also marks a lease crashed when it finds the holder process gone.',
      ) as never,
  handler: async (argv) => (await import('../run/crash.js')).handle(argv),
};
