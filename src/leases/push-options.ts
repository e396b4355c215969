import { existsSync, realpathSync } from 'node:fs';
import type { Lease } from '../records/schemas.js';
import { faultPoint } from '../refs/fault.js';
import { git } from '../refs/git.js';
import { writeGitConfig } from '../refs/git-config.js';
import type { LeaseContext } from './context.js';

/**
 * Push options that let a shared remote's pre-receive hook fence a leased branch (DESIGN §8,
 * src/hooks/server/receive.ts): the lease worktree's own config gets
 * `push.pushOption = coord-token=<token>` and `coord-holder=<holder id>`, so a plain `git push` from
 * there carries the lease's current token. A takeover writes the new token, so a stale holder
 * elsewhere still pushes the old one and is refused.
 *
 * Written into the worktree's own config file (`git config --worktree`, which needs
 * `extensions.worktreeConfig`, turned on here when off; git accepts it in format-0 repositories), so
 * other worktrees are untouched. Only when wanted, because a remote that does not advertise push
 * options makes every push with them fail ("the receiving end does not support push options"):
 * `git config coord.pushOptions true|false`, unset = on in team mode (`coord.remote` set). To push from
 * a lease worktree to another remote: `git -c push.pushOption= push <remote>` (an empty value resets
 * the list).
 */

/** Whether claims write push options in this repository. */
export function pushOptionsWanted(ctx: LeaseContext): boolean {
  const cfg = ctx.repo.config();
  const set = cfg.get('coord.pushoptions');
  if (set !== undefined) return set === 'true' || set === 'yes' || set === 'on' || set === '1';
  return cfg.has('coord.remote');
}

/**
 * Writes the lease's push options into its worktree's config, replacing earlier `coord-token=` /
 * `coord-holder=` values there (other push options are kept). Does nothing when not wanted, or when the
 * lease has no worktree on this host.
 *
 * A process killed halfway (fault point `push-options-unset`) leaves the worktree without the coord
 * options (pushes of the leased branch are then refused, never let through); `git coord claim <key>`
 * again (re-entry) writes them.
 *
 * @returns a warning when git failed (the lease itself is already written), else null.
 */
export function writePushOptions(ctx: LeaseContext, lease: Lease): string | null {
  const wt = lease.worktree;
  if (!wt || wt.host !== ctx.host || !existsSync(wt.path) || !pushOptionsWanted(ctx)) return null;
  const cwd = wt.path;
  const run = (args: string[], allowFailure = false) => git(['config', ...args], { cwd, allowFailure });
  try {
    // Only a worktree of this repository: a record may name a path of another clone on this host.
    const common = git(['rev-parse', '--path-format=absolute', '--git-common-dir'], {
      cwd,
      allowFailure: true,
    });
    if (common.status !== 0 || !sameDir(common.stdout.trim(), ctx.repo.commonDir)) return null;
    if (ctx.repo.config().get('extensions.worktreeconfig') !== 'true') {
      // the shared config: other claims may write it at the same moment
      const on = () =>
        git(['config', '--get', 'extensions.worktreeConfig'], { cwd, allowFailure: true }).stdout.trim() ===
        'true';
      writeGitConfig(cwd, ['extensions.worktreeConfig', 'true'], on);
    }
    run(['--worktree', '--unset-all', 'push.pushOption', '^coord-(token|holder)='], true);
    faultPoint('push-options-unset');
    run(['--worktree', '--add', 'push.pushOption', `coord-token=${lease.token}`]);
    run(['--worktree', '--add', 'push.pushOption', `coord-holder=${lease.holder.id}`]);
    return null;
  } catch (err) {
    return `could not set push.pushOption in ${wt.path}: ${(err as Error).message}`;
  }
}

function sameDir(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}
