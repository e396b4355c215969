import { UsageError } from '../../errors.js';
import { resolveHolderId } from '../../leases/identity.js';
import { type MergeResult, merge } from '../../leases/ops/index.js';
import type { MergeArgs } from '../commands/merge.js';
import { context, emit, warn } from '../common.js';
import { displaySafe } from '../output.js';

/** The `merge --json` document. */
export type MergeOutput = Omit<MergeResult, 'warnings'>;

/** Merges the lease's branch (see `merge` in src/leases/ops/merge.ts). */
export async function run(args: MergeArgs, cwd: string = process.cwd()): Promise<MergeResult> {
  if (args.ffOnly && args.ff === false) throw new UsageError('--ff-only and --no-ff exclude each other');
  const ctx = context(cwd);
  return merge(ctx, {
    key: args.key,
    by: resolveHolderId(ctx.repo, args.holder),
    into: args.into,
    mode: args.ffOnly ? 'ff-only' : args.ff === false ? 'no-ff' : args.squash ? 'squash' : 'auto',
    force: args.force,
    reason: args.reason,
  });
}

const SAID: Record<MergeResult['method'], string> = {
  'fast-forward': 'fast-forwarded',
  merge: 'merged',
  squash: 'squash-merged',
  'already-merged': 'already merged',
};

/** `git coord merge`: one line saying what moved (or the result with `--json`). */
export async function handle(argv: MergeArgs): Promise<void> {
  const { warnings, ...r } = await run(argv);
  for (const w of warnings) warn(w);
  const out: MergeOutput = r;
  emit(argv.json, out, () => {
    const what =
      r.method === 'already-merged'
        ? `${r.branch} is already in ${r.into} (${r.commit.slice(0, 12)}); nothing moved`
        : `${r.branch} into ${r.into}: ${r.before.slice(0, 12)} -> ${r.commit.slice(0, 12)}`;
    return [
      `${SAID[r.method]}: lease ${r.key}, ${what}${r.recorded ? '' : ' (already recorded)'}`,
      ...(r.checkout ? [`updated the checkout of ${r.into} in ${r.checkout}`] : []),
    ]
      .map((l) => displaySafe(l))
      .join('\n');
  });
}
