import {
  appendFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { git } from '../refs/git.js';
import { readRef } from '../refs/read.js';
import type { Repo } from '../refs/repo.js';
import { WorktreeError } from './errors.js';

/**
 * Worktree provisioning with the real `git worktree` (so git's own bookkeeping in
 * `.git/worktrees/` stays the authority), plus the small things around it: `.git/info/exclude`, the
 * `worktrees.link` symlinks, dirty checks and removal.
 */

/** One entry of `git worktree list --porcelain`. */
export interface GitWorktree {
  path: string;
  head: string | null;
  /** Full ref, e.g. `refs/heads/coord/65`, or `null` when detached/bare. */
  branch: string | null;
  bare: boolean;
  prunable: boolean;
}

/** Where git commands about worktrees run: the main worktree, else the current one, else the git dir. */
export function gitCwd(repo: Repo, mainTop: string | null): string {
  return mainTop ?? repo.worktreeTop ?? repo.commonDir;
}

/** Parses `git worktree list --porcelain`. The first entry is the main worktree. */
export function listWorktrees(cwd: string): GitWorktree[] {
  const out = git(['worktree', 'list', '--porcelain'], { cwd }).stdout;
  const list: GitWorktree[] = [];
  let cur: GitWorktree | null = null;
  for (const line of out.split('\n')) {
    if (line.startsWith('worktree ')) {
      cur = { path: line.slice(9), head: null, branch: null, bare: false, prunable: false };
      list.push(cur);
    } else if (!cur) continue;
    else if (line.startsWith('HEAD ')) cur.head = line.slice(5);
    else if (line.startsWith('branch ')) cur.branch = line.slice(7);
    else if (line === 'bare') cur.bare = true;
    else if (line.startsWith('prunable')) cur.prunable = true;
  }
  return list;
}

/**
 * The real path `path` has or will have: the real path of its deepest existing ancestor joined with
 * the rest, so a path that does not exist yet compares equal to what git will record.
 */
export function realish(path: string): string {
  const abs = resolve(path);
  let dir = abs;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(dir), ...rest);
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return abs;
      rest.unshift(basename(dir));
      dir = parent;
    }
  }
}

/** What {@link ensureWorktree} did, for rollback and reporting. */
export interface ProvisionResult {
  /** Real path of the worktree. */
  path: string;
  /** True when `git worktree add` ran (the worktree is new). */
  created: boolean;
  /** True when the branch was created by us (`-b`); false when it existed (reused or adopted). */
  branchCreated: boolean;
  /** True when an existing branch without a lease was checked out into the new worktree. */
  adoptedBranch: boolean;
  /** Symlinks made for `worktrees.link`. */
  links: string[];
  /** Non-fatal problems. */
  warnings: string[];
}

/** Inputs of {@link ensureWorktree}. */
export interface ProvisionInput {
  repo: Repo;
  /** The main worktree's top (source of links; where git runs). */
  mainTop: string | null;
  path: string;
  branch: string;
  /** Commit to start a new branch from. */
  base: string;
  /** `worktrees.link` entries, relative to the main worktree. */
  link: readonly string[];
  /**
   * The claiming holder id, passed to git as `$COORD_HOLDER`: `git worktree add -b` updates the
   * branch, and the reference-transaction hook judges that update by this identity.
   */
  holder?: string;
  /**
   * This claim takes a stale lease over: the reference-transaction hook would still judge the new
   * branch by the old holder's lease (the takeover is committed after provisioning), so the hook is
   * skipped (`COORD=0`) for this one git call; the claim's own takeover decision stands in for it, and
   * the worktree and branch are rolled back if the takeover does not commit.
   */
  takingOver?: boolean;
}

/**
 * Makes sure a worktree on `branch` exists at `path`:
 * - a worktree registered at `path` on `branch` is reused as is;
 * - registered on another branch, or an unknown non-empty directory or a file at `path`: refused
 *   (WorktreeError, exit 1, naming what to remove); nothing is ever clobbered;
 * - `branch` exists but is checked out nowhere (a leftover of an earlier lease): it is **adopted**,
 *   `git worktree add <path> <branch>`, keeping its commits;
 * - `branch` checked out in another worktree: refused;
 * - otherwise `git worktree add -b <branch> <path> <base>`.
 * Then `worktrees.link` symlinks are made for missing entries.
 *
 * Callers serialise provisioning with {@link ProvisionLock} and roll back with {@link rollbackWorktree}.
 */
