/**
 * Fault injection for crash tests: when `GIT_COORD_TEST_FAULT` names this point, the process kills
 * itself with SIGKILL right here (as `kill -9` would, no cleanup, no exit handlers). Points:
 * `ref-locked` (all ref locks held, nothing written), `ref-written` (new value in the `.lock` file,
 * before the rename), `packed-locked` (`packed-refs.lock` held), `blob-temp` (object temp file
 * written, not yet linked), `receive-judged` (the server's pre-receive decided, not yet exited),
 * `push-options-unset` (a lease worktree's coord push options removed, the new ones not yet added),
 * `merge-moved` (`git coord merge` moved the target branch, the lease not yet recorded),
 * `cleanup-removed` (`git coord cleanup` removed a worktree, its branch not yet deleted), `write-locked`
 * (a lease's write lock held, nothing read yet), `write-owner` (a process's write-lock owner file
 * written, no lock taken yet), `remote-before-push` / `remote-pushed` (team mode).
 * `<point>:<scope>` fires only while {@link faultScope} is `<scope>` (e.g. the verb of one write among
 * several in a process). Costs one environment lookup when unset.
 */
let scope = '';

/** Names the write in progress, for `<point>:<scope>` faults. */
export function faultScope(name: string): void {
  scope = name;
}

export function faultPoint(point: string): void {
  const fault = process.env.GIT_COORD_TEST_FAULT;
  if (fault === undefined) return;
  if (fault === point || fault === `${point}:${scope}`) process.kill(process.pid, 'SIGKILL');
}
