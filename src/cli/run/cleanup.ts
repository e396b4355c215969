import { type CleanupItem, cleanup } from '../../leases/ops/index.js';
import type { CleanupArgs } from '../commands/cleanup.js';
import { context, emit } from '../common.js';
import { colors, displaySafe } from '../output.js';

/** The `cleanup --json` document. */
export interface CleanupOutput {
  dryRun: boolean;
  items: CleanupItem[];
}

/** Removes what closed, merged leases left (see `cleanup` in src/leases/ops/cleanup.ts). */
export async function run(args: CleanupArgs, cwd: string = process.cwd()): Promise<CleanupOutput> {
  const ctx = context(cwd);
  const dryRun = Boolean(args.dryRun);
  return { dryRun, items: await cleanup(ctx, { dryRun, branches: args.branches }) };
}

const TAG = {
  removed: colors.green('removed     '),
  'would-remove': colors.yellow('would remove'),
  kept: colors.dim('kept        '),
} as const;

/** `git coord cleanup`: one line per lease (removed / would remove / kept, and why). */
export async function handle(argv: CleanupArgs): Promise<void> {
  const out = await run(argv);
  emit(argv.json, out, () => {
    if (out.items.length === 0) return 'nothing to clean up: no closed lease left a worktree';
    return out.items
      .map((i) => {
        const what = i.removed.length
          ? ` (${i.removed.map((r) => (r === 'branch' ? `branch ${i.branch}` : 'worktree')).join(' and ')})`
          : '';
        const where = i.path ?? (i.branch ? `branch ${i.branch}` : '');
        return `${TAG[i.action]} ${displaySafe(i.key)}  ${displaySafe(where)}${displaySafe(what)}: ${displaySafe(i.reason)}`;
      })
      .join('\n');
  });
}
