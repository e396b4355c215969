import { join } from 'node:path';
import { git } from '../refs/git.js';
import type { Repo } from '../refs/repo.js';

/**
 * The config that keeps `git gc` quiet about coord reflogs. Without it, `git reflog expire` (run by
 * every `git gc`, also `gc --auto`) treats each blob-valued ref's reflog as a commit history and
 * prints "error: Object <oid> not a commit" twice per ref, and expires the entries after 30 days
 * (gc.reflogExpireUnreachable) instead of 90 (gc.reflogExpire). Measured with git 2.39.
 */
export const GC_CONFIG_KEY = 'gc.refs/coord/*.reflogExpireUnreachable';

/** True when {@link GC_CONFIG_KEY} is set (`git config --list` lower-cases section and key). */
export function hasRecordReflogGcConfig(repo: Repo): boolean {
  return repo.config().has(GC_CONFIG_KEY.toLowerCase());
}

/**
 * Sets {@link GC_CONFIG_KEY} to `never` in the common dir's config (shared by every worktree) unless
 * it is set already. Returns true when it was written now.
 *
 * @throws GitCommandError when `git config` fails.
 */
export function keepRecordReflogs(repo: Repo): boolean {
  if (hasRecordReflogGcConfig(repo)) return false;
  git(['config', '--file', join(repo.commonDir, 'config'), GC_CONFIG_KEY, 'never'], { cwd: repo.commonDir });
  return true;
}

/**
 * Removes {@link GC_CONFIG_KEY} from the common dir's config (undoing `git coord init`) unless records
 * remain under `refs/coord/` (their reflogs still need it). Returns `removed`, `kept` (records remain)
 * or `absent`.
 *
 * @throws GitCommandError when `git config` fails.
 */
export function forgetRecordReflogs(repo: Repo, recordsRemain: boolean): 'removed' | 'kept' | 'absent' {
  if (!hasRecordReflogGcConfig(repo)) return 'absent';
  if (recordsRemain) return 'kept';
  git(['config', '--file', join(repo.commonDir, 'config'), '--unset-all', GC_CONFIG_KEY], {
    cwd: repo.commonDir,
  });
  return 'removed';
}
