import type { CommandModule } from 'yargs';
import { type JsonArgs, withJson } from '../options.js';

/** Options of `git coord init`. */
export interface InitArgs extends JsonArgs {
  remote?: string;
}

export const initCommand: CommandModule<object, InitArgs> = {
  command: 'init',
  describe: 'install the hooks, write a starter .coord/config.json, optionally set team mode',
  builder: (y) =>
    withJson(y).option('remote', {
      type: 'string',
      describe:
        'team mode: every lease write becomes a compare-and-swap on this remote (git config coord.remote)',
    }) as never,
  handler: async (argv) => (await import('../run/init.js')).handle(argv),
};
