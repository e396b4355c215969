import type { CommandModule } from 'yargs';

/** Options of the internal `git coord server-hook <name>`. */
export interface ServerHookArgs {
  name: string;
}

/**
 * `git-coord server-hook pre-receive`: what the pre-receive hook installed by `hooks install --server`
 * runs (stdin: git's ref updates). Not for people; hidden from --help.
 */
export const serverHookCommand: CommandModule<object, ServerHookArgs> = {
  command: 'server-hook <name>',
  describe: false,
  builder: (y) => y.positional('name', { type: 'string', choices: ['pre-receive'] }) as never,
  handler: async (argv) => (await import('../run/server-hook.js')).handle(argv),
};
