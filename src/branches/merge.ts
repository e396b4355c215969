import { git } from '../refs/git.js';

/**
 * Branch merges without a worktree (DESIGN §9), with the real `git`: the merge result is computed by
 * `git merge-tree --write-tree` (git >= 2.38: a real three-way merge with rename detection, written
 * to the object store, no index, no working tree), committed with `git commit-tree`, and the target
 * branch is moved with `git update-ref <ref> <new> <old>` — a compare-and-swap under git's own ref
 * lock, so a concurrent commit or merge into the target makes ours fail instead of being overwritten.
 * Knows nothing of leases.
 */

/** `refs/heads/<branch>`'s commit, or `null` when the branch does not exist. */
export function branchHead(cwd: string, branch: string): string | null {
  const res = git(['rev-parse', '--verify', '-q', '--end-of-options', `refs/heads/${branch}^{commit}`], {
    cwd,
    allowFailure: true,
  });
  return res.status === 0 ? res.stdout.trim() : null;
}

/** True when commit `a` is an ancestor of (or equal to) `b` (`git merge-base --is-ancestor`). */
export function isAncestor(cwd: string, a: string, b: string): boolean {
  const res = git(['merge-base', '--is-ancestor', a, b], { cwd, allowFailure: true });
  if (res.status === 0) return true;
  if (res.status === 1) return false;
  // Anything else (a missing object, a corrupt repository) is an error, not "no".
  git(['merge-base', '--is-ancestor', a, b], { cwd });
  return false;
}

/** Outcome of {@link mergeTrees}. */
export type TreeMerge =
  | { clean: true; tree: string }
  | {
      clean: false;
      /** Paths with conflicts, sorted, as `git merge-tree --name-only` lists them. */
      conflicts: string[];
    };

/**
 * Three-way merge of commits `ours` and `theirs` (their merge base found by git) with
 * `git merge-tree --write-tree --name-only`: exit 0 = clean (first line: the tree), exit 1 = conflicts
 * (the tree, the conflicted paths, then git's messages, which are not kept). Writes only objects; no ref, index or
 * working tree is touched.
 *
 * @throws GitCommandError for anything but exit 0/1 (e.g. unrelated histories, git older than 2.38).
 */
export function mergeTrees(cwd: string, ours: string, theirs: string): TreeMerge {
  const args = ['merge-tree', '--write-tree', '--name-only', '-z', ours, theirs];
  const res = git(args, { cwd, allowFailure: true });
  if (res.status !== 0 && res.status !== 1) git(args, { cwd });
  // -z: "<tree>\0<path>\0…\0\0<messages>" — the paths end at the first empty field.
  const fields = res.stdout.split('\0');
  const tree = fields[0]!.trim();
  if (res.status === 0) return { clean: true, tree };
  const conflicts: string[] = [];
  for (let i = 1; i < fields.length && fields[i] !== ''; i++) conflicts.push(fields[i]!);
  return { clean: false, conflicts: [...new Set(conflicts)].sort() };
}

/** `git commit-tree <tree> -p <parent>… -m <message>` with the user's git identity; the new commit. */
export function commitTree(cwd: string, tree: string, parents: readonly string[], message: string): string {
  const args = ['commit-tree', tree, ...parents.flatMap((p) => ['-p', p]), '-F', '-'];
  return git(args, { cwd, input: message }).stdout.trim();
}

/** Outcome of {@link moveBranch}. */
export type MoveResult = { moved: true } | { moved: false; actual: string | null };

/**
 * Compare-and-swap of `refs/heads/<branch>` from `oldOid` to `newOid` with `git update-ref -m`
 * (git's ref lock, its reflog, its `reference-transaction` hook). `moved: false` when the branch no
 * longer held `oldOid` (someone else moved it: re-decide).
 *
 * @throws GitCommandError when git refused for another reason (a hook, a lock held too long); the
 *   branch then still holds `oldOid`.
 */
export function moveBranch(
  cwd: string,
  branch: string,
  newOid: string,
  oldOid: string,
  message: string,
): MoveResult {
  const ref = `refs/heads/${branch}`;
  const args = ['update-ref', '-m', message, ref, newOid, oldOid];
  const res = git(args, { cwd, allowFailure: true });
  if (res.status === 0) return { moved: true };
  const actual = branchHead(cwd, branch);
  if (actual !== oldOid) return { moved: false, actual };
  git(args, { cwd });
  return { moved: false, actual };
}

/**
 * Tracked changes of a checkout (`git status --porcelain --untracked-files=no`), one line each; empty
 * when its index and files match HEAD.
 */
export function trackedChanges(worktree: string): string[] {
  return git(['status', '--porcelain', '--untracked-files=no'], { cwd: worktree })
    .stdout.split('\n')
    .filter((l) => l.length > 3);
}

/**
 * Brings a clean checkout of a branch that just moved from `from` to `to` up to date, as `git merge
 * --ff` does for its own worktree: `git read-tree -m -u <from> <to>` (a two-tree merge of the index:
 * files that differ between the trees are updated; with `dryRun`, `-n` only checks that it would
 * succeed, e.g. that no untracked file would be overwritten).
 *
 * @returns `null` on success, else git's message.
 */
export function updateCheckout(worktree: string, from: string, to: string, dryRun = false): string | null {
  const args = ['read-tree', '-m', '-u', ...(dryRun ? ['-n'] : []), from, to];
  const res = git(args, { cwd: worktree, allowFailure: true });
  return res.status === 0 ? null : res.stderr.trim() || `git read-tree exited ${res.status}`;
}

/** One-line subjects of the commits in `head` that `base` lacks, oldest first (`git log --reverse`). */
export function subjects(cwd: string, base: string, head: string, max = 50): string[] {
  return git(['log', '--reverse', `--max-count=${max}`, '--format=%s', `${base}..${head}`], { cwd })
    .stdout.split('\n')
    .filter(Boolean);
}
