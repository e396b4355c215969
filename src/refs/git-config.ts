import { GitCommandError } from '../errors.js';
import { git } from './git.js';

/**
 * `git config <args…>` (a write), retried while another git process holds the config file's lock
 * (`could not lock config file …`: git takes `<file>.lock` with O_EXCL and gives up at once), e.g.
 * several claims or installs at the same moment. Backs off 25 ms, 50 ms, … for up to ~5 s.
 *
 * @param done checked after a failure: true when what the write wanted is already there (another
 *   process wrote it), which ends the retries successfully.
 * @throws GitCommandError when git keeps failing.
 */
export function writeGitConfig(
  cwd: string,
  args: readonly string[],
  done: () => boolean = () => false,
): void {
  for (let attempt = 1; ; attempt++) {
    const res = git(['config', ...args], { cwd, allowFailure: true });
    if (res.status === 0 || done()) return;
    if (attempt >= 20 || !/lock/i.test(res.stderr))
      throw new GitCommandError(['config', ...args], res.status, res.stderr);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25 * attempt);
  }
}
