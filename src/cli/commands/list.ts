import type { CommandModule } from 'yargs';
import { type JsonArgs, withJson } from '../options.js';

/** `--state` values: a lease state, or `stale` (open and stale) / `live` (open and not stale). */
export const STATE_FILTERS = ['open', 'closed', 'crashed', 'stale', 'live'] as const;

/** Options of `git coord list`. */
export interface ListArgs extends JsonArgs {
  state?: (typeof STATE_FILTERS)[number];
}

export const listCommand: CommandModule<object, ListArgs> = {
  command: 'list',
  describe: 'list leases with holder, state and liveness (never writes)',
  builder: (y) =>
    withJson(y).option('state', {
      choices: STATE_FILTERS,
      describe:
        'only leases in this state (stale = open but expired or holder gone; live = open and not stale)',
    }) as never,
  handler: async (argv) => (await import('../run/list.js')).handle(argv),
};