export function ensureWorktree(input: ProvisionInput): ProvisionResult {
  const { repo, branch } = input;
  const cwd = gitCwd(repo, input.mainTop);
  const path = realish(input.path);
  const warnings: string[] = [];
  let worktrees = listWorktrees(cwd);
  const here = worktrees.find((w) => w.path === path);
  const branchRef = `refs/heads/${branch}`;
  if (here && (here.prunable || !existsSync(path))) {
    // git still registers a worktree here but its directory is gone: drop that registration (only
    // git's bookkeeping; the branch and its commits stay) and make the worktree again below.
    const rm = git(['worktree', 'remove', path], { cwd, allowFailure: true });
    if (rm.status !== 0) {
      throw new WorktreeError(
        'worktree-missing',
        `a worktree is registered at ${path} but its directory is gone, and \`git worktree remove ${path}\` ` +
          `failed: ${rm.stderr.trim()}. If it is locked (\`git worktree unlock ${path}\`), unlock it and retry`,
      );
    }
    worktrees = listWorktrees(cwd);
  } else if (here) {
    if (here.branch !== branchRef) {
      throw new WorktreeError(
        'worktree-branch',
        `the worktree at ${path} is on ${here.branch ? here.branch.replace('refs/heads/', 'branch ') : 'a detached HEAD'}, ` +
          `not branch ${branch}. Check out ${branch} there, or pass another --worktree or --branch.`,
      );
    }
    return {
      path,
      created: false,
      branchCreated: false,
      adoptedBranch: false,
      links: makeLinks(input.mainTop, path, input.link, warnings),
      warnings,
    };
  }
  refuseUnknownPath(path, input.mainTop);
  const elsewhere = worktrees.find((w) => w.branch === branchRef);
  if (elsewhere) {
    throw new WorktreeError(
      'branch-checked-out',
      `branch ${branch} is already checked out in the worktree ${elsewhere.path}; a branch can be checked ` +
        `out in one worktree only. Use that worktree (--worktree ${elsewhere.path}) or another --branch.`,
    );
  }
  const exists = readRef(repo, branchRef) !== null;
  mkdirSync(dirname(path), { recursive: true });
  const args = exists
    ? ['worktree', 'add', '--quiet', path, branch]
    : ['worktree', 'add', '--quiet', '-b', branch, path, input.base];
  const env = {
    ...(input.holder ? { COORD_HOLDER: input.holder } : {}),
    ...(input.takingOver ? { COORD: '0' } : {}),
  };
  const res = git(args, { cwd, allowFailure: true, env });
  if (res.status !== 0) {
    throw new WorktreeError(
      'worktree-add-failed',
      `git ${args.join(' ')} failed: ${res.stderr.trim() || `exit ${res.status}`}`,
    );
  }
  const real = realpathSync(path);
  return {
    path: real,
    created: true,
    branchCreated: !exists,
    adoptedBranch: exists,
    links: makeLinks(input.mainTop, real, input.link, warnings),
    warnings,
  };
}

/**
 * Refuses a file or non-empty directory at `path` that git does not know as a worktree. Removing it
 * is suggested only for a path inside the main worktree (never `/etc`, `/proc/self` or a home
 * directory a hostile record or a typo named).
 */
function refuseUnknownPath(path: string, mainTop: string | null): void {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isDirectory() && isEmptyDir(path)) return;
  const inside = mainTop !== null && insideOf(realish(mainTop), path) !== null;
  throw new WorktreeError(
    'worktree-path-taken',
    `${path} already exists and is not a git worktree; git-coord never overwrites it. ` +
      (inside
        ? `Remove or move it (e.g. \`rm -r ${path}\` after checking its content), or claim with --worktree <another path>.`
        : 'It is outside the repository: leave it alone and claim with --worktree <an empty or new directory>, ' +
          'or without --worktree for the configured worktrees directory.'),
  );
}

function isEmptyDir(path: string): boolean {
  try {
    return readdirSync(path).length === 0;
  } catch {
    return false; // unreadable: not known to be empty
  }
}

/**
 * Makes the `worktrees.link` symlinks (`<wt>/<entry>` → `<main top>/<entry>`) that are missing; returns
 * the entries linked. Problems (a source that does not exist) go to `warnings`.
 */
export function makeLinks(
  mainTop: string | null,
  wt: string,
  link: readonly string[],
  warnings: string[],
): string[] {
  const made: string[] = [];
  if (!mainTop || mainTop === wt) return made;
  for (const l of link) {
    const src = join(mainTop, l);
    const dst = join(wt, l);
    if (!existsSync(src)) {
      warnings.push(`worktrees.link: ${src} does not exist; not linked`);
      continue;
    }
    if (lstatSync(dst, { throwIfNoEntry: false })) continue;
    mkdirSync(dirname(dst), { recursive: true });
    symlinkSync(src, dst, statSync(src).isDirectory() ? 'dir' : 'file');
    made.push(l);
  }
  return made;
}

