import type { CommandModule } from 'yargs';
import { type JsonArgs, withJson } from '../options.js';

/** Options of `git coord sync`. */
export interface SyncArgs extends JsonArgs {
  /** Only push pending heartbeats, quietly (what a hook starts in the background). */
  heartbeats?: boolean;
}

export const syncCommand: CommandModule<object, SyncArgs> = {
  command: 'sync',
  describe:
    "team mode: fetch the remote's records, validate them, refresh the local mirror, push pending heartbeats, report what changed",
  builder: (y) =>
    withJson(y).option('heartbeats', {
      type: 'boolean',
      describe: 'only push the heartbeats commits left pending, print nothing (what hooks start)',
    }) as never,
  handler: async (argv) => (await import('../run/sync.js')).handle(argv),
};
