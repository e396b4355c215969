import type { CommandModule } from 'yargs';

/** Options of the internal `git coord hook <name> [args..]`. */
export interface HookArgs {
  name: string;
  args?: string[];
}

/**
 * `git-coord hook <name> [args..]`: what the installed shell hooks run once their fast path decided
 * node is needed. Not for people; hidden from --help.
 */
export const hookCommand: CommandModule<object, HookArgs> = {
  command: 'hook <name> [args..]',
  describe: false,
  builder: (y) =>
    y
      .positional('name', { type: 'string' })
      .positional('args', { type: 'string', array: true })
      .parserConfiguration({ 'unknown-options-as-args': true }) as never,
  handler: async (argv) => {
    const { runHook } = await import('../../hooks/run.js');
    process.exitCode = await runHook(argv.name, (argv.args ?? []).map(String));
  },
};
