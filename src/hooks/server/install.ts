import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../../errors.js';
import { faultPoint } from '../../refs/fault.js';
import { git } from '../../refs/git.js';
import { writeGitConfig } from '../../refs/git-config.js';
import type { Repo } from '../../refs/repo.js';
import { CHAINED_SUFFIX, type CliLocation, HOOK_MARKER, isCoordHook, shQuote } from '../scripts.js';
import { pusherMap, serverConfig } from './receive.js';

/**
 * `git coord hooks install | uninstall | status --server`, run in the bare repository others push to
 * (DESIGN §8): a pre-receive hook (src/hooks/server/receive.ts decides) and
 * `receive.advertisePushOptions true`, without which `git push -o …` and `push.pushOption` fail
 * ("the receiving end does not support push options"). A pre-receive hook already there is kept as
 * `pre-receive.coord-chained` and runs first with the same stdin; uninstall puts it back. The setting
 * is unset again on uninstall only when install turned it on (recorded as
 * `coord.serverAdvertisedPushOptions`).
 */

/** One thing install / uninstall did. */
export interface ServerHookAction {
  action:
    | 'installed'
    | 'updated'
    | 'unchanged'
    | 'chained'
    | 'kept-foreign'
    | 'removed'
    | 'restored'
    | 'absent'
    | 'configured'
    | 'unconfigured';
  path: string;
  detail: string;
}

/** `hooks install|uninstall --server` result. */
export interface ServerHookReport {
  /** The repository (its git dir). */
  repository: string;
  actions: ServerHookAction[];
}

/** `hooks status --server` result. */
export interface ServerHookStatus {
  repository: string;
  hook: {
    path: string;
    state: 'installed' | 'outdated' | 'missing' | 'foreign';
    chained: boolean;
    detail: string;
  };
  advertisePushOptions: boolean;
  /** Where gates and protect come from: `HEAD:.coord/config.json`, or null (defaults). */
  config: string | null;
  /** Protected branch patterns the hook applies (committed config + server `coord.protect`). */
  protect: string[];
  /** Pusher map (`coord-pusher.<name>.holder`): pusher → holder ids; empty = not enforced. */
  pushers: Record<string, string[]>;
}

const HOOK = 'pre-receive';
const SET_BY_US = 'coord.serverAdvertisedPushOptions';

function serverRepo(repo: Pick<Repo, 'isBare' | 'commonDir'>): string {
  if (!repo.isBare) {
    throw new UsageError(
      '--server installs the hook into the repository others push to, a bare repository (git init --bare); ' +
        'this one has a worktree: run it in the bare repository, or use `git coord hooks install` here',
      'not-bare',
    );
  }
  return repo.commonDir;
}

function hooksDir(dir: string): string {
  return git(['rev-parse', '--path-format=absolute', '--git-path', 'hooks'], { cwd: dir }).stdout.trim();
}

/**
 * The pre-receive script: runs a kept hook first, then takes the fast path (no `refs/coord/` update
 * in the push and no lease on the server: exit 0 without node), else hands stdin to
 * `node <cli> server-hook pre-receive`. `COORD=0` is not honoured here: over a path remote the
 * pusher's environment reaches the hook, and the server layer must not be skippable by the pusher. A
 * missing CLI refuses the push (fails closed) and says how to fix it.
 */
export function serverHookScript(loc: CliLocation): string {
  const node = loc.node ? shQuote(loc.node) : 'node';
  const run = loc.cli
    ? `if [ -x ${node} ] || command -v ${node} >/dev/null 2>&1; then
  printf '%s\\n' "$coord_in" | ${node} ${shQuote(loc.cli)} server-hook pre-receive
  exit $?
fi`
    : `if command -v git-coord >/dev/null 2>&1; then
  printf '%s\\n' "$coord_in" | git-coord server-hook pre-receive
  exit $?
fi`;
  return `#!/bin/sh
# ${HOOK_MARKER}: server pre-receive, written by git coord hooks install --server
coord_in=$(cat)
coord_chained="$0${CHAINED_SUFFIX}"
if [ -f "$coord_chained" ] && [ -x "$coord_chained" ]; then
  printf '%s\\n' "$coord_in" | "$coord_chained" "$@" || exit $?
fi
case $coord_in in
  *' refs/coord/'*) ;;
  *) [ -z "$(git for-each-ref --count=1 --format=x refs/coord/leases/)" ] && exit 0 ;;
esac
${run}
echo "git-coord: the server's pre-receive hook cannot find node and git-coord${loc.cli ? ` (${loc.cli})` : ''}; refusing the push." >&2
echo "git-coord: fix: run git coord hooks install --server again in this repository, or uninstall it." >&2
exit 1
`;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.coord-tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o755 });
  chmodSync(tmp, 0o755);
  renameSync(tmp, path);
}

function configValue(dir: string, key: string): string | null {
  const res = git(['config', '--get', key], { cwd: dir, allowFailure: true });
  return res.status === 0 ? res.stdout.trim() : null;
}

