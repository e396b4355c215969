import type { CommandModule } from 'yargs';
import { type JsonArgs, withHolder, withJson, withKey } from '../options.js';

/** Options of `git coord renew`. */
export interface RenewArgs extends JsonArgs {
  key: string;
  token?: number;
  ttl?: string;
  holder?: string;
  pid?: string;
}

export const renewCommand: CommandModule<object, RenewArgs> = {
  command: 'renew <key>',
  describe: 'heartbeat: extend a lease you hold',
  builder: (y) =>
    withJson(withHolder(withKey(y)))
      .option('token', { type: 'number', describe: 'renew only if the fencing token is still N' })
      .option('ttl', { type: 'string', nargs: 1, describe: 'new time to live: 90s, 15m, 2h' })
      .option('pid', { type: 'string', describe: 'record a new agent process id' })
      .epilogue(
        'Only the holder may renew; with --token only while the token is unchanged. A lease taken over, closed or ' +
          'crashed is never resurrected: exit 3 "you lost the lease".',
      ) as never,
  handler: async (argv) => (await import('../run/renew.js')).handle(argv),
};
