import type { CommandModule } from 'yargs';
import { type JsonArgs, withHolder, withJson, withKey } from '../options.js';

/** Options of `git coord release`. */
export interface ReleaseArgs extends JsonArgs {
  key: string;
  token?: number;
  holder?: string;
  removeWorktree?: boolean;
}

export const releaseCommand: CommandModule<object, ReleaseArgs> = {
  command: 'release <key>',
  describe: 'close a lease you hold (outcome released)',
  builder: (y) =>
    withJson(withHolder(withKey(y)))
      .option('token', { type: 'number', describe: 'release only if the fencing token is still N' })
      .option('remove-worktree', {
        type: 'boolean',
        describe:
          'also remove its worktree when clean (a dirty one is kept with a warning); the branch stays',
      }) as never,
  handler: async (argv) => (await import('../run/release.js')).handle(argv),
};
