import type { CommandModule } from 'yargs';
import { resolveHolderId } from '../../leases/identity.js';
import { crash } from '../../leases/ops.js';
import type { Lease } from '../../records/schemas.js';
import { context, emit, type JsonArgs, withHolder, withJson, withKey } from '../common.js';
import { displaySafe } from '../output.js';

/** Options of `git coord crash`. */
export interface CrashArgs extends JsonArgs {
  key: string;
  reason: string;
  holder?: string;
}

/** Marks a lease crashed. */
export async function run(args: CrashArgs, cwd: string = process.cwd()): Promise<Lease> {
  const ctx = context(cwd);
  return crash(ctx, { key: args.key, by: resolveHolderId(ctx.repo, args.holder), reason: args.reason });
}

export const crashCommand: CommandModule<object, CrashArgs> = {
  command: 'crash <key>',
  describe: 'mark a lease crashed (its holder, or anyone once it is stale)',
  builder: (y) =>
    withJson(withHolder(withKey(y)))
      .option('reason', {
        type: 'string',
        demandOption: true,
        describe: 'what happened (recorded, with an audit event)',
      })
      .epilogue(
        'A crashed lease keeps its branch and worktree: its holder may claim it again; others take it over. ' +
          '`claim` also marks a lease crashed when it finds the holder process gone.',
      ) as never,
  handler: async (argv) => {
    const l = await run(argv);
    emit(argv.json, l, () => `crashed: lease ${displaySafe(l.key)}, token ${l.token}`);
  },
};