/** Hard-links `from` to `to`; false when `to` exists already. */
function linkOnce(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function setConfig(dir: string, key: string, value: string): void {
  writeGitConfig(dir, [key, value], () => configValue(dir, key) === value);
}

/**
 * Installs the server hook and turns on push options. Idempotent, and safe to run several times at
 * once. Killed between keeping a foreign hook and writing ours (fault point `server-hook-chained`),
 * the next install finishes the job.
 */
export function installServerHook(
  repo: Pick<Repo, 'isBare' | 'commonDir'>,
  loc: CliLocation,
): ServerHookReport {
  const dir = serverRepo(repo);
  const path = join(hooksDir(dir), HOOK);
  const chained = path + CHAINED_SUFFIX;
  const text = serverHookScript(loc);
  const current = readText(path);
  const actions: ServerHookAction[] = [];
  if (current !== null && isCoordHook(current)) {
    if (current === text && (statSync(path).mode & 0o111) !== 0) {
      actions.push({ action: 'unchanged', path, detail: 'up to date' });
    } else {
      writeAtomic(path, text);
      actions.push({ action: 'updated', path, detail: 'rewritten with the current CLI path' });
    }
  } else if (current !== null) {
    // Keep the foreign hook as <hook>.coord-chained with a hard link (it fails when that exists, so
    // two installs at once cannot chain twice), then put ours in place. A chained copy equal to the
    // hook in place is an install that stopped between the two steps (or a concurrent one): go on.
    if (!linkOnce(path, chained) && readText(chained) !== current) {
      actions.push({
        action: 'kept-foreign',
        path,
        detail: `a foreign ${HOOK} hook is in place and ${HOOK}${CHAINED_SUFFIX} exists: not touched; merge them by hand`,
      });
    } else {
      faultPoint('server-hook-chained');
      writeAtomic(path, text);
      actions.push({
        action: 'chained',
        path,
        detail: `kept the existing hook as ${HOOK}${CHAINED_SUFFIX}; it runs first`,
      });
    }
  } else {
    writeAtomic(path, text);
    actions.push({ action: 'installed', path, detail: 'new' });
  }
  const config = join(dir, 'config');
  if (configValue(dir, 'receive.advertisePushOptions') === 'true') {
    actions.push({ action: 'unchanged', path: config, detail: 'receive.advertisePushOptions is true' });
  } else {
    setConfig(dir, 'receive.advertisePushOptions', 'true');
    setConfig(dir, SET_BY_US, 'true');
    actions.push({ action: 'configured', path: config, detail: 'set receive.advertisePushOptions true' });
  }
  return { repository: dir, actions };
}

/** Removes the server hook (restoring a kept one) and the setting install made. */
export function uninstallServerHook(repo: Pick<Repo, 'isBare' | 'commonDir'>): ServerHookReport {
  const dir = serverRepo(repo);
  const path = join(hooksDir(dir), HOOK);
  const chained = path + CHAINED_SUFFIX;
  const current = readText(path);
  const actions: ServerHookAction[] = [];
  if (current !== null && isCoordHook(current)) {
    rmSync(path, { force: true });
    if (existsSync(chained)) {
      renameSync(chained, path);
      actions.push({ action: 'restored', path, detail: `put back the original ${HOOK} hook` });
    } else {
      actions.push({ action: 'removed', path, detail: 'removed' });
    }
  } else if (current !== null) {
    actions.push({ action: 'kept-foreign', path, detail: `${HOOK} is not git-coord's: not touched` });
  } else {
    actions.push({ action: 'absent', path, detail: 'no git-coord pre-receive hook installed' });
  }
  if (configValue(dir, SET_BY_US) === 'true') {
    git(['config', '--unset', 'receive.advertisePushOptions'], { cwd: dir, allowFailure: true });
    git(['config', '--unset', SET_BY_US], { cwd: dir, allowFailure: true });
    actions.push({
      action: 'unconfigured',
      path: join(dir, 'config'),
      detail: 'unset receive.advertisePushOptions (install had set it)',
    });
  }
  return { repository: dir, actions };
}

/** What is installed on the server and which rules it applies. */
export function serverHookStatus(
  repo: Pick<Repo, 'isBare' | 'commonDir'>,
  loc: CliLocation,
): ServerHookStatus {
  const dir = serverRepo(repo);
  const path = join(hooksDir(dir), HOOK);
  const chained = existsSync(path + CHAINED_SUFFIX);
  const current = readText(path);
  const hook: ServerHookStatus['hook'] =
    current === null
      ? { path, state: 'missing', chained, detail: 'not installed: run `git coord hooks install --server`' }
      : !isCoordHook(current)
        ? { path, state: 'foreign', chained, detail: 'a pre-receive hook git-coord did not write' }
        : current !== serverHookScript(loc)
          ? { path, state: 'outdated', chained, detail: 'written by another git-coord version or path' }
          : {
              path,
              state: 'installed',
              chained,
              detail: `calls ${loc.cli ?? 'git-coord on PATH'}${chained ? `; runs ${HOOK}${CHAINED_SUFFIX} first` : ''}`,
            };
  const { config } = serverConfig(repo);
  return {
    repository: dir,
    hook,
    advertisePushOptions: configValue(dir, 'receive.advertisePushOptions') === 'true',
    config: config.source,
    protect: config.protect,
    pushers: Object.fromEntries(pusherMap(repo)),
  };
}
