import type { CommandModule } from 'yargs';
import { UsageError } from '../../errors.js';
import {
  cliLocation,
  type HookReport,
  type HookStatus,
  hookStatus,
  installHooks,
  uninstallHooks,
} from '../../hooks/index.js';
import { discoverRepo } from '../../refs/repo.js';
import { emit, type JsonArgs, withJson } from '../common.js';
import { colors } from '../output.js';

/** Options of `git coord hooks`. */
export interface HooksArgs extends JsonArgs {
  action: string;
}

const ACTIONS = ['install', 'uninstall', 'status'] as const;

/** Runs `hooks install | uninstall | status`. */
export function run(args: HooksArgs, cwd: string = process.cwd()): HookReport | HookStatus {
  const repo = discoverRepo(cwd);
  switch (args.action) {
    case 'install':
      return installHooks(repo, cliLocation());
    case 'uninstall':
      return uninstallHooks(repo);
    case 'status':
      return hookStatus(repo, cliLocation());
    default:
      throw new UsageError(
        `hooks: unknown action ${JSON.stringify(args.action)}; use install, uninstall or status`,
      );
  }
}

/** Human text of an install / uninstall report. */
export function formatHookReport(r: HookReport): string {
  const lines: string[] = [];
  if (r.layout.manager)
    lines.push(
      `hook manager: ${r.layout.manager}${r.layout.lefthookConfig ? ` (${r.layout.lefthookConfig})` : ''}`,
    );
  if (r.layout.coreHooksPath) lines.push(`core.hooksPath: ${r.layout.coreHooksPath}`);
  for (const a of r.actions)
    lines.push(`${a.hook ?? '-'}: ${a.action} ${a.path}${a.detail ? ` (${a.detail})` : ''}`);
  for (const i of r.instructions) lines.push(`${colors.yellow('to do:')} ${i}`);
  return lines.join('\n');
}

/** Human text of `hooks status`. */
export function formatHookStatus(s: HookStatus): string {
  const lines = [
    `hooks directory: ${s.hooksDir}`,
    `core.hooksPath: ${s.coreHooksPath ?? '(not set)'}`,
    `husky: ${s.husky ? 'yes' : 'no'}`,
    `lefthook: ${s.lefthook ?? 'no'}`,
  ];
  for (const h of s.hooks) {
    const paint = h.state === 'installed' || h.state === 'integrated' ? colors.green : colors.yellow;
    lines.push(`${h.name}: ${paint(h.state)}${h.chained ? ' (chained)' : ''} — ${h.detail}`);
  }
  return lines.join('\n');
}

export const hooksCommand: CommandModule<object, HooksArgs> = {
  command: 'hooks <action>',
  describe: 'install | uninstall | status of the git hooks (pre-commit, commit-msg, pre-push)',
  builder: (y) =>
    withJson(y)
      .positional('action', { type: 'string', choices: ACTIONS as unknown as string[] })
      .epilogue(
        'Hooks go where git looks for them (git rev-parse --git-path hooks, shared by all worktrees). A hook ' +
          'already there is kept as <hook>.coord-chained and runs first; uninstall puts it back byte for byte. ' +
          'With husky or lefthook, git-coord adds one line / command to their configuration instead. COORD=0 ' +
          'skips the coord checks.',
      ) as never,
  handler: (argv) => {
    const out = run(argv);
    emit(argv.json, out, () => ('hooks' in out ? formatHookStatus(out) : formatHookReport(out)));
  },
};
