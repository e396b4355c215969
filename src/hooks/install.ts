import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { CoordError } from '../errors.js';
import { git } from '../refs/git.js';
import type { Repo } from '../refs/repo.js';
import {
  CHAINED_SUFFIX,
  type CliLocation,
  HOOK_MARKER,
  HOOK_NAMES,
  type HookName,
  hookScript,
  isCoordHook,
  MANAGED_HOOKS,
  type ManagedHook,
} from './scripts.js';

/**
 * Installing the hooks (DESIGN §5) where git really looks for them:
 *
 * - **plain** (and any non-husky `core.hooksPath`): the scripts go into `git rev-parse --git-path
 *   hooks` (shared by all worktrees). A hook we did not write is renamed `<hook>.coord-chained` (bytes
 *   and mode kept) and run first by ours; uninstall renames it back.
 * - **husky** (`core.hooksPath` = `.husky/_` or `.husky`): the scripts go to `<common dir>/coord/hooks/`
 *   and one line calling them is appended to `.husky/<hook>` (created if missing).
 * - **lefthook** (`lefthook.yml` / `.lefthook.yml`): the scripts go to `<common dir>/coord/hooks/` and a
 *   `git-coord` command calling them is added to each hook of the lefthook config, then `lefthook
 *   install` is run when lefthook can be found (else the command to run is printed).
 *
 * Every line git-coord adds to someone else's file ends with `# git-coord-hook`, so uninstall removes
 * exactly those lines and a file it created is deleted again.
 */

/** The hook manager in use. */
export type HookManager = 'husky' | 'lefthook' | null;

/** Where hooks go in this repository. */
export interface HookLayout {
  /** Directory git runs hooks from (`git rev-parse --git-path hooks`). */
  hooksDir: string;
  /** `core.hooksPath` as configured, or null. */
  coreHooksPath: string | null;
  manager: HookManager;
  /** husky: the directory of the user's hook scripts (`.husky`). */
  huskyDir: string | null;
  /** lefthook: the config file (absolute), or null. */
  lefthookConfig: string | null;
  /** Where integration scripts live: `<common dir>/coord/hooks`. */
  scriptsDir: string;
}

/** One thing install / uninstall did (or would have to be done by hand). */
export interface HookAction {
  hook: HookName | null;
  action:
    | 'installed'
    | 'updated'
    | 'unchanged'
    | 'chained'
    | 'integrated'
    | 'removed'
    | 'restored'
    | 'absent'
    | 'kept-foreign'
    | 'manual';
  path: string;
  detail: string;
}

/** Result of install / uninstall. */
export interface HookReport {
  layout: HookLayout;
  actions: HookAction[];
  /** Exact lines or commands the user still has to add or run, if any. */
  instructions: string[];
}

/** State of one hook for `hooks status`. */
export interface HookState {
  name: HookName;
  state: 'installed' | 'outdated' | 'missing' | 'foreign' | 'integrated';
  path: string;
  /** A hook that was there before is kept and runs first. */
  chained: boolean;
  detail: string;
}

/** Whether git-coord's checks would run in one worktree (issue 9 item 1). */
export interface WorktreeHooks {
  /** The worktree's top. */
  path: string;
  /** Where git looks for hooks when it runs there. */
  hooksDir: string;
  /** True when pre-commit and reference-transaction would run git-coord's checks there. */
  runs: boolean;
  /** What is missing, or what runs. */
  detail: string;
}

/** `hooks status` document. */
export interface HookStatus {
  hooksDir: string;
  coreHooksPath: string | null;
  manager: HookManager;
  husky: boolean;
  lefthook: string | null;
  hooks: HookState[];
  /** Every worktree of the repository and whether the coord checks run there. */
  worktrees: WorktreeHooks[];
}

