import type { CommandModule } from 'yargs';
import { type JsonArgs, withHolder, withJson } from '../options.js';

/** Options of `git coord parallel`. */
export interface ParallelArgs extends JsonArgs {
  keys: string[];
  /** The command template after `--` (`{key}` replaced). */
  '--'?: Array<string | number>;
  max?: number;
  yes?: boolean;
  merge?: boolean;
  pool?: string;
  ttl?: string;
  holder?: string;
  base?: string;
  release?: boolean;
  keep?: boolean;
  'max-attempts'?: number;
  grace?: string;
}

export const parallelCommand: CommandModule<object, ParallelArgs> = {
  command: 'parallel <keys..>',
  describe:
    'run a command for many keys at once, each under its own lease (git coord run), at most N at a time',
  builder: (y) =>
    withJson(withHolder(y))
      .parserConfiguration({ 'populate--': true })
      .usage('$0 parallel <key>… [options] -- <command, {key} replaced>')
      .positional('keys', { type: 'string', array: true, describe: 'lease keys' })
      .option('max', { type: 'number', describe: 'at most N runs at once (default 3)' })
      .option('yes', { type: 'boolean', describe: 'start without asking (required when not on a terminal)' })
      .option('merge', {
        type: 'boolean',
        describe: 'merge each key that ends done (git coord merge), in the order they finish',
      })
      .option('pool', {
        type: 'string',
        describe: 'NAME:N: also hold one of N slot leases per run, a limit shared with other processes',
      })
      .option('ttl', {
        type: 'string',
        nargs: 1,
        describe: "each lease's time to live (heartbeats every ttl/3)",
      })
      .option('base', { type: 'string', describe: 'commit to start new branches from' })
      .option('release', { type: 'boolean', describe: 'on exit 0 release instead of done' })
      .option('keep', { type: 'boolean', describe: 'on a non-zero exit keep the lease open' })
      .option('max-attempts', { type: 'number', describe: 'refuse keys that have had N runs already' })
      .option('grace', { type: 'string', describe: 'SIGTERM → SIGKILL when stopping (default 10s)' })
      .epilogue(
        'Each key runs as `git coord run <key> … -- <command>` (a child process, output in a log under the git ' +
          'dir). On a terminal: the plan and a [y/N] question unless --yes, then one live line per key; ' +
          'otherwise timestamped lines. Ctrl-C stops every run (SIGTERM, SIGKILL after --grace) and marks ' +
          'them aborted. The final table: done / failed / refused (held by someone else, attempt budget) / ' +
          'conflict (lease lost while running) / aborted. Exit 0 only if every key is done (and merged, ' +
          'with --merge); 1 if any failed; 3 if any was refused or conflicted; 4 for a merge conflict; 130 ' +
          'when stopped.',
      ) as never,
  handler: async (argv) => (await import('../run/parallel.js')).handle(argv),
};
