import { UsageError } from '../../errors.js';
import {
  cliLocation,
  type HookReport,
  type HookStatus,
  hookStatus,
  installHooks,
  uninstallHooks,
} from '../../hooks/index.js';
import {
  installServerHook,
  type ServerHookReport,
  type ServerHookStatus,
  serverHookStatus,
  uninstallServerHook,
} from '../../hooks/server/install.js';
import { discoverRepo } from '../../refs/repo.js';
import type { HooksArgs } from '../commands/hooks.js';
import { emit } from '../common.js';
import { colors } from '../output.js';

/** Runs `hooks install | uninstall | status` (`--server`: the bare repository's pre-receive hook). */
export function run(
  args: HooksArgs,
  cwd: string = process.cwd(),
): HookReport | HookStatus | ServerHookReport | ServerHookStatus {
  const repo = discoverRepo(cwd);
  if (args.server) {
    if (args.action === 'install') return installServerHook(repo, cliLocation());
    if (args.action === 'uninstall') return uninstallServerHook(repo);
    if (args.action === 'status') return serverHookStatus(repo, cliLocation());
  }
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

/** Human text of `hooks install|uninstall --server`. */
export function formatServerReport(r: ServerHookReport): string {
  return [
    `repository: ${r.repository}`,
    ...r.actions.map((a) => `${a.action} ${a.path}${a.detail ? ` (${a.detail})` : ''}`),
  ].join('\n');
}

/** Human text of `hooks status --server`. */
export function formatServerStatus(s: ServerHookStatus): string {
  const ok = s.hook.state === 'installed';
  const pushers = Object.entries(s.pushers);
  return [
    `repository: ${s.repository}`,
    `pre-receive: ${(ok ? colors.green : colors.yellow)(s.hook.state)}${s.hook.chained ? ' (chained)' : ''} — ${s.hook.detail}`,
    `receive.advertisePushOptions: ${s.advertisePushOptions ? 'true' : colors.yellow('false (git push -o fails)')}`,
    `config: ${s.config ?? '(none: defaults)'}`,
    `protect: ${s.protect.length ? s.protect.join(', ') : '(nothing)'}`,
    `pusher map: ${pushers.length ? pushers.map(([p, h]) => `${p} → ${h.join(', ')}`).join('; ') : '(none: not enforced)'}`,
  ].join('\n');
}

/** `git coord hooks <action>`: the report or status (JSON with `--json`). */
export async function handle(argv: HooksArgs): Promise<void> {
  const out = run(argv);
  emit(argv.json, out, () => {
    if ('hook' in out) return formatServerStatus(out);
    if ('repository' in out) return formatServerReport(out);
    return 'hooks' in out ? formatHookStatus(out) : formatHookReport(out);
  });
}
