import type { CommandModule } from 'yargs';
import { type JsonArgs, withJson } from '../options.js';

/** Options of `git coord sync`. */
export type SyncArgs = JsonArgs;

export const syncCommand: CommandModule<object, SyncArgs> = {
  command: 'sync',
  describe:
    "team mode: fetch the remote's records, validate them, refresh the local mirror, report what changed",
  builder: (y) => withJson(y) as never,
  handler: async (argv) => (await import('../run/sync.js')).handle(argv),
};
