import { accessSync, constants, lstatSync, readFileSync, realpathSync, type Stats, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * Repository discovery from the files git itself reads, without starting `git rev-parse` (~5 ms of
 * every command's start-up, issue 12). It follows git 2.39's `setup_git_directory_gently()` for the
 * common layouts only: walking up from `cwd`, the first directory whose `.git` is a git directory (a
 * main worktree) or a `gitdir: <path>` file (a linked worktree, a submodule, `--separate-git-dir`),
 * the git directory checked as git's `is_git_directory()` does (`HEAD` a valid head ref, `objects/`
 * and `refs/` reachable, in the `commondir` when there is one).
 *
 * It answers `null`, meaning "ask `git rev-parse`", for everything it does not follow exactly:
 * an environment variable that changes discovery (`GIT_DIR`, `GIT_WORK_TREE`, `GIT_COMMON_DIR`,
 * `GIT_CEILING_DIRECTORIES`, `GIT_DISCOVERY_ACROSS_FILESYSTEM`, `GIT_OBJECT_DIRECTORY`, `-c` options
 * passed down as `GIT_CONFIG_PARAMETERS`/`GIT_CONFIG_COUNT`); a walk that crosses a filesystem
 * boundary; a bare repository or a cwd inside a git directory (git's `safe.bareRepository` and
 * `core.bare` rules); a repository config with `core.worktree`, `core.bare`, an `[include]`, an
 * `[extensions]` section, a format version above 1 or a line continuation; a `.git` that is neither
 * a valid git directory nor a valid gitfile; and a worktree, gitfile or git directory not owned by
 * the current user (git's `safe.directory` check, which may refuse the repository).
 */
export interface FoundRepo {
  /** The worktree top (real path). */
  worktreeTop: string;
  /** The per-worktree git dir (real path). */
  gitDir: string;
  /** The common git dir (real path). */
  commonDir: string;
}

const DISCOVERY_ENV = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_COMMON_DIR',
  'GIT_CEILING_DIRECTORIES',
  'GIT_DISCOVERY_ACROSS_FILESYSTEM',
  'GIT_OBJECT_DIRECTORY',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_COUNT',
];

/** See {@link FoundRepo}: the repository around `cwd`, or `null` to let `git rev-parse` decide. */
export function discoverFromFiles(cwd: string): FoundRepo | null {
  if (DISCOVERY_ENV.some((v) => process.env[v] !== undefined && process.env[v] !== '')) return null;
  const uid = process.geteuid?.();
  // As root under sudo git compares owners with SUDO_UID: not followed here.
  if (uid === undefined || (uid === 0 && process.env.SUDO_UID)) return null;
  let dir: string;
  let dev: number;
  try {
    dir = realpathSync(cwd);
    dev = statSync(dir).dev;
  } catch {
    return null;
  }
  for (;;) {
    const dotGit = join(dir, '.git');
    const st = lstatOrNull(dotGit);
    if (st) return fromDotGit(dir, dotGit, st, uid);
    // `dir` itself a git directory: bare, or inside a .git: git's own rules decide.
    if (lstatOrNull(join(dir, 'HEAD')) && isGitDirectory(dir)) return null;
    const parent = dirname(dir);
    if (parent === dir) return null;
    const pst = statOrNull(parent);
    if (!pst || pst.dev !== dev) return null;
    dir = parent;
  }
}

function fromDotGit(top: string, dotGit: string, st: Stats, uid: number): FoundRepo | null {
  let gitDir: string;
  if (st.isDirectory()) gitDir = dotGit;
  else if (st.isFile()) {
    let text: string;
    try {
      text = readFileSync(dotGit, 'utf8');
    } catch {
      return null;
    }
    const m = /^gitdir: (.+?)[\r\n]*$/.exec(text);
    if (!m || st.uid !== uid) return null;
    gitDir = resolve(top, m[1]!);
  } else return null;
  const commonDir = isGitDirectory(gitDir);
  if (!commonDir) return null;
  let real: FoundRepo;
  try {
    real = {
      worktreeTop: realpathSync(top),
      gitDir: realpathSync(gitDir),
      commonDir: realpathSync(commonDir),
    };
  } catch {
    return null;
  }
  if (statOrNull(real.worktreeTop)?.uid !== uid || statOrNull(real.gitDir)?.uid !== uid) return null;
  return plainConfig(real.commonDir) ? real : null;
}

/**
 * git's `is_git_directory()`: `HEAD` is a valid head ref, `objects/` and `refs/` are reachable (in the
 * `commondir` when the directory has one). Returns the common dir, or `null`.
 */
function isGitDirectory(dir: string): string | null {
  let common = dir;
  try {
    common = resolve(dir, readFileSync(join(dir, 'commondir'), 'utf8').replace(/\s+$/, ''));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return null;
  }
  try {
    accessSync(join(common, 'objects'), constants.X_OK);
    accessSync(join(common, 'refs'), constants.X_OK);
  } catch {
    return null;
  }
  return validHead(join(dir, 'HEAD')) ? common : null;
}

/** git's `validate_headref()`: a symlink into `refs/`, `ref: refs/…`, or an object id. */
function validHead(path: string): boolean {
  const st = lstatOrNull(path);
  if (!st) return false;
  if (st.isSymbolicLink()) return false; // legacy symlinked HEAD: let git judge
  let head: string;
  try {
    head = readFileSync(path, 'utf8');
  } catch {
    return false;
  }
  if (head.startsWith('ref:')) return /^ref:\s*refs\//.test(head);
  return /^[0-9a-f]{40}(?:[0-9a-f]{24})?\s*$/.test(head);
}

/**
 * True when the repository config holds nothing that changes where the worktree or git dir is, or how
 * git reads the repository (see {@link FoundRepo}).
 */
function plainConfig(commonDir: string): boolean {
  let text: string;
  try {
    text = readFileSync(join(commonDir, 'config'), 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    if (/\\\s*$/.test(line)) return false;
    if (line[0] === '[') {
      section = (/^\[\s*([A-Za-z0-9.-]+)/.exec(line)?.[1] ?? '?').toLowerCase();
      if (section === 'include' || section === 'includeif' || section === 'extensions' || section === '?')
        return false;
      const rest = line.slice(line.indexOf(']') + 1).trim();
      if (rest === '' || rest[0] === '#' || rest[0] === ';') continue;
      return false; // a key on the section line: unusual, let git read it
    }
    if (section !== 'core') continue;
    const key = (/^([A-Za-z][A-Za-z0-9-]*)/.exec(line)?.[1] ?? '').toLowerCase();
    if (key === 'worktree') return false;
    if (key === 'bare' && !/^bare\s*=\s*(false|no|off|0)\s*$/i.test(line.replace(/\s*[#;].*$/, '')))
      return false;
    if (key === 'repositoryformatversion') {
      const v = line.slice(line.indexOf('=') + 1).trim();
      if (v !== '0' && v !== '1') return false;
    }
  }
  return true;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
