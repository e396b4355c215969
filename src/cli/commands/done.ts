import type { CommandModule } from 'yargs';
import { type JsonArgs, withHolder, withJson, withKey } from '../options.js';

/** Options of `git coord done`. */
export interface DoneArgs extends JsonArgs {
  key: string;
  token?: number;
  holder?: string;
  force?: boolean;
  reason?: string;
}

export const doneCommand: CommandModule<object, DoneArgs> = {
  command: 'done <key>',
  describe: 'run the gate on the branch head and close a lease you hold (outcome done)',
  builder: (y) =>
    withJson(withHolder(withKey(y)))
      .option('token', {
        type: 'number',
        describe: 'close only if the fencing token is still N',
      })
      .option('force', { type: 'boolean', describe: 'close even though the gate fails (needs --reason)' })
      .option('reason', {
        type: 'string',
        describe: 'why the gate is overridden; recorded in the lease and audit log',
      })
      .epilogue(
        'Exit 4 when the gate fails (the lease stays open, the missing artifacts are listed); --force without ' +
          '--reason is exit 2.',
      ) as never,
  handler: async (argv) => (await import('../run/done.js')).handle(argv),
};