/**
 * Undoes what {@link ensureWorktree} created: `git worktree remove --force` when it added the
 * worktree, `git branch -D` when it created the branch. Returns problems as warnings.
 */
export function rollbackWorktree(
  repo: Repo,
  mainTop: string | null,
  p: ProvisionResult,
  branch: string,
  holder?: string,
): string[] {
  const problems: string[] = [];
  if (!p.created) return problems;
  const cwd = gitCwd(repo, mainTop);
  const rm = git(['worktree', 'remove', '--force', p.path], { cwd, allowFailure: true });
  if (rm.status !== 0) problems.push(`could not remove worktree ${p.path}: ${rm.stderr.trim()}`);
  if (p.branchCreated) {
    const env = holder ? { COORD_HOLDER: holder } : undefined;
    const br = git(['branch', '-D', branch], { cwd, allowFailure: true, env });
    if (br.status !== 0) problems.push(`could not delete branch ${branch}: ${br.stderr.trim()}`);
  }
  return problems;
}

/**
 * Uncommitted changes of a worktree (`git status --porcelain`), ignoring the `worktrees.link`
 * symlinks git-coord made. Empty when clean.
 */
export function dirtyEntries(path: string, link: readonly string[]): string[] {
  const out = git(['status', '--porcelain', '--untracked-files=normal'], { cwd: path }).stdout;
  const linked = new Set(link.map((l) => l.replace(/\/+$/, '')));
  return out
    .split('\n')
    .filter((l) => l.length > 3)
    .filter((l) => !(l.startsWith('?? ') && linked.has(l.slice(3).replace(/\/+$/, ''))));
}

/** Removes a clean worktree (its link symlinks included); the branch is kept. */
export function removeWorktree(repo: Repo, mainTop: string | null, path: string): void {
  git(['worktree', 'remove', '--force', path], { cwd: gitCwd(repo, mainTop) });
}

/**
 * Makes sure `dir` (relative to the main worktree) is listed in the common dir's `info/exclude`, so
 * the main worktree never shows nested worktrees as untracked. Returns true when a line was added.
 */
export function ensureExcluded(repo: Pick<Repo, 'commonDir'>, dir: string): boolean {
  const norm = dir
    .split(sep)
    .join('/')
    .replace(/^\.\/+/, '')
    .replace(/\/+$/, '');
  if (!norm || norm === '.') return false;
  const file = join(repo.commonDir, 'info', 'exclude');
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    mkdirSync(dirname(file), { recursive: true });
  }
  const variants = new Set([norm, `${norm}/`, `/${norm}`, `/${norm}/`]);
  if (text.split('\n').some((l) => variants.has(l.trim()))) return false;
  appendFileSync(file, `${text && !text.endsWith('\n') ? '\n' : ''}/${norm}/\n`);
  return true;
}

/** `dir` relative to `top` when `path` lies inside `top`, else `null`. */
export function insideOf(top: string, path: string): string | null {
  const rel = relative(top, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : null;
}

/**
 * Makes a new worktree run the same hooks as the main one (issue 9 item 1). With a relative
 * `core.hooksPath` (husky's `.husky/_`, untracked), git looks for hooks in each worktree's own copy of
 * that directory, which a new worktree lacks, so no hook would run there at all: the main worktree's
 * directory is copied in (files and modes; husky's holds a `.gitignore` of `*`, so the copy stays
 * out of `git status`). A tracked hooks directory, an absolute `core.hooksPath` or none (the shared
 * `<common dir>/hooks`) need nothing. Returns what it copied, or null.
 */
export function provideWorktreeHooks(repo: Repo, mainTop: string | null, wt: string): string | null {
  const hooksPath = repo.config().get('core.hookspath');
  if (!hooksPath || isAbsolute(hooksPath) || hooksPath.startsWith('~') || !mainTop || mainTop === wt)
    return null;
  const from = join(mainTop, hooksPath);
  const to = join(wt, hooksPath);
  if (!existsSync(from) || existsSync(to)) return null;
  cpSync(from, to, { recursive: true, preserveTimestamps: true });
  return to;
}

/**
 * Removes the line {@link ensureExcluded} adds for `dir` (`/<dir>/`) from the common dir's
 * `info/exclude` (undoing `git coord init`); other lines are kept byte for byte. Returns true when a
 * line was removed.
 */
export function removeExcluded(repo: Pick<Repo, 'commonDir'>, dir: string): boolean {
  const norm = dir
    .split(sep)
    .join('/')
    .replace(/^\.\/+/, '')
    .replace(/\/+$/, '');
  const file = join(repo.commonDir, 'info', 'exclude');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  const lines = text.split('\n');
  const kept = lines.filter((l) => l !== `/${norm}/`);
  if (kept.length === lines.length) return false;
  writeFileSync(file, kept.join('\n'));
  return true;
}
