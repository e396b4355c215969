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
import type { HooksArgs } from '../commands/hooks.js';
import { emit } from '../common.js';
import { colors } from '../output.js';

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

/** `git coord hooks <action>`: the report or status (JSON with `--json`). */
export async function handle(argv: HooksArgs): Promise<void> {
  const out = run(argv);
  emit(argv.json, out, () => ('hooks' in out ? formatHookStatus(out) : formatHookReport(out)));
}
