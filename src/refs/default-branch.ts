import { readLoose, readRef } from './read.js';
import type { Repo } from './repo.js';

/** The repository's default branch and how it was found. */
export interface DefaultBranch {
  /** Short branch name, e.g. `main` or `master`. */
  branch: string;
  /**
   * Where it came from: `remote` (`refs/remotes/<remote>/HEAD`, the remote's default as `git clone`
   * or `git remote set-head` recorded it), `branch` (an existing conventional branch), `head` (the
   * main worktree's current branch), `config` (`init.defaultBranch`), `fallback` (`main`).
   */
  source: 'remote' | 'branch' | 'head' | 'config' | 'fallback';
  /** Human words for `source`, e.g. `the default branch of remote origin (refs/remotes/origin/HEAD)`. */
  why: string;
}

const HEADS = 'refs/heads/';

/**
 * The branch a repository treats as its default, read from refs and config only (no network):
 * 1. the remote's default (`refs/remotes/<remote>/HEAD`, a symref git writes on clone), for `remote`
 *    (default `origin`);
 * 2. else the first of `init.defaultBranch`, `main`, `master` that exists as a local branch,
 *    preferring the one the main worktree is on;
 * 3. else the main worktree's branch (the common dir's `HEAD`, also when still unborn);
 * 4. else `init.defaultBranch`, else `main`.
 *
 * @throws BrokenRefError for a corrupt ref file on the way.
 */
export function defaultBranch(repo: Pick<Repo, 'commonDir' | 'config'>, remote = 'origin'): DefaultBranch {
  const remoteHead = readLoose(repo.commonDir, `refs/remotes/${remote}/HEAD`);
  const prefix = `refs/remotes/${remote}/`;
  if (remoteHead && 'symref' in remoteHead && remoteHead.symref.startsWith(prefix)) {
    return {
      branch: remoteHead.symref.slice(prefix.length),
      source: 'remote',
      why: `the default branch of remote ${remote} (refs/remotes/${remote}/HEAD)`,
    };
  }
  const head = readLoose(repo.commonDir, 'HEAD');
  const current =
    head && 'symref' in head && head.symref.startsWith(HEADS) ? head.symref.slice(HEADS.length) : null;
  const configured = repo.config().get('init.defaultbranch') ?? null;
  const existing = [...new Set([configured, 'main', 'master'])].filter(
    (b): b is string => b !== null && readRef(repo, `${HEADS}${b}`) !== null,
  );
  const conventional = existing.find((b) => b === current) ?? existing[0];
  if (conventional) {
    return {
      branch: conventional,
      source: 'branch',
      why: `the repository's ${conventional} branch${conventional === current ? ', checked out in the main worktree' : ''}`,
    };
  }
  if (current) return { branch: current, source: 'head', why: "the main worktree's branch" };
  if (configured) return { branch: configured, source: 'config', why: 'git config init.defaultBranch' };
  return { branch: 'main', source: 'fallback', why: 'no branch yet; git-coord assumes main' };
}
