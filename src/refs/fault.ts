/**
 * Fault injection for crash tests: when `GIT_COORD_TEST_FAULT` names this point, the process kills
 * itself with SIGKILL right here (as `kill -9` would, no cleanup, no exit handlers). Points:
 * `ref-locked` (all ref locks held, nothing written), `ref-written` (new value in the `.lock` file,
 * before the rename), `packed-locked` (`packed-refs.lock` held), `blob-temp` (object temp file
 * written, not yet linked). Costs one environment lookup when unset.
 */
export function faultPoint(point: string): void {
  if (process.env.GIT_COORD_TEST_FAULT === point) process.kill(process.pid, 'SIGKILL');
}
