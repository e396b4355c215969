import type { CommandModule } from 'yargs';
import { type JsonArgs, withHolder, withJson, withKey } from '../options.js';

/** Options of `git coord takeover`. */
export interface TakeoverArgs extends JsonArgs {
  key: string;
  reason?: string;
  force?: boolean;
  ttl?: string;
  holder?: string;
  pid?: string;
}

export const takeoverCommand: CommandModule<object, TakeoverArgs> = {
  command: 'takeover <key>',
  describe: 'take over a stale or crashed lease (token +1, audit event)',
  builder: (y) =>
    withJson(withHolder(withKey(y)))
      .option('reason', { type: 'string', describe: 'why (recorded in the audit event)' })
      .option('force', { type: 'boolean', describe: 'take a live lease too (needs --reason)' })
      .option('ttl', {
        type: 'string',
        nargs: 1,
        describe: 'time to live: 90s, 15m, 2h (default: the lease’s)',
      })
      .option('pid', { type: 'string', describe: 'your long-lived agent process (default: $COORD_PID)' })
      .epilogue(
        'Stale = open and expired (renewedAt + ttl + skew), or its holder process on this host is gone or its ' +
          'pid was reused. The branch and worktree pass to you; the old holder’s renew and release then exit 3.',
      ) as never,
  handler: async (argv) => (await import('../run/takeover.js')).handle(argv),
};
