import type { CommandModule } from 'yargs';
import { type JsonArgs, withHolder, withJson, withKey } from '../options.js';

/** Options of `git coord claim`. */
export interface ClaimArgs extends JsonArgs {
  key: string;
  branch?: string;
  base?: string;
  /** A path, or `false` for `--no-worktree`. */
  worktree?: string | boolean;
  ttl?: string;
  holder?: string;
  pid?: string;
  note?: string;
  takeover?: boolean;
  reason?: string;
  allowSharedBranch?: boolean;
}

export const claimCommand: CommandModule<object, ClaimArgs> = {
  command: 'claim <key>',
  describe: 'acquire a lease and provision (or reuse) its worktree',
  builder: (y) =>
    withJson(withHolder(withKey(y)))
      .option('branch', {
        type: 'string',
        describe: 'branch to work on (default: worktrees.branch, coord/{key})',
      })
      .option('base', {
        type: 'string',
        describe: 'commit to start a new branch from (default: main worktree HEAD)',
      })
      .option('worktree', {
        type: 'string',
        describe: 'worktree path (default: <main worktree>/<worktrees.dir>/<key>); --no-worktree for none',
      })
      .option('ttl', {
        type: 'string',
        nargs: 1, // so a value like -5m is the option's value (and refused as negative), not flags
        describe: 'time to live without renew: 90s, 15m, 2h (default: leases.ttl)',
      })
      .option('pid', {
        type: 'string',
        describe: 'long-lived agent process whose death frees the lease (default: $COORD_PID)',
      })
      .option('note', { type: 'string', describe: 'free text stored in the lease' })
      .option('takeover', { type: 'boolean', describe: "take over another holder's stale or crashed lease" })
      .option('reason', { type: 'string', describe: 'reason recorded with --takeover' })
      .option('allow-shared-branch', {
        type: 'boolean',
        describe:
          "hold a branch others commit on (a protected one, or the main worktree's): refuses their commits there",
      })
      .epilogue(
        'Same holder again: idempotent (same token, same worktree, renewed). Held by another: exit 3 naming the ' +
          'holder. A stale lease (expired, holder process gone) needs `takeover` or --takeover; a lease whose ' +
          'holder process is gone is marked crashed when a claim notices. A registered worktree at the path is ' +
          'reused; an unknown directory there is never overwritten (exit 1). A leftover branch with no lease is ' +
          'adopted: `git worktree add PATH BRANCH`, keeping its commits. If the ref transaction fails, the new ' +
          'worktree and branch are removed again.',
      ) as never,
  handler: async (argv) => (await import('../run/claim.js')).handle(argv),
};
