import type { CommandModule } from 'yargs';
import { type JsonArgs, withHolder, withJson, withKey } from '../options.js';

/** Options of `git coord clear`. */
export interface ClearArgs extends JsonArgs {
  key: string;
  force?: boolean;
  holder?: string;
}

export const clearCommand: CommandModule<object, ClearArgs> = {
  command: 'clear <key>',
  describe:
    'clear a lease: a tombstone keeps its token, its index refs are deleted (an open lease needs --force); audit event',
  builder: (y) =>
    withJson(withHolder(withKey(y))).option('force', {
      type: 'boolean',
      describe: 'also clear an open lease (or a corrupt record)',
    }) as never,
  handler: async (argv) => (await import('../run/clear.js')).handle(argv),
};
