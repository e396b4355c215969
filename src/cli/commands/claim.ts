import type { CommandModule } from 'yargs';
import { resolveHolder } from '../../leases/identity.js';
import { type ClaimResult, claim } from '../../leases/ops.js';
import { context, durationArg, emit, type JsonArgs, warn, withHolder, withJson, withKey } from '../common.js';
import { displaySafe } from '../output.js';

/** Options of `git coord claim`. */
export interface ClaimArgs extends JsonArgs {
  key: string;
  branch?: string;
  base?: string;
  /** A path, or `false` for `--no-worktree`. */
  worktree?: string | boolean;
  ttl?: string;
  holder?: string;
  pid?: string;
  note?: string;
  takeover?: boolean;
  reason?: string;
}

/** Claims a lease from `cwd`; see the command's help. */
export async function run(args: ClaimArgs, cwd: string = process.cwd()): Promise<ClaimResult> {
  const ctx = context(cwd);
  const ttlSeconds = durationArg(args.ttl, '--ttl');
  const holder = resolveHolder(ctx.repo, { holder: args.holder, pid: args.pid }, ctx.probe);
  return claim(ctx, {
    key: args.key,
    holder,
    branch: args.branch,
    base: args.base,
    worktree: args.worktree === false ? false : typeof args.worktree === 'string' ? args.worktree : undefined,
    cwd,
    ttlSeconds,
    note: args.note,
    takeover: args.takeover,
    reason: args.reason,
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
      ? r.provision.created
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

export const claimCommand: CommandModule<object, ClaimArgs> = {
  command: 'claim <key>',
  describe: 'acquire a lease and provision (or reuse) its worktree',
  builder: (y) =>
    withJson(withHolder(withKey(y)))
      .option('branch', {
        type: 'string',
        describe: 'branch to work on (default: worktrees.branch, coord/{key})',
      })
      .option('base', {
        type: 'string',
        describe: 'commit to start a new branch from (default: main worktree HEAD)',
      })
      .option('worktree', {
        type: 'string',
        describe: 'worktree path (default: <main worktree>/<worktrees.dir>/<key>); --no-worktree for none',
      })
      .option('ttl', {
        type: 'string',
        describe: 'time to live without renew: 90s, 15m, 2h (default: leases.ttl)',
      })
      .option('pid', {
        type: 'string',
        describe: 'long-lived agent process whose death frees the lease (default: $COORD_PID)',
      })
      .option('note', { type: 'string', describe: 'free text stored in the lease' })
      .option('takeover', { type: 'boolean', describe: "take over another holder's stale or crashed lease" })
      .option('reason', { type: 'string', describe: 'reason recorded with --takeover' })
      .epilogue(
        'Same holder again: idempotent (same token, same worktree, renewed). Held by another: exit 3 naming the ' +
          'holder. A stale lease (expired, holder process gone) needs `takeover` or --takeover; a lease whose ' +
          'holder process is gone is marked crashed when a claim notices. A registered worktree at the path is ' +
          'reused; an unknown directory there is never overwritten (exit 1). A leftover branch with no lease is ' +
          'adopted: `git worktree add PATH BRANCH`, keeping its commits. If the ref transaction fails, the new ' +
          'worktree and branch are removed again.',
      ) as never,
  handler: async (argv) => {
    const r = await run(argv);
    for (const w of r.warnings) warn(w);
    emit(argv.json, r.lease, () => describeClaim(r));
  },
};
