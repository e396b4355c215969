import type { CommandModule } from 'yargs';
import { resolveHolderId } from '../../leases/identity.js';
import { type ClearResult, clear } from '../../leases/ops.js';
import { context, emit, type JsonArgs, withHolder, withJson, withKey } from '../common.js';
import { displaySafe } from '../output.js';

/** Options of `git coord clear`. */
export interface ClearArgs extends JsonArgs {
  key: string;
  force?: boolean;
  holder?: string;
}

/** Deletes a lease and its index refs. */
export async function run(args: ClearArgs, cwd: string = process.cwd()): Promise<ClearResult> {
  const ctx = context(cwd);
  return clear(ctx, { key: args.key, by: resolveHolderId(ctx.repo, args.holder), force: args.force });
}

export const clearCommand: CommandModule<object, ClearArgs> = {
  command: 'clear <key>',
  describe: 'delete a lease and its index refs (an open lease needs --force); audit event',
  builder: (y) =>
    withJson(withHolder(withKey(y))).option('force', {
      type: 'boolean',
      describe: 'also clear an open lease (or a corrupt record)',
    }) as never,
  handler: async (argv) => {
    const r = await run(argv);
    emit(argv.json, { key: argv.key, ...r }, () =>
      [`cleared: lease ${displaySafe(argv.key)}`, ...r.deleted.map((d) => `deleted ${displaySafe(d)}`)].join(
        '\n',
      ),
    );
  },
};
