import type { CommandModule } from 'yargs';
import { resolveHolderId } from '../../leases/identity.js';
import { done } from '../../leases/ops.js';
import type { GateResult, Lease } from '../../records/schemas.js';
import { context, emit, type JsonArgs, tokenArg, withHolder, withJson, withKey } from '../common.js';
import { displaySafe } from '../output.js';

/** Options of `git coord done`. */
export interface DoneArgs extends JsonArgs {
  key: string;
  token?: number;
  holder?: string;
}

/**
 * Closes a lease the caller holds with outcome `done`, recording `gate` when given (an `overridden`
 * gate also writes an audit event). Gate evaluation belongs here, before the call.
 */
export async function run(
  args: DoneArgs,
  cwd: string = process.cwd(),
  gate?: GateResult | null,
): Promise<Lease> {
  const ctx = context(cwd);
  return done(ctx, {
    key: args.key,
    holder: resolveHolderId(ctx.repo, args.holder),
    token: tokenArg(args.token),
    gate,
  });
}

export const doneCommand: CommandModule<object, DoneArgs> = {
  command: 'done <key>',
  describe: 'close a lease you hold (outcome done)',
  builder: (y) =>
    withJson(withHolder(withKey(y))).option('token', {
      type: 'number',
      describe: 'close only if the fencing token is still N',
    }) as never,
  handler: async (argv) => {
    const l = await run(argv);
    emit(argv.json, l, () => `done: lease ${displaySafe(l.key)}, token ${l.token}`);
  },
};