function executable(path: string): boolean {
  try {
    return (statSync(path).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * For every worktree (`git worktree list`), where git looks for hooks there (`git rev-parse
 * --git-path hooks` run in it: a relative `core.hooksPath` such as husky's `.husky/_` is per worktree)
 * and whether git-coord's checks would run: `reference-transaction` must be ours, and `pre-commit`
 * ours, or a husky wrapper whose worktree's `.husky/pre-commit` calls ours, or lefthook's with the
 * git-coord command in the worktree's config, or pre-commit's (pre-commit.com) running ours as
 * `pre-commit.legacy`.
 */
export function worktreeHooks(repo: Pick<Repo, 'worktreeTop' | 'commonDir' | 'config'>): WorktreeHooks[] {
  const cwd = repo.worktreeTop ?? repo.commonDir;
  const list = git(['worktree', 'list', '--porcelain'], { cwd, allowFailure: true }).stdout;
  const out: WorktreeHooks[] = [];
  for (const line of list.split('\n')) {
    if (!line.startsWith('worktree ')) continue;
    const path = line.slice('worktree '.length);
    if (!existsSync(path)) continue;
    const res = git(['rev-parse', '--path-format=absolute', '--git-path', 'hooks'], {
      cwd: path,
      allowFailure: true,
    });
    if (res.status !== 0) continue; // bare entry or not a worktree any more
    const hooksDir = res.stdout.trim();
    const missing: string[] = [];
    const rt = join(hooksDir, 'reference-transaction');
    if (!executable(rt) || !isCoordHook(readText(rt) ?? '')) missing.push('reference-transaction');
    const pc = join(hooksDir, 'pre-commit');
    const text = executable(pc) ? readText(pc) : null;
    const pcRuns =
      text !== null &&
      (isCoordHook(text) ||
        (readText(join(path, '.husky', 'pre-commit')) ?? '').includes(`${HOOK_MARKER}`) ||
        (/lefthook/.test(text) &&
          LEFTHOOK_CONFIGS.some((n) => (readText(join(path, n)) ?? '').includes(HOOK_MARKER))) ||
        (/pre-commit\.com|pre_commit/.test(text) && isCoordHook(readText(`${pc}.legacy`) ?? '')));
    if (!pcRuns) missing.push('pre-commit');
    out.push({
      path,
      hooksDir,
      runs: missing.length === 0,
      detail:
        missing.length === 0
          ? `git-coord's checks run from ${hooksDir}`
          : `git looks for hooks in ${hooksDir}${existsSync(hooksDir) ? '' : ', which does not exist'}, and git-coord's ` +
            `${missing.join(' and ')} ${missing.length > 1 ? 'do' : 'does'} not run there: run \`git coord hooks install\` ` +
            'in that worktree (husky: `npx husky` there, or `git coord doctor --fix`)',
    });
  }
  return out;
}

/** In the scripts dir: the lefthook dispatchers that `lefthook install` added for git-coord. */
const DISPATCHERS_FILE = 'lefthook-dispatchers';

const LEFTHOOK_CONFIGS = ['lefthook.yml', 'lefthook.yaml', '.lefthook.yml', '.lefthook.yaml'];
const LEFTHOOK_OTHER = [
  'lefthook.json',
  'lefthook.toml',
  '.lefthook.json',
  '.lefthook.toml',
  '.config/lefthook.yml',
  '.config/lefthook.yaml',
];

function top(repo: Pick<Repo, 'worktreeTop'>): string {
  if (!repo.worktreeTop) {
    throw new CoordError('bare-repository', 'hooks are installed from a worktree, not a bare repository');
  }
  return repo.worktreeTop;
}

/** Finds where hooks go and which hook manager is in use. */
export function detectLayout(repo: Pick<Repo, 'worktreeTop' | 'commonDir' | 'config'>): HookLayout {
  const cwd = top(repo);
  const hooksDir = git(['rev-parse', '--path-format=absolute', '--git-path', 'hooks'], { cwd }).stdout.trim();
  const coreHooksPath = repo.config().get('core.hookspath') ?? null;
  let manager: HookManager = null;
  let huskyDir: string | null = null;
  let lefthookConfig: string | null = null;
  if (coreHooksPath !== null && /(^|[\\/])\.husky([\\/]_)?[\\/]?$/.test(coreHooksPath)) {
    manager = 'husky';
    huskyDir = /[\\/]_[\\/]?$/.test(coreHooksPath) ? dirname(hooksDir) : hooksDir;
  } else {
    for (const name of [...LEFTHOOK_CONFIGS, ...LEFTHOOK_OTHER]) {
      if (existsSync(join(cwd, name))) {
        manager = 'lefthook';
        lefthookConfig = join(cwd, name);
        break;
      }
    }
  }
  return {
    hooksDir,
    coreHooksPath,
    manager,
    huskyDir,
    lefthookConfig,
    scriptsDir: join(repo.commonDir, 'coord', 'hooks'),
  };
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes `text` atomically (temp file + rename) with `mode`. */
function writeAtomic(path: string, text: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.coord-tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** Installs the coord hooks. Idempotent. */
export function installHooks(
  repo: Pick<Repo, 'worktreeTop' | 'commonDir' | 'config'>,
  loc: CliLocation,
): HookReport {
  const layout = detectLayout(repo);
  const actions: HookAction[] = [];
  const instructions: string[] = [];
  if (layout.manager === null) {
    for (const name of HOOK_NAMES) actions.push(installStandalone(layout.hooksDir, name, loc));
    return { layout, actions, instructions };
  }
  for (const name of MANAGED_HOOKS) {
    const path = join(layout.scriptsDir, name);
    const text = hookScript(name, loc, false);
    if (readText(path) !== text) writeAtomic(path, text, 0o755);
  }
  // Neither husky nor lefthook runs reference-transaction: it goes where git looks for hooks.
  const refTx = installStandalone(layout.hooksDir, 'reference-transaction', loc);
  if (layout.manager === 'husky') {
    for (const name of MANAGED_HOOKS) actions.push(integrateHusky(layout.huskyDir!, name));
    actions.push(refTx);
    instructions.push(
      `commit the .husky/ hook files so every clone runs the git-coord checks; husky's core.hooksPath ` +
        `(${layout.coreHooksPath}) is relative, so git looks for hooks in each worktree's own ` +
        '.husky/_: run `npx husky` in every linked worktree (e.g. those `git coord claim` makes), or set ' +
        `core.hooksPath to the absolute path ${layout.hooksDir}`,
    );
    return { layout, actions, instructions };
  }
  const cfg = layout.lefthookConfig!;
  const isYaml = LEFTHOOK_CONFIGS.some((n) => cfg.endsWith(`/${n}`));
  let changed = false;
  if (isYaml) {
    let text = readText(cfg) ?? '';
    for (const name of MANAGED_HOOKS) {
      const res = addLefthookCommand(text, name);
      if (res === null) {
        actions.push({
          hook: name,
          action: 'manual',
          path: cfg,
          detail: `cannot place the command in ${name}: add it by hand`,
        });
        instructions.push(`add to ${cfg} under ${name}:\n${lefthookBlock(name, '    ').join('\n')}`);
      } else if (res === text) {
        actions.push({ hook: name, action: 'unchanged', path: cfg, detail: 'git-coord command present' });
      } else {
        text = res;
        changed = true;
        actions.push({ hook: name, action: 'integrated', path: cfg, detail: 'added command git-coord' });
      }
    }
    if (changed) writeFileSync(cfg, text);
  } else {
    for (const name of MANAGED_HOOKS) {
      actions.push({ hook: name, action: 'manual', path: cfg, detail: 'not a YAML lefthook config' });
      instructions.push(
        `add a command to ${name} in ${cfg} running: ${lefthookRun(name)}${name === 'pre-push' ? ' (with use_stdin: true)' : ''}`,
      );
    }
  }
  actions.push(refTx);
  const missingHooks = MANAGED_HOOKS.filter((n) => !isLefthookHook(readText(join(layout.hooksDir, n))));
  if (changed || missingHooks.length > 0) {
    const ran = runLefthookInstall(top(repo));
    const added = missingHooks.filter((n) => isLefthookHook(readText(join(layout.hooksDir, n))));
    if (added.length > 0) {
      const file = join(layout.scriptsDir, DISPATCHERS_FILE);
      const known = new Set((readText(file) ?? '').split('\n').filter(Boolean));
      for (const n of added) known.add(n);
      writeAtomic(file, `${[...known].join('\n')}\n`, 0o644);
    }
    if (!ran)
      instructions.push(
        'run `lefthook install` so git calls lefthook for pre-commit, commit-msg and pre-push',
      );
  }
  instructions.push(
    `commit ${relative(top(repo), cfg)} so every worktree and clone runs the git-coord checks through lefthook`,
  );
  return { layout, actions, instructions };
}

function installStandalone(hooksDir: string, name: HookName, loc: CliLocation): HookAction {
  const path = join(hooksDir, name);
  const chained = path + CHAINED_SUFFIX;
  const text = hookScript(name, loc, true);
  const current = exists(path) ? readText(path) : null;
  if (current !== null && isCoordHook(current)) {
    if (current === text && (statSync(path).mode & 0o111) !== 0) {
      return { hook: name, action: 'unchanged', path, detail: 'up to date' };
    }
    writeAtomic(path, text, 0o755);
    return { hook: name, action: 'updated', path, detail: 'rewritten with the current CLI path' };
  }
  if (exists(path)) {
    if (exists(chained)) {
      return {
        hook: name,
        action: 'kept-foreign',
        path,
        detail:
          `a foreign ${name} hook is in place and ${name}${CHAINED_SUFFIX} already exists: not touched. ` +
          `Merge them by hand, remove one, then run \`git coord hooks install\` again`,
      };
    }
    renameSync(path, chained);
    writeAtomic(path, text, 0o755);
    return {
      hook: name,
      action: 'chained',
      path,
      detail: `kept the existing hook as ${name}${CHAINED_SUFFIX}; it runs first`,
    };
  }
  writeAtomic(path, text, 0o755);
  return { hook: name, action: 'installed', path, detail: 'new' };
}

// ---------- husky ----------

/** The line appended to `.husky/<hook>`. */
export function huskyLine(name: ManagedHook): string {
  return (
    `coord_hook="$(git rev-parse --path-format=absolute --git-common-dir)/coord/hooks/${name}"; ` +
    `if [ -f "$coord_hook" ]; then sh "$coord_hook" "$@" || exit $?; fi # ${HOOK_MARKER}`
  );
}

const CREATED_LINE = `# ${HOOK_MARKER}: file created by git coord hooks install`;

function integrateHusky(huskyDir: string, name: ManagedHook): HookAction {
  const path = join(huskyDir, name);
  const line = huskyLine(name);
  const current = readText(path);
  if (current?.split('\n').includes(line)) {
    return { hook: name, action: 'unchanged', path, detail: 'git-coord line present' };
  }
  if (current === null) {
    writeAtomic(path, `#!/usr/bin/env sh\n${CREATED_LINE}\n${line}\n`, 0o755);
    return { hook: name, action: 'integrated', path, detail: 'created with the git-coord line' };
  }
  const withoutOld = removeMarked(current);
  const sep = withoutOld === '' || withoutOld.endsWith('\n') ? '' : '\n';
  const mode = statSync(path).mode & 0o7777;
  writeAtomic(path, `${withoutOld}${sep}${line}\n`, mode);
  return { hook: name, action: 'integrated', path, detail: 'appended the git-coord line' };
}

/** Removes every line ending in the marker comment. */
function removeMarked(text: string): string {
  return text
    .split(/(?<=\n)/)
    .filter((l) => !l.trimEnd().endsWith(`# ${HOOK_MARKER}`) && !l.startsWith(CREATED_LINE))
    .join('');
}

// ---------- lefthook ----------

function lefthookRun(name: ManagedHook): string {
  const args = name === 'commit-msg' ? ' {1}' : name === 'pre-push' ? ' {1} {2}' : '';
  return (
    `coord_hook="$(git rev-parse --path-format=absolute --git-common-dir)/coord/hooks/${name}"; ` +
    `if [ -f "$coord_hook" ]; then sh "$coord_hook"${args}; fi`
  );
}

/** The `git-coord` command entry at `indent` (the indentation of command names). */
function lefthookBlock(name: ManagedHook, indent: string, step = '  '): string[] {
  const m = ` # ${HOOK_MARKER}`;
  const lines = [`${indent}git-coord:${m}`, `${indent}${step}run: '${lefthookRun(name)}'${m}`];
  if (name === 'pre-push') lines.push(`${indent}${step}use_stdin: true${m}`);
  return lines;
}

/**
 * Adds the git-coord command to hook `name` of a lefthook YAML config. Returns the new text (the same
 * text when already present), or null when the hook's section has a shape we do not edit.
 */
export function addLefthookCommand(text: string, name: ManagedHook): string | null {
  const lines = text.split('\n');
  if (lines.some((l) => l.includes(`coord/hooks/${name}"`) && l.includes(HOOK_MARKER))) return text;
  const m = ` # ${HOOK_MARKER}`;
  const start = lines.findIndex((l) => new RegExp(`^${name}:\\s*(#.*)?$`).test(l));
  const withNewline = (t: string) => (t === '' || t.endsWith('\n') ? t : `${t}\n`);
  if (start < 0) {
    if (lines.some((l) => l.startsWith(`${name}:`))) return null; // flow style
    return `${withNewline(text)}${[`${name}:${m}`, `  commands:${m}`, ...lefthookBlock(name, '    ')].join('\n')}\n`;
  }
  let end = start + 1;
  while (end < lines.length && (lines[end] === '' || /^\s|^#/.test(lines[end]!))) end++;
  const indentOf = (l: string) => /^\s*/.exec(l)![0];
  const nextIndented = (from: number, deeper: string) => {
    for (let i = from; i < end; i++) {
      const l = lines[i]!;
      if (l.trim() === '' || l.trim().startsWith('#')) continue;
      const ind = indentOf(l);
      return ind.length > deeper.length ? ind : null;
    }
    return null;
  };
  const firstChild = nextIndented(start + 1, '');
  const commands = lines.findIndex(
    (l, i) => i > start && i < end && /^\s+commands:\s*(#.*)?$/.test(l) && indentOf(l) === firstChild,
  );
  if (commands >= 0) {
    const outer = indentOf(lines[commands]!);
    const inner = nextIndented(commands + 1, outer) ?? `${outer}  `;
    const step = inner.slice(outer.length) || '  ';
    lines.splice(commands + 1, 0, ...lefthookBlock(name, inner, step));
    return lines.join('\n');
  }
  const jobs = lines.findIndex(
    (l, i) => i > start && i < end && /^\s+jobs:\s*(#.*)?$/.test(l) && indentOf(l) === firstChild,
  );
  if (jobs >= 0) {
    const item = lines.slice(jobs + 1, end).find((l) => /^\s*- /.test(l));
    const ind = item ? indentOf(item) : `${indentOf(lines[jobs]!)}  `;
    const entry = [
      `${ind}- name: git-coord${m}`,
      `${ind}  run: '${lefthookRun(name)}'${m}`,
      ...(name === 'pre-push' ? [`${ind}  use_stdin: true${m}`] : []),
    ];
    lines.splice(jobs + 1, 0, ...entry);
    return lines.join('\n');
  }
  if (firstChild === null && end === start + 1) {
    // `pre-commit:` with nothing under it.
    lines.splice(start + 1, 0, `  commands:${m}`, ...lefthookBlock(name, '    '));
    return lines.join('\n');
  }
  const ind = firstChild ?? '  ';
  let at = end;
  while (at > start + 1 && lines[at - 1]!.trim() === '') at--;
  lines.splice(at, 0, `${ind}commands:${m}`, ...lefthookBlock(name, `${ind}${ind}`, ind));
  return lines.join('\n');
}

function isLefthookHook(text: string | null): boolean {
  return text !== null && /lefthook/.test(text) && !isCoordHook(text);
}

/** Runs `lefthook install` with the project's or PATH's lefthook. True when it ran and succeeded. */
function runLefthookInstall(cwd: string): boolean {
  const candidates = [join(cwd, 'node_modules', '.bin', 'lefthook'), 'lefthook'];
  for (const bin of candidates) {
    if (bin !== 'lefthook' && !existsSync(bin)) continue;
    const res = spawnSync(bin, ['install'], { cwd, encoding: 'utf8' });
    if (!res.error && res.status === 0) return true;
  }
  return false;
}

// ---------- uninstall ----------

/** Removes every coord hook and integration line; restores chained hooks byte for byte. */
export function uninstallHooks(repo: Pick<Repo, 'worktreeTop' | 'commonDir' | 'config'>): HookReport {
  const layout = detectLayout(repo);
  const actions: HookAction[] = [];
  // Standalone scripts, wherever they were installed (the layout may have changed since).
  const dirs = new Set([layout.hooksDir, join(repo.commonDir, 'hooks')]);
  for (const dir of dirs) {
    for (const name of HOOK_NAMES) {
      const path = join(dir, name);
      const chained = path + CHAINED_SUFFIX;
      const current = exists(path) ? readText(path) : null;
      if (current !== null && isCoordHook(current)) {
        rmSync(path, { force: true });
        if (exists(chained)) {
          renameSync(chained, path);
          actions.push({
            hook: name,
            action: 'restored',
            path,
            detail: `put back the original ${name} hook`,
          });
        } else {
          actions.push({ hook: name, action: 'removed', path, detail: 'removed' });
        }
      } else if (exists(path) && exists(chained) && !isCoordHook(readText(`${path}.legacy`) ?? '')) {
        actions.push({
          hook: name,
          action: 'kept-foreign',
          path,
          detail: `${name} is no longer ours; the original is still at ${chained}`,
        });
      }
      // pre-commit (pre-commit.com) `install` in migration mode renames the hook it finds to
      // `<hook>.legacy` and runs it: ours would keep running from there.
      const legacy = `${path}.legacy`;
      if (isCoordHook(readText(legacy) ?? '')) {
        rmSync(legacy, { force: true });
        if (exists(chained)) renameSync(chained, legacy);
        actions.push({
          hook: name,
          action: exists(legacy) ? 'restored' : 'removed',
          path: legacy,
          detail: exists(legacy)
            ? `removed git-coord's ${name}, which pre-commit kept as ${name}.legacy, and put back the hook it had chained there`
            : `removed git-coord's ${name}, which pre-commit kept as ${name}.legacy (it ran it)`,
        });
      }
    }
  }
  // Integration lines.
  const files: Array<[string, HookName | null]> = [];
  if (layout.huskyDir) for (const n of MANAGED_HOOKS) files.push([join(layout.huskyDir, n), n]);
  const cwd = top(repo);
  for (const n of LEFTHOOK_CONFIGS) files.push([join(cwd, n), null]);
  for (const [path, hook] of files) {
    const current = readText(path);
    if (current === null || !current.includes(HOOK_MARKER)) continue;
    const created = current.split('\n').includes(CREATED_LINE);
    const rest = removeMarked(current);
    if (created && /^(#!.*\n)?\s*$/.test(rest)) {
      rmSync(path, { force: true });
      actions.push({ hook, action: 'removed', path, detail: 'removed the file git-coord created' });
    } else {
      writeFileSync(path, rest);
      actions.push({
        hook,
        action: 'removed',
        path,
        detail: hook
          ? 'removed the git-coord line'
          : `removed the git-coord commands (${MANAGED_HOOKS.join(', ')})`,
      });
    }
  }
  for (const name of readText(join(layout.scriptsDir, DISPATCHERS_FILE))?.split('\n') ?? []) {
    const hook = MANAGED_HOOKS.find((h) => h === name);
    const path = hook ? join(layout.hooksDir, hook) : null;
    const cfg = layout.lefthookConfig ? (readText(layout.lefthookConfig) ?? '') : '';
    if (!hook || !path || !isLefthookHook(readText(path)) || new RegExp(`^${hook}:`, 'm').test(cfg)) continue;
    rmSync(path, { force: true });
    actions.push({
      hook,
      action: 'removed',
      path,
      detail: `removed the lefthook dispatcher \`lefthook install\` added for git-coord's ${hook} command`,
    });
  }
  if (exists(layout.scriptsDir)) {
    rmSync(layout.scriptsDir, { recursive: true, force: true });
    actions.push({
      hook: null,
      action: 'removed',
      path: layout.scriptsDir,
      detail: 'removed the hook scripts',
    });
  }
  const coordDir = dirname(layout.scriptsDir);
  try {
    rmdirSync(join(coordDir, 'write-locks')); // only when empty: no write holds a lease's lock
  } catch {
    // absent, or a write is running
  }
  try {
    if (readdirSync(coordDir).length === 0) rmdirSync(coordDir);
  } catch {
    // absent, or still in use by records' companions (provision lock, gate run output)
  }
  if (actions.length === 0)
    actions.push({ hook: null, action: 'absent', path: layout.hooksDir, detail: 'no coord hooks installed' });
  return { layout, actions, instructions: [] };
}

// ---------- status ----------

/** What is installed, per hook. */
export function hookStatus(
  repo: Pick<Repo, 'worktreeTop' | 'commonDir' | 'config'>,
  loc: CliLocation,
): HookStatus {
  const layout = detectLayout(repo);
  const hooks: HookState[] = [];
  for (const name of HOOK_NAMES) {
    const path = join(layout.hooksDir, name);
    const chained = exists(path + CHAINED_SUFFIX);
    const current = exists(path) ? readText(path) : null;
    if (layout.manager !== null && name !== 'reference-transaction') {
      const script = readText(join(layout.scriptsDir, name));
      const file = layout.manager === 'husky' ? join(layout.huskyDir!, name) : layout.lefthookConfig!;
      const text = readText(file) ?? '';
      const wired =
        layout.manager === 'husky'
          ? text.split('\n').includes(huskyLine(name))
          : text.includes(`coord/hooks/${name}"`) && isLefthookHook(current);
      if (script !== null && wired) {
        const fresh = script === hookScript(name, loc, false);
        hooks.push({
          name,
          state: fresh ? 'integrated' : 'outdated',
          path: file,
          chained: false,
          detail: fresh
            ? `called from ${file}`
            : 'script differs from this CLI: run `git coord hooks install`',
        });
      } else {
        hooks.push({
          name,
          state: 'missing',
          path: file,
          chained: false,
          detail:
            script === null
              ? 'not installed: run `git coord hooks install`'
              : layout.manager === 'lefthook' && !isLefthookHook(current)
                ? 'lefthook has not installed this hook: run `lefthook install`'
                : `${file} does not call it: run \`git coord hooks install\``,
        });
      }
      continue;
    }
    if (current === null) {
      hooks.push({
        name,
        state: 'missing',
        path,
        chained,
        detail: 'not installed: run `git coord hooks install`',
      });
    } else if (!isCoordHook(current)) {
      hooks.push({ name, state: 'foreign', path, chained, detail: 'a hook git-coord did not write' });
    } else if (current !== hookScript(name, loc, true)) {
      hooks.push({
        name,
        state: 'outdated',
        path,
        chained,
        detail: 'written by another git-coord version or path',
      });
    } else {
      hooks.push({
        name,
        state: 'installed',
        path,
        chained,
        detail: `calls ${loc.cli ?? 'git-coord on PATH'}${chained ? `; runs ${name}${CHAINED_SUFFIX} first` : ''}`,
      });
    }
  }
  return {
    hooksDir: layout.hooksDir,
    coreHooksPath: layout.coreHooksPath,
    manager: layout.manager,
    husky: layout.manager === 'husky',
    lefthook: layout.lefthookConfig,
    hooks,
    worktrees: worktreeHooks(repo),
  };
}
