import type { CommandModule } from 'yargs';
import { resolveHolderId } from '../../leases/identity.js';
import { type ReleaseResult, release } from '../../leases/ops.js';
import { context, emit, type JsonArgs, tokenArg, warn, withHolder, withJson, withKey } from '../common.js';
import { displaySafe } from '../output.js';

/** Options of `git coord release`. */
export interface ReleaseArgs extends JsonArgs {
  key: string;
  token?: number;
  holder?: string;
  removeWorktree?: boolean;
}

/** Releases a lease the caller holds. */
export async function run(args: ReleaseArgs, cwd: string = process.cwd()): Promise<ReleaseResult> {
  const ctx = context(cwd);
  return release(ctx, {
    key: args.key,
    holder: resolveHolderId(ctx.repo, args.holder),
    token: tokenArg(args.token),
    removeWorktree: args.removeWorktree,
  });
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
  handler: async (argv) => {
    const r = await run(argv);
    for (const w of r.warnings) warn(w);
    emit(argv.json, r.lease, () =>
      [
        `released: lease ${displaySafe(r.lease.key)}, token ${r.lease.token}`,
        ...(r.removedWorktree ? [`removed worktree ${displaySafe(r.removedWorktree)}`] : []),
      ].join('\n'),
    );
  },
};
