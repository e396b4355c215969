import { resolveHolderId } from '../../leases/identity.js';
import { type ClearResult, clear } from '../../leases/ops/index.js';
import type { ClearArgs } from '../commands/clear.js';
import { context, emit } from '../common.js';
import { displaySafe } from '../output.js';

/** Deletes a lease and its index refs. */
export async function run(args: ClearArgs, cwd: string = process.cwd()): Promise<ClearResult> {
  const ctx = context(cwd);
  return clear(ctx, { key: args.key, by: resolveHolderId(ctx.repo, args.holder), force: args.force });
}

/** `git coord clear`: the tombstone and the index refs deleted (key, lease, tombstone, deleted, audit with `--json`). */
export async function handle(argv: ClearArgs): Promise<void> {
  const r = await run(argv);
  emit(argv.json, { key: argv.key, ...r }, () =>
    [
      `cleared: lease ${displaySafe(argv.key)} (a tombstone keeps token ${r.tombstone.token}; the next claim gets ${r.tombstone.token + 1})`,
      ...r.deleted.map((d) => `deleted ${displaySafe(d)}`),
    ].join('\n'),
  );
}
