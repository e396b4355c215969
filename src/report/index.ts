import { evaluateGate, type GateEvaluation } from '../gates/index.js';
import { type LeaseContext, staleOf } from '../leases/context.js';
import { describeHolder } from '../leases/errors.js';
import { describeStale, formatAge } from '../leases/liveness.js';
import { currentBranch, iterateLeases, leaseForBranch, leaseForWorktree } from '../leases/state.js';
import type { Lease } from '../records/schemas.js';
import { type CorruptEntry, isCorrupt } from '../records/store.js';
import { git } from '../refs/git.js';
import { worktreeId } from '../refs/repo.js';

/**
 * The closeout report (`git coord report`): before closing out key K, what else is going on.
 *
 * - every other key's open, live lease is `[BLOCK]` (holder, branch, age);
 * - K's own lease is `[INFO]`;
 * - stale (expired, holder dead) and crashed leases, and corrupt records, are `[WARN]`;
 * - K's gate on its branch head is reported (`[INFO]` when passed or skipped, `[WARN]` when failing);
 * - `next_safe_action` says what to do next.
 *
 * Strictly read-only: it reads refs and objects and runs `git rev-parse` / `ls-tree` / `log` only; it
 * never marks a lease crashed, renews, writes an object, a ref, a file or touches a worktree.
 */

export type ReportTag = 'BLOCK' | 'INFO' | 'WARN';

export interface ReportItem {
  tag: ReportTag;
  key: string | null;
  message: string;
}

/** The `report --json` document. */
export interface Report {
  /** The key reported on, or null when no lease owns the current worktree and none was given. */
  key: string | null;
  items: ReportItem[];
  /** K's gate on its branch head: `{result, commit, rules}`, or null when there is nothing to evaluate. */
  gate: Pick<GateEvaluation, 'result' | 'commit' | 'rules'> | null;
  next_safe_action: string;
}

/**
 * Appends `item` to `items` with its message as one flat string. A message is built from many
 * template pieces, which V8 keeps as a tree of the pieces (a cons string) until the text is read;
 * indexing it makes V8 flatten it, so the pieces can be collected while the report grows
 * (10,000 leases: ~6.5 MiB less peak RSS, issue 12).
 */
function add(items: ReportItem[], item: ReportItem): void {
  item.message.charCodeAt(0);
  items.push(item);
}

/** True when the report has a `[BLOCK]` item (exit 4). */
export function isBlocked(r: Report): boolean {
  return r.items.some((i) => i.tag === 'BLOCK');
}

/** The key of the lease owning the current worktree (else the current branch), or null. */
export async function currentKey(ctx: LeaseContext): Promise<string | null> {
  const { repo } = ctx;
  if (repo.worktreeTop) {
    const wt = await leaseForWorktree(repo, worktreeId(repo.worktreeTop, ctx.host));
    if (wt) return wt.record.key;
  }
  const branch = currentBranch(repo.gitDir);
  if (branch) {
    const br = await leaseForBranch(repo, branch);
    if (br) return br.record.key;
  }
  return null;
}

function where(l: Lease): string {
  const parts = [l.branch ? `branch ${l.branch}` : 'no branch'];
  if (l.worktree) parts.push(`worktree ${l.worktree.path}`);
  return parts.join(', ');
}

/**
 * Builds the report for `key` (default: the current worktree's lease). Changes nothing. `me` is the
 * caller's holder id (null when unknown): K's lease is "your lease" only when `me` holds (or last held)
 * it; otherwise the report names its holder and what the holder, or anyone else, can do.
 */
