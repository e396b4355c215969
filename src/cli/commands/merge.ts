import type { CommandModule } from 'yargs';
import { type JsonArgs, withHolder, withJson, withKey } from '../options.js';

/** Options of `git coord merge`. */
export interface MergeArgs extends JsonArgs {
  key: string;
  into?: string;
  ffOnly?: boolean;
  /** `false` with `--no-ff`. */
  ff?: boolean;
  squash?: boolean;
  force?: boolean;
  reason?: string;
  holder?: string;
}

export const mergeCommand: CommandModule<object, MergeArgs> = {
  command: 'merge <key>',
  describe: "merge a done lease's branch into a target branch without touching any worktree",
  builder: (y) =>
    withJson(withHolder(withKey(y)))
      .option('into', {
        type: 'string',
        describe: 'target branch (default: the first "protect" branch of .coord/config.json)',
      })
      .option('ff-only', { type: 'boolean', describe: 'only fast-forward; refuse (exit 4) otherwise' })
      .option('ff', {
        type: 'boolean',
        describe: 'fast-forward when possible (default); --no-ff makes a merge commit even then',
      })
      .option('squash', { type: 'boolean', describe: "one commit on the target with the branch's changes" })
      .conflicts('ff-only', 'squash')
      .option('force', { type: 'boolean', describe: 'merge a lease that is not done (needs --reason)' })
      .option('reason', { type: 'string', describe: 'why; recorded in the lease and the audit log' })
      .epilogue(
        'Fast-forwards when possible, else a merge commit from `git merge-tree --write-tree`; the target moves ' +
          'by compare-and-swap. A target checked out in a worktree must be clean there and is updated with it. ' +
          'Exit 4: conflicts (target unchanged, paths listed), lease not done, --ff-only impossible, target ' +
          'checkout dirty. Exit 3: the target is held by another lease.',
      ) as never,
  handler: async (argv) => (await import('../run/merge.js')).handle(argv),
};
