import type { CommandModule } from 'yargs';
import { type JsonArgs, withJson } from '../options.js';

/** Options of `git coord hooks`. */
export interface HooksArgs extends JsonArgs {
  action: string;
  /** `--server`: the pre-receive hook of a bare repository others push to. */
  server?: boolean;
}

const ACTIONS = ['install', 'uninstall', 'status'] as const;

export const hooksCommand: CommandModule<object, HooksArgs> = {
  command: 'hooks <action>',
  describe:
    'install | uninstall | status of the git hooks (pre-commit, commit-msg, pre-push, reference-transaction)',
  builder: (y) =>
    withJson(y)
      .positional('action', { type: 'string', choices: ACTIONS as unknown as string[] })
      .option('server', {
        type: 'boolean',
        describe:
          'in a bare repository others push to: the pre-receive hook that validates pushed records, fences ' +
          'leased branches by token and applies protect (docs/server.md)',
      })
      .epilogue(
        'Hooks go where git looks for them (git rev-parse --git-path hooks, shared by all worktrees). A hook ' +
          'already there is kept as <hook>.coord-chained and runs first; uninstall puts it back byte for byte. ' +
          'With husky or lefthook, git-coord adds one line / command to their configuration instead. COORD=0 ' +
          'skips the coord checks.',
      ) as never,
  handler: async (argv) => (await import('../run/hooks.js')).handle(argv),
};
