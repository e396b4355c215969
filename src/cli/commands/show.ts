import type { CommandModule } from 'yargs';
import { type JsonArgs, withJson, withKey } from '../options.js';

/** Options of `git coord show`. */
export interface ShowArgs extends JsonArgs {
  key: string;
}

export const showCommand: CommandModule<object, ShowArgs> = {
  command: 'show <key>',
  describe: 'show one lease and whether it is stale (never writes)',
  builder: (y) => withJson(withKey(y)) as never,
  handler: async (argv) => (await import('../run/show.js')).handle(argv),
};
