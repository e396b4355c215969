import type { CommandModule } from 'yargs';

/** Options of `git coord doctor`. */
export interface DoctorArgs {
  fix?: boolean;
  json?: boolean;
}

export const doctorCommand: CommandModule<object, DoctorArgs> = {
  command: 'doctor',
  describe:
    'check refs/coord: stale locks, corrupt records, branch/worktree indexes vs leases; --fix repairs (exit 0 when no problem remains)',
  builder: (y) =>
    y
      .option('fix', {
        type: 'boolean',
        describe: 'remove locks older than 60s, quarantine corrupt records, rebuild indexes from the leases',
      })
      .option('json', { type: 'boolean', describe: 'print exactly one JSON document on stdout' }) as never,
  handler: async (argv) => (await import('../run/doctor.js')).handle(argv),
};
