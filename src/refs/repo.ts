import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RepositoryError } from '../errors.js';
import { readConfigFiles } from './config-files.js';
import { parseConfigList } from './config-list.js';
import { discoverFromFiles } from './discover.js';
import { GIT_CONFIG_OPTIONS, git } from './git.js';
import { currentHost, worktreeId } from './worktree-id.js';

export { currentHost, worktreeId };

/**
 * Where a repository lives, as seen from one working directory. Paths are absolute and real
 * (symlinks resolved).
 */
export interface Repo {
  /** Top of the current worktree, or `null` in a bare repository / inside the git dir. */
  worktreeTop: string | null;
  /** The per-worktree git dir (`.git` of the main worktree, `.git/worktrees/<name>` of a linked one). */
  gitDir: string;
  /** The common git dir, where shared refs (`refs/coord/*`), objects and packed-refs live. */
  commonDir: string;
  /** True when the current worktree is a linked worktree (gitDir differs from commonDir). */
  isLinked: boolean;
  /** True for a bare repository. */
  isBare: boolean;
  /** Snapshot of `git config --list` (keys lower-cased as git prints them), read lazily once. */
  config(): ReadonlyMap<string, string>;
}

/**
 * Discovers the repository from `cwd`: from the files git itself reads for the common layouts (a main
 * or linked worktree, any subdirectory; see {@link discoverFromFiles}), else with one `git rev-parse`
 * call, so it works from any subdirectory, any linked worktree, with `GIT_DIR` / `GIT_COMMON_DIR`
 * set, and (read-only) in a bare repository. Both give the same answer (test/refs/discover.test.ts).
 *
 * @throws RepositoryError `not-a-repository` outside a repository; `unsupported-ref-storage` when
 *   `extensions.refStorage` is anything but `files`; `unsupported-object-format` for SHA-256 repositories.
 */
export function discoverRepo(cwd: string = process.cwd()): Repo {
  const found = discoverFromFiles(cwd);
  if (found) return repoAt(cwd, found.worktreeTop, found.gitDir, found.commonDir, false);
  // --show-toplevel goes last: in a bare repository it fails after the others have printed.
  const res = git(
    [
      'rev-parse',
      '--path-format=absolute',
      '--git-dir',
      '--git-common-dir',
      '--is-bare-repository',
      '--show-toplevel',
    ],
    { cwd, allowFailure: true },
  );
  const lines = res.stdout.split('\n');
  if (res.status !== 0 && lines.length < 4) {
    if (/unknown repository extension/i.test(res.stderr) && /refstorage/i.test(res.stderr)) {
      throw unsupportedRefStorage(refStorageNear(cwd) ?? 'reftable');
    }
    if (/not a git repository/i.test(res.stderr)) {
      throw new RepositoryError(`not a git repository: ${cwd}`, 'not-a-repository');
    }
    throw new RepositoryError(`cannot discover the repository: ${res.stderr.trim()}`, 'not-a-repository');
  }
  const gitDir = realpathSync(lines[0]!);
  const commonDir = realpathSync(lines[1]!);
  const isBare = lines[2] === 'true';
  const top = res.status === 0 && lines[3] ? realpathSync(lines[3]) : null;
  checkExtensions(commonDir);
  return repoAt(cwd, top, gitDir, commonDir, isBare);
}

function repoAt(cwd: string, top: string | null, gitDir: string, commonDir: string, isBare: boolean): Repo {
  let config: Map<string, string> | undefined;
  return {
    worktreeTop: top,
    gitDir,
    commonDir,
    isLinked: gitDir !== commonDir,
    isBare,
    config() {
      config ??= readConfig(cwd, commonDir);
      return config;
    },
  };
}

/**
 * `git config --list -z` as a map (last value wins, as git's own lookup): from the config files
 * themselves when that gives git's answer exactly (src/refs/config-files.ts), else from git.
 */
function readConfig(cwd: string, commonDir: string): Map<string, string> {
  return (
    readConfigFiles(commonDir, GIT_CONFIG_OPTIONS) ??
    parseConfigList(git(['config', '--list', '-z'], { cwd, allowFailure: true }).stdout)
  );
}

/** Refuses repositories this ref store cannot serve, reading the common dir's own config file. */
function checkExtensions(commonDir: string): void {
  let text: string;
  try {
    text = readFileSync(join(commonDir, 'config'), 'utf8');
  } catch {
    return;
  }
  const section = /^\s*\[extensions\]\s*$([\s\S]*?)(?=^\s*\[|(?![\s\S]))/im.exec(text)?.[1] ?? '';
  const ref = /^\s*refstorage\s*=\s*"?([^"\s]+)/im.exec(section)?.[1];
  if (ref && ref.toLowerCase() !== 'files') throw unsupportedRefStorage(ref);
  const fmt = /^\s*objectformat\s*=\s*"?([^"\s]+)/im.exec(section)?.[1];
  if (fmt && fmt.toLowerCase() !== 'sha1') {
    throw new RepositoryError(
      `this repository uses extensions.objectFormat=${fmt}; git-coord supports sha1 repositories only`,
      'unsupported-object-format',
    );
  }
}

/** `extensions.refStorage` of the repository that a failed discovery from `cwd` was looking at. */
function refStorageNear(cwd: string): string | undefined {
  const gitDirs: string[] = process.env.GIT_DIR ? [resolve(cwd, process.env.GIT_DIR)] : [];
  for (let dir = resolve(cwd); gitDirs.length === 0; dir = dirname(dir)) {
    const dotGit = join(dir, '.git');
    try {
      const st = statSync(dotGit, { throwIfNoEntry: false });
      if (st?.isDirectory()) gitDirs.push(dotGit);
      else if (st?.isFile()) {
        const linked = resolve(
          dir,
          readFileSync(dotGit, 'utf8')
            .replace(/^gitdir:\s*/, '')
            .trim(),
        );
        const common = readFileSync(join(linked, 'commondir'), 'utf8').trim();
        gitDirs.push(resolve(linked, common));
      } else if (statSync(join(dir, 'HEAD'), { throwIfNoEntry: false })) gitDirs.push(dir);
    } catch {
      // unreadable: keep walking up
    }
    if (dirname(dir) === dir) break;
  }
  for (const gitDir of gitDirs) {
    try {
      const text = readFileSync(join(gitDir, 'config'), 'utf8');
      const section = /^\s*\[extensions\]\s*$([\s\S]*?)(?=^\s*\[|(?![\s\S]))/im.exec(text)?.[1] ?? '';
      const kind = /^\s*refstorage\s*=\s*"?([^"\s]+)/im.exec(section)?.[1];
      if (kind) return kind;
    } catch {
      // no config there
    }
  }
  return undefined;
}

function unsupportedRefStorage(kind: string): RepositoryError {
  return new RepositoryError(
    `this repository uses extensions.refStorage=${kind}; git-coord's ref store speaks the "files" ` +
      'backend only (convert with `git refs migrate --ref-format=files`, or use a files-backend clone)',
    'unsupported-ref-storage',
  );
}
