import type { CommandModule } from 'yargs';
import { resolveHolder, resolveHolderId } from '../../leases/identity.js';
import { renew } from '../../leases/ops.js';
import type { Lease } from '../../records/schemas.js';
import {
  context,
  durationArg,
  emit,
  type JsonArgs,
  tokenArg,
  withHolder,
  withJson,
  withKey,
} from '../common.js';
import { displaySafe } from '../output.js';

/** Options of `git coord renew`. */
export interface RenewArgs extends JsonArgs {
  key: string;
  token?: number;
  ttl?: string;
  holder?: string;
  pid?: string;
}

/** Renews (heartbeats) a lease the caller holds. */
export async function run(args: RenewArgs, cwd: string = process.cwd()): Promise<Lease> {
  const ctx = context(cwd);
  const holderRecord =
    args.pid !== undefined
      ? resolveHolder(ctx.repo, { holder: args.holder, pid: args.pid }, ctx.probe)
      : undefined;
  return renew(ctx, {
    key: args.key,
    holder: holderRecord?.id ?? resolveHolderId(ctx.repo, args.holder),
    token: tokenArg(args.token),
    ttlSeconds: durationArg(args.ttl, '--ttl'),
    holderRecord,
  });
}

export const renewCommand: CommandModule<object, RenewArgs> = {
  command: 'renew <key>',
  describe: 'heartbeat: extend a lease you hold',
  builder: (y) =>
    withJson(withHolder(withKey(y)))
      .option('token', { type: 'number', describe: 'renew only if the fencing token is still N' })
      .option('ttl', { type: 'string', describe: 'new time to live: 90s, 15m, 2h' })
      .option('pid', { type: 'string', describe: 'record a new agent process id' })
      .epilogue(
        'Only the holder may renew; with --token only while the token is unchanged. A lease taken over, closed or ' +
          'crashed is never resurrected: exit 3 "you lost the lease".',
      ) as never,
  handler: async (argv) => {
    const l = await run(argv);
    emit(
      argv.json,
      l,
      () =>
        `renewed: lease ${displaySafe(l.key)}, token ${l.token}, ttl ${l.ttlSeconds}s from ${l.renewedAt}`,
    );
  },
};
