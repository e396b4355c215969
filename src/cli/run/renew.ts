import { resolveHolder, resolveIdentity } from '../../leases/identity.js';
import { renew } from '../../leases/ops/index.js';
import type { Lease } from '../../records/schemas.js';
import type { RenewArgs } from '../commands/renew.js';
import { context, durationArg, emit, tokenArg } from '../common.js';
import { displaySafe } from '../output.js';

/** Renews (heartbeats) a lease the caller holds. */
export async function run(args: RenewArgs, cwd: string = process.cwd()): Promise<Lease> {
  const ctx = context(cwd);
  const holderRecord =
    args.pid !== undefined
      ? resolveHolder(ctx.repo, { holder: args.holder, pid: args.pid }, ctx.probe)
      : undefined;
  return renew(ctx, {
    key: args.key,
    holder: resolveIdentity(ctx.repo, args.holder),
    token: tokenArg(args.token),
    ttlSeconds: durationArg(args.ttl, '--ttl'),
    holderRecord,
  });
}

/** `git coord renew`: one line (or the lease with `--json`). */
export async function handle(argv: RenewArgs): Promise<void> {
  const l = await run(argv);
  emit(
    argv.json,
    l,
    () => `renewed: lease ${displaySafe(l.key)}, token ${l.token}, ttl ${l.ttlSeconds}s from ${l.renewedAt}`,
  );
}
