import type { CommandModule } from 'yargs';
import { withHolder, withKey } from '../options.js';

/** Options of `git coord run`. */
export interface RunArgs {
  key: string;
  /** The command after `--`. */
  '--'?: Array<string | number>;
  branch?: string;
  base?: string;
  /** A path, or `false` for `--no-worktree`. */
  worktree?: string | boolean;
  ttl?: string;
  holder?: string;
  note?: string;
  takeover?: boolean;
  reason?: string;
  release?: boolean;
  keep?: boolean;
  'max-attempts'?: number;
  grace?: string;
  pool?: string;
  /** Internal (used by `parallel`): write the outcome as JSON to this file. */
  'report-file'?: string;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run <key>',
  describe: 'run a command under a lease: claim, heartbeat, stop it if the lease is lost, close by its exit',
  builder: (y) =>
    withHolder(withKey(y))
      .parserConfiguration({ 'populate--': true })
      .usage('$0 run <key> [options] -- <command…>')
      .option('branch', { type: 'string', describe: 'branch to work on (default: worktrees.branch)' })
      .option('base', { type: 'string', describe: 'commit to start a new branch from' })
      .option('worktree', {
        type: 'string',
        describe: 'worktree path (default: <main worktree>/<worktrees.dir>/<key>); --no-worktree runs here',
      })
      .option('ttl', {
        type: 'string',
        nargs: 1, // -5m is the option's value (refused as negative), not flags
        describe: 'lease time to live; heartbeats every ttl/3 (default: leases.ttl)',
      })
      .option('note', { type: 'string', describe: 'free text stored in the lease' })
      .option('takeover', { type: 'boolean', describe: "take over another holder's stale or crashed lease" })
      .option('reason', { type: 'string', describe: 'reason recorded with --takeover' })
      .option('release', {
        type: 'boolean',
        describe: 'on exit 0 release the lease instead of `done` (no gate)',
      })
      .option('keep', {
        type: 'boolean',
        describe: 'on a non-zero exit keep the lease open instead of closing it failed',
      })
      .option('max-attempts', {
        type: 'number',
        describe: 'refuse to run when the key has had N runs already (exit 4)',
      })
      .option('grace', {
        type: 'string',
        describe: 'time between SIGTERM and SIGKILL when stopping the command (default 10s)',
      })
      .option('pool', {
        type: 'string',
        describe: 'hold one of N slot leases pool.NAME.1..N while running (NAME:N)',
      })
      .option('report-file', { type: 'string', hidden: true })
      .epilogue(
        'The command runs in the lease worktree, in its own process group, with COORD_KEY, COORD_HOLDER, COORD_TOKEN, ' +
          'COORD_WORKTREE and COORD_ATTEMPT set; holder.pid is the runner. Exit 0 → `done` (the gate decides: a failing ' +
          'gate keeps the lease open, exit 4) or `release` with --release; non-zero → closed failed (kept open with ' +
          '--keep); killed by a signal → crashed; SIGINT/SIGTERM to the runner go to the command and close the lease ' +
          'aborted. Lease lost (taken over, token moved) → SIGTERM, SIGKILL after --grace, exit 3. Otherwise the exit ' +
          "code is the command's.",
      ) as never,
  handler: async (argv) => (await import('../run/run.js')).handle(argv),
};
