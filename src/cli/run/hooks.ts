import { readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../config/config.js';
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
import { removeExcluded } from '../../leases/worktree.js';
import { forgetRecordReflogs, GC_CONFIG_KEY } from '../../records/gc.js';
import { listRefs } from '../../refs/read.js';
import { discoverRepo, type Repo } from '../../refs/repo.js';
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
      return undoInit(repo, uninstallHooks(repo));
    case 'status':
      return hookStatus(repo, cliLocation());
    default:
      throw new UsageError(
        `hooks: unknown action ${JSON.stringify(args.action)}; use install, uninstall or status`,
      );
  }
}

/**
 * The rest of what `git coord init` set up (issue 9 item 14), after the hooks are gone: the
 * worktrees directory's `info/exclude` line, `gc.refs/coord/*.reflogExpireUnreachable` (kept while
 * records remain under refs/coord, whose reflogs need it), an empty `<common dir>/coord/`. The
 * committed `.coord/config.json` and the records themselves are the project's and stay.
 */
function undoInit(repo: Repo, report: HookReport): HookReport {
  let dir = '.coord/worktrees';
  try {
    dir = loadConfig(repo).worktreeDir;
  } catch {
    // a broken config: the default directory's line is the one init wrote
  }
  const exclude = join(repo.commonDir, 'info', 'exclude');
  if (removeExcluded(repo, dir)) {
    report.actions.push({
      hook: null,
      action: 'removed',
      path: exclude,
      detail: `removed the line /${dir}/`,
    });
  }
  const records = listRefs(repo, 'refs/coord/').length > 0;
  const gc = forgetRecordReflogs(repo, records);
  const config = join(repo.commonDir, 'config');
  if (gc === 'removed') {
    report.actions.push({ hook: null, action: 'removed', path: config, detail: `unset ${GC_CONFIG_KEY}` });
  } else if (gc === 'kept') {
    report.actions.push({
      hook: null,
      action: 'unchanged',
      path: config,
      detail: `kept ${GC_CONFIG_KEY}: records remain under refs/coord/ and their reflogs need it (uninstall removes it once refs/coord/ is empty)`,
    });
  }
  const coordDir = join(repo.commonDir, 'coord');
  try {
    if (readdirSync(coordDir).length === 0) {
      rmdirSync(coordDir);
      report.actions.push({
        hook: null,
        action: 'removed',
        path: coordDir,
        detail: 'removed the empty directory',
      });
    }
  } catch {
    // not there
  }
  return report;
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
    lines.push(`${a.hook ?? 'hooks'}: ${a.action} ${a.path}${a.detail ? ` (${a.detail})` : ''}`);
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
  for (const w of s.worktrees) {
    if (!w.runs) lines.push(`${colors.yellow('worktree without the checks:')} ${w.path} — ${w.detail}`);
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
