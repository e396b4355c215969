import { resolveHolderId } from '../../leases/identity.js';
import { crash } from '../../leases/ops/index.js';
import type { Lease } from '../../records/schemas.js';
import type { CrashArgs } from '../commands/crash.js';
import { context, emit, textArg } from '../common.js';
import { displaySafe } from '../output.js';

/** Marks a lease crashed. */
export async function run(args: CrashArgs, cwd: string = process.cwd()): Promise<Lease> {
  const ctx = context(cwd);
  return crash(ctx, {
    key: args.key,
    by: resolveHolderId(ctx.repo, args.holder),
    reason: textArg(args.reason, '--reason') as string,
  });
}

/** `git coord crash`: one line (or the lease with `--json`). */
export async function handle(argv: CrashArgs): Promise<void> {
  const l = await run(argv);
  emit(argv.json, l, () => `crashed: lease ${displaySafe(l.key)}, token ${l.token}`);
}
