import { resolveIdentity } from '../../leases/identity.js';
import { type ReleaseResult, release } from '../../leases/ops/index.js';
import type { ReleaseArgs } from '../commands/release.js';
import { context, emit, tokenArg, warn } from '../common.js';
import { displaySafe } from '../output.js';

/** Releases a lease the caller holds. */
export async function run(args: ReleaseArgs, cwd: string = process.cwd()): Promise<ReleaseResult> {
  const ctx = context(cwd);
  return release(ctx, {
    key: args.key,
    holder: resolveIdentity(ctx.repo, args.holder),
    token: tokenArg(args.token),
    removeWorktree: args.removeWorktree,
  });
}

/** `git coord release`: warnings on stderr, then one line per change (or the lease with `--json`). */
export async function handle(argv: ReleaseArgs): Promise<void> {
  const r = await run(argv);
  for (const w of r.warnings) warn(w);
  emit(argv.json, r.lease, () =>
    [
      `released: lease ${displaySafe(r.lease.key)}, token ${r.lease.token}`,
      ...(r.removedWorktree ? [`removed worktree ${displaySafe(r.removedWorktree)}`] : []),
    ].join('\n'),
  );
}
