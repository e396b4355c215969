import type { CommandModule } from 'yargs';
import { type JsonArgs, withJson } from '../options.js';

/** Options of `git coord status`. */
export interface StatusArgs extends JsonArgs {
  holder?: string;
}

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: 'the lease owning the current worktree, who you are, gate state (never writes)',
  builder: (y) =>
    withJson(y).option('holder', {
      type: 'string',
      describe: 'who you are (default: $COORD_HOLDER, coord.holder, user.email)',
    }) as never,
  handler: async (argv) => (await import('../run/status.js')).handle(argv),
};