export async function buildReport(
  ctx: LeaseContext,
  key?: string | null,
  me: string | null = null,
): Promise<Report> {
  const k = key ?? (await currentKey(ctx));
  const now = ctx.now().getTime();
  const items: ReportItem[] = [];
  const corrupt: CorruptEntry[] = [];
  // Of the other leases only what nextAction names is kept (10,000 leases: not the records).
  const blockers: string[] = [];
  const stales: string[] = [];
  let mine: Lease | null = null;
  for await (const e of iterateLeases(ctx.repo)) {
    if (isCorrupt(e)) {
      corrupt.push(e);
      continue;
    }
    const l = e.record;
    const age = formatAge(now - Date.parse(l.acquiredAt));
    const beat = formatAge(now - Date.parse(l.renewedAt));
    const stale = staleOf(ctx, l, now);
    if (l.key === k) {
      mine = l;
      const own = me !== null && l.holder.id === me;
      const lease = own ? `your lease ${l.key}` : `lease ${l.key}`;
      const state =
        l.state === 'open'
          ? stale
            ? `open (${stale})`
            : 'open'
          : l.state === 'closed'
            ? `closed (${l.outcome}) at ${l.closedAt}`
            : `crashed at ${l.crashedAt}`;
      add(items, {
        tag: 'INFO',
        key: l.key,
        message: `${lease}: ${state}, ${l.state === 'open' ? 'held' : 'last held'} by ${describeHolder(l)}${own || me === null ? '' : ` (not you: ${me})`}, ${where(l)}, token ${l.token}, age ${age}, last heartbeat ${beat} ago`,
      });
      if (stale) {
        add(items, {
          tag: 'WARN',
          key: l.key,
          message: own
            ? `your lease ${l.key} is stale: ${describeStale(l, stale, ctx.config.skewSeconds, now)}; renew it (git coord renew ${l.key}) or anyone may take it over`
            : `lease ${l.key} is stale: ${describeStale(l, stale, ctx.config.skewSeconds, now)}; ${l.holder.id} can renew it, or take it over (git coord takeover ${l.key})`,
        });
      } else if (l.state === 'crashed') {
        add(items, {
          tag: 'WARN',
          key: l.key,
          message: `${lease} crashed${l.crashReason ? ` (${l.crashReason})` : ''}: ${own ? `git coord claim ${l.key}` : `git coord takeover ${l.key}`} resumes it`,
        });
      }
      continue;
    }
    if (l.state === 'crashed') {
      stales.push(l.key);
      add(items, {
        tag: 'WARN',
        key: l.key,
        message: `lease ${l.key} crashed at ${l.crashedAt}${l.crashReason ? ` (${l.crashReason})` : ''}: last held by ${describeHolder(l)}, ${where(l)}; take it over (git coord takeover ${l.key}) or clear it`,
      });
    } else if (l.state === 'open' && stale) {
      stales.push(l.key);
      add(items, {
        tag: 'WARN',
        key: l.key,
        message: `lease ${l.key} is stale: ${describeStale(l, stale, ctx.config.skewSeconds, now)}; held by ${describeHolder(l)}, ${where(l)}, age ${age}; take it over (git coord takeover ${l.key}) or clear it`,
      });
    } else if (l.state === 'open') {
      blockers.push(`${l.key} (${l.holder.id})`);
      add(items, {
        tag: 'BLOCK',
        key: l.key,
        message: `lease ${l.key} is open: held by ${describeHolder(l)}, ${where(l)}, age ${age}, last heartbeat ${beat} ago`,
      });
    }
  }
  for (const c of corrupt) {
    add(items, {
      tag: 'WARN',
      key: null,
      message: `corrupt record ${c.ref}: ${c.error.reason} (git coord doctor)`,
    });
  }

  let gate: Report['gate'] = null;
  let gateFailed: GateEvaluation | null = null;
  if (k !== null && mine?.branch) {
    const cwd = ctx.repo.worktreeTop ?? ctx.repo.gitDir;
    const head = git(['rev-parse', '--verify', '-q', `refs/heads/${mine.branch}^{commit}`], {
      cwd,
      allowFailure: true,
    }).stdout.trim();
    if (head) {
      const ev = evaluateGate(ctx.repo, ctx.config, k, { kind: 'commit', commit: head });
      gate = { result: ev.result, commit: ev.commit, rules: ev.rules };
      const failing = ev.rules.filter((r) => r.status === 'fail');
      add(items, {
        tag: ev.result === 'failed' ? 'WARN' : 'INFO',
        key: k,
        message:
          `gate ${ev.gate} for ${k} on ${mine.branch} (${head.slice(0, 12)}): ${ev.result}` +
          (failing.length ? ` — ${failing.map((r) => `${r.rule}: ${r.detail}`).join('; ')}` : ''),
      });
      if (ev.result === 'failed') gateFailed = ev;
    } else {
      add(items, { tag: 'WARN', key: k, message: `branch ${mine.branch} of lease ${k} does not exist here` });
    }
  } else if (k !== null && !mine) {
    add(items, { tag: 'INFO', key: k, message: `no lease ${k}` });
  }

  return { key: k, items, gate, next_safe_action: nextAction(k, mine, me, blockers, stales, gateFailed) };
}

function nextAction(
  k: string | null,
  mine: Lease | null,
  me: string | null,
  blockers: string[],
  stales: string[],
  gateFailed: GateEvaluation | null,
): string {
  if (blockers.length > 0) {
    const who = blockers.join(', ');
    return (
      `wait: ${blockers.length} other open lease(s) — ${who}; do not close out until they are done or released ` +
      `(git coord list), then run git coord report${k ? ` --key ${k}` : ''} again`
    );
  }
  if (gateFailed) {
    return `complete the artifacts for ${k} on its branch (${gateFailed.missing.join('; ')}), commit them, then git coord done ${k}`;
  }
  const staleNote = stales.length > 0 ? `; stale/crashed: ${stales.join(', ')} (take over or clear)` : '';
  if (!k) return `nothing blocks: no lease owns this worktree (pass --key K to report on one)${staleNote}`;
  if (!mine) return `nothing blocks; there is no lease ${k}${staleNote}`;
  const own = me !== null && mine.holder.id === me;
  if (mine.state === 'open' && !own && me !== null)
    return `nothing blocks, but lease ${k} is held by ${mine.holder.id}, not you (${me}): only its holder closes it out (git coord done ${k})${staleNote}`;
  if (mine.state === 'open') return `nothing blocks: close out with git coord done ${k}${staleNote}`;
  if (mine.state === 'crashed')
    return own
      ? `your lease ${k} crashed: git coord claim ${k} to resume${staleNote}`
      : `lease ${k} crashed: git coord takeover ${k} to resume${staleNote}`;
  return `nothing blocks: lease ${k} is ${mine.outcome}; safe to close out${staleNote}`;
}

/** Human rendering: one tagged line per item, then the next safe action. `safe` sanitises record text. */
export function formatReport(
  r: Report,
  paint: (tag: ReportTag, s: string) => string = (_, s) => s,
  safe: (s: string) => string = (s) => s,
): string {
  const lines = [`closeout report${r.key ? ` for ${safe(r.key)}` : ''}:`];
  if (r.items.length === 0) lines.push('  (no leases)');
  for (const i of r.items) lines.push(`  ${paint(i.tag, `[${i.tag}]`)} ${safe(i.message)}`);
  lines.push(`next_safe_action: ${safe(r.next_safe_action)}`);
  return lines.join('\n');
}
