import type { CommandModule } from 'yargs';
import { resolveHolder } from '../../leases/identity.js';
import { takeover } from '../../leases/ops.js';
import type { Lease } from '../../records/schemas.js';
import { context, durationArg, emit, type JsonArgs, withHolder, withJson, withKey } from '../common.js';
import { displaySafe } from '../output.js';

/** Options of `git coord takeover`. */
export interface TakeoverArgs extends JsonArgs {
  key: string;
  reason?: string;
  force?: boolean;
  ttl?: string;
  holder?: string;
  pid?: string;
}

/** Takes over a stale or crashed lease. */
export async function run(args: TakeoverArgs, cwd: string = process.cwd()): Promise<Lease> {
  const ctx = context(cwd);
  const ttlSeconds = durationArg(args.ttl, '--ttl');
  return takeover(ctx, {
    key: args.key,
    holder: resolveHolder(ctx.repo, { holder: args.holder, pid: args.pid }, ctx.probe),
    force: args.force,
    reason: args.reason,
    ttlSeconds,
  });
}

export const takeoverCommand: CommandModule<object, TakeoverArgs> = {
  command: 'takeover <key>',
  describe: 'take over a stale or crashed lease (token +1, audit event)',
  builder: (y) =>
    withJson(withHolder(withKey(y)))
      .option('reason', { type: 'string', describe: 'why (recorded in the audit event)' })
      .option('force', { type: 'boolean', describe: 'take a live lease too (needs --reason)' })
      .option('ttl', { type: 'string', describe: 'time to live: 90s, 15m, 2h (default: the lease’s)' })
      .option('pid', { type: 'string', describe: 'your long-lived agent process (default: $COORD_PID)' })
      .epilogue(
        'Stale = open and expired (renewedAt + ttl + skew), or its holder process on this host is gone or its ' +
          'pid was reused. The branch and worktree pass to you; the old holder’s renew and release then exit 3.',
      ) as never,
  handler: async (argv) => {
    const l = await run(argv);
    emit(
      argv.json,
      l,
      () =>
        `took over: lease ${displaySafe(l.key)}, token ${l.token}${l.worktree ? `, worktree ${displaySafe(l.worktree.path)}` : ''}`,
    );
  },
};
