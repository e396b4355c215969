import type { CommandModule } from 'yargs';

/** Options of `git coord doctor`. */
export interface DoctorArgs {
  fix?: boolean;
  json?: boolean;
}

export const doctorCommand: CommandModule<object, DoctorArgs> = {
  command: 'doctor',
  describe:
    'check refs/coord: stale locks, corrupt records, branch/worktree indexes vs leases, dead holders, orphan and missing worktrees; --fix repairs what is safe (exit 0 when no problem remains)',
  builder: (y) =>
    y
      .option('fix', {
        type: 'boolean',
        describe:
          'remove locks older than 60s (the claim lock too, once its holder is gone), quarantine corrupt records, ' +
          'rebuild indexes from the leases, mark leases whose holder process is gone crashed (as `git coord crash`), ' +
          "and remove git's registration of worktrees whose directory is gone (`git worktree remove` on that entry; " +
          'branch kept). Never deletes an existing worktree: orphan worktrees are reported with the command to remove ' +
          'or adopt them',
      })
      .option('json', { type: 'boolean', describe: 'print exactly one JSON document on stdout' })
      .epilogue(
        'Problem kinds: stale-lock, lock-held, broken-ref, corrupt-record, orphan-index, index-mismatch, ' +
          'missing-index, duplicate-claim, gc-config, dead-holder (open lease, holder pid on this host gone or ' +
          'reused), orphan-worktree (a worktree in worktrees.dir no open or crashed lease names; report-only: ' +
          '`git worktree remove <path>` refuses uncommitted changes and keeps the branch), missing-worktree ' +
          '(a registered or leased worktree whose directory is gone).',
      ) as never,
  handler: async (argv) => (await import('../run/doctor.js')).handle(argv),
};
