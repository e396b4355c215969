import { UsageError } from '../../errors.js';
import { resolveHolder } from '../../leases/identity.js';
import { type ClaimResult, claim } from '../../leases/ops/index.js';
import type { ClaimArgs } from '../commands/claim.js';
import { context, durationArg, emit, textArg, warn } from '../common.js';
import { displaySafe } from '../output.js';

/** Claims a lease from `cwd`; see the command's help. */
export async function run(args: ClaimArgs, cwd: string = process.cwd()): Promise<ClaimResult> {
  const ctx = context(cwd);
  const ttlSeconds = durationArg(args.ttl, '--ttl');
  if (args.worktree === '') {
    throw new UsageError(
      '--worktree needs a path (leave it out for <worktrees.dir>/<key>, or --no-worktree for none)',
      'invalid-worktree',
    );
  }
  const note = textArg(args.note, '--note');
  const reason = textArg(args.reason, '--reason');
  const holder = resolveHolder(ctx.repo, { holder: args.holder, pid: args.pid }, ctx.probe);
  return claim(ctx, {
    key: args.key,
    holder,
    branch: args.branch,
    base: args.base,
    worktree: args.worktree === false ? false : typeof args.worktree === 'string' ? args.worktree : undefined,
    cwd,
    ttlSeconds,
    note,
    takeover: args.takeover,
    reason,
    allowSharedBranch: args.allowSharedBranch,
  });
}

/** The human summary of a claim. */
export function describeClaim(r: ClaimResult): string {
  const l = r.lease;
  const verb =
    r.action === 'reentered' ? 'already yours, renewed' : r.action === 'took-over' ? 'took over' : 'claimed';
  const lines = [
    `${verb}: lease ${displaySafe(l.key)}, token ${l.token}, holder ${displaySafe(l.holder.id)}`,
  ];
  if (l.branch) lines.push(`branch    ${displaySafe(l.branch)}`);
  if (l.worktree) {
    const how = r.provision
      ? r.action === 'reentered' && r.provision.created
        ? ' (made again: it was gone; its branch and commits kept)'
        : r.provision.created
          ? r.provision.adoptedBranch
            ? ' (new, existing branch adopted)'
            : ' (new)'
          : ' (reused)'
      : '';
    lines.push(`worktree  ${displaySafe(l.worktree.path)}${how}`);
  }
  lines.push(`expires   after ${l.ttlSeconds}s without renew`);
  if (l.worktree) lines.push(`next      cd ${displaySafe(l.worktree.path)}`);
  return lines.join('\n');
}

/** `git coord claim`: warnings on stderr, then the summary (or the lease with `--json`). */
export async function handle(argv: ClaimArgs): Promise<void> {
  const r = await run(argv);
  for (const w of r.warnings) warn(w);
  emit(argv.json, r.lease, () => describeClaim(r));
}
