import { resolveHolder } from '../../leases/identity.js';
import { takeover } from '../../leases/ops/index.js';
import type { Lease } from '../../records/schemas.js';
import type { TakeoverArgs } from '../commands/takeover.js';
import { context, durationArg, emit, textArg } from '../common.js';
import { displaySafe } from '../output.js';

/** Takes over a stale or crashed lease. */
export async function run(args: TakeoverArgs, cwd: string = process.cwd()): Promise<Lease> {
  const ctx = context(cwd);
  const ttlSeconds = durationArg(args.ttl, '--ttl');
  return takeover(ctx, {
    key: args.key,
    holder: resolveHolder(ctx.repo, { holder: args.holder, pid: args.pid }, ctx.probe),
    force: args.force,
    reason: textArg(args.reason, '--reason'),
    ttlSeconds,
  });
}

/** `git coord takeover`: one line (or the lease with `--json`). */
export async function handle(argv: TakeoverArgs): Promise<void> {
  const l = await run(argv);
  emit(
    argv.json,
    l,
    () =>
      `took over: lease ${displaySafe(l.key)}, token ${l.token}${l.worktree ? `, worktree ${displaySafe(l.worktree.path)}` : ''}`,
  );
}
