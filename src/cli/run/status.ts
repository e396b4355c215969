import { type LeaseContext, staleOf } from '../../leases/context.js';
import { describeHolder } from '../../leases/errors.js';
import { resolveHolderId } from '../../leases/identity.js';
import { formatAge } from '../../leases/liveness.js';
import { currentBranch, leaseForBranch, leaseForWorktree } from '../../leases/state.js';
import { worktreeId } from '../../refs/repo.js';
import type { StatusArgs } from '../commands/status.js';
import { context, emit, withMirror } from '../common.js';
import { gateLine, type LeaseView, renderPairs, stateLabel } from '../format.js';
import { colors, displaySafe } from '../output.js';

/** `status --json` (DESIGN §4). */
export interface StatusView {
  worktree: { id: string; path: string; branch: string | null } | null;
  lease: LeaseView | null;
  me: { holder: string | null; host: string };
}

/**
 * The current worktree, the lease that owns it (by the worktree index, else by its branch), and who
 * the caller is. Never writes.
 */
export async function run(args: StatusArgs, ctx: LeaseContext | string = process.cwd()): Promise<StatusView> {
  const c = typeof ctx === 'string' ? context(ctx) : ctx;
  const top = c.repo.worktreeTop;
  const branch = top ? currentBranch(c.repo.gitDir) : null;
  const worktree = top ? { id: worktreeId(top, c.host), path: top, branch } : null;
  const stored =
    (worktree ? await leaseForWorktree(c.repo, worktree.id) : null) ??
    (branch ? await leaseForBranch(c.repo, branch) : null);
  let holder: string | null = null;
  try {
    holder = resolveHolderId(c.repo, args.holder);
  } catch {
    holder = null;
  }
  return {
    worktree,
    lease: stored ? { ...stored.record, stale: staleOf(c, stored.record) } : null,
    me: { holder, host: c.host },
  };
}

/** Human text of {@link StatusView}. */
export function describeStatus(s: StatusView, now: number): string {
  const rows: Array<[string, string]> = [];
  rows.push([
    'worktree',
    s.worktree ? `${displaySafe(s.worktree.path)} (${s.worktree.id})` : '(none: bare repository or git dir)',
  ]);
  rows.push(['branch', s.worktree?.branch ? displaySafe(s.worktree.branch) : '(detached)']);
  const l = s.lease;
  if (!l) rows.push(['lease', 'none: no lease owns this worktree or branch']);
  else {
    const mine = s.me.holder !== null && l.holder.id === s.me.holder;
    rows.push([
      'lease',
      `${displaySafe(l.key)} · ${stateLabel(l, l.stale)} · ${displaySafe(describeHolder(l))}${mine ? colors.green(' (you)') : ''} · token ${l.token}` +
        (l.state === 'open' ? ` · heartbeat ${formatAge(now - Date.parse(l.renewedAt))} ago` : ''),
    ]);
    rows.push(['gate', gateLine(l)]);
  }
  rows.push([
    'me',
    `${s.me.holder === null ? '(no identity: set --holder, $COORD_HOLDER or git config coord.holder)' : displaySafe(s.me.holder)} on ${displaySafe(s.me.host)}`,
  ]);
  return renderPairs(rows);
}

/** `git coord status`: worktree, branch, lease, gate and who you are (JSON with `--json`). */
export async function handle(argv: StatusArgs): Promise<void> {
  const ctx = context();
  const s = await run(argv, ctx);
  emit(argv.json, withMirror(ctx, s, argv.json), () => describeStatus(s, Date.now()));
}
