import { describeAttempt } from '../leases/attempts.js';
import { expiresAt, formatAge, type StaleReason } from '../leases/liveness.js';
import type { Lease } from '../records/schemas.js';
import { colors, displaySafe } from './output.js';

/**
 * Human output of the lease commands: tables and key/value blocks. Every value that comes from a
 * record goes through displaySafe (a hostile remote cannot inject terminal escapes); colour only on a
 * TTY without NO_COLOR (see `colors`).
 */

/** A lease with its liveness, as `show` and `list` report it. */
export interface LeaseView extends Lease {
  stale: StaleReason | null;
}

const STALE_LABEL: Record<StaleReason, string> = {
  expired: 'expired',
  'holder-dead': 'holder dead',
  'pid-reused': 'pid reused',
};

/** `open`, `open (expired)`, `open (holder dead)`, `open (pid reused)`, `closed (done)`, `crashed`. */
export function stateLabel(lease: Lease, stale: StaleReason | null): string {
  if (lease.state === 'open') return stale ? `open (${STALE_LABEL[stale]})` : 'open';
  if (lease.state === 'closed') return `closed (${lease.outcome ?? '?'})`;
  return 'crashed';
}

function paintState(label: string, lease: Pick<Lease, 'state'>, stale: StaleReason | null): string {
  if (lease.state === 'crashed') return colors.red(label);
  if (lease.state === 'closed') return colors.dim(label);
  return stale ? colors.yellow(label) : colors.green(label);
}

/** Renders rows as aligned columns; `paint` colours a cell after padding is computed. */
export function renderTable(
  headers: string[],
  rows: string[][],
  paint?: (row: number, col: number, text: string) => string,
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[], r: number) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i]!);
        return r >= 0 && paint ? paint(r, i, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [colors.bold(line(headers, -1)), ...rows.map((r, i) => line(r, i))].join('\n');
}

/** `5s ago`, or `in 3m` for a time in the future. */
function ago(iso: string, now: number): string {
  const ms = now - Date.parse(iso);
  return ms >= 0 ? `${formatAge(ms)} ago` : `in ${formatAge(-ms)}`;
}

/**
 * One lease as a row of the `list` table: its cells, and what the table still needs of the lease (the
 * heartbeat, shown relative to the time the table is rendered; the state, which colours its cell). A
 * listing keeps these instead of the leases (10,000 leases: ~7 MiB less peak RSS).
 */
export interface LeaseRow {
  /** KEY, STATE, HOLDER, HOST, TOKEN, BRANCH, `''` (HEARTBEAT, filled in by {@link leaseTable}), WORKTREE. */
  cells: string[];
  /** `renewedAt` of an open lease (HEARTBEAT), else null (`-`). */
  renewedAt: string | null;
  state: Lease['state'];
  stale: StaleReason | null;
}

/** `l` as a row of the `list` table. */
export function leaseRow(l: LeaseView): LeaseRow {
  return {
    cells: [
      displaySafe(l.key),
      stateLabel(l, l.stale),
      displaySafe(l.holder.id),
      displaySafe(l.holder.host),
      String(l.token),
      displaySafe(l.branch ?? '-'),
      '',
      displaySafe(l.worktree?.path ?? '-'),
    ],
    renewedAt: l.state === 'open' ? l.renewedAt : null,
    state: l.state,
    stale: l.stale,
  };
}

/** The `list` table of `rows` ({@link leaseRow}), heartbeats relative to `now` (ms since the epoch). */
export function leaseTable(rows: LeaseRow[], now: number): string {
  if (rows.length === 0) return 'no leases';
  const headers = ['KEY', 'STATE', 'HOLDER', 'HOST', 'TOKEN', 'BRANCH', 'HEARTBEAT', 'WORKTREE'];
  for (const r of rows) r.cells[6] = r.renewedAt === null ? '-' : ago(r.renewedAt, now);
  return renderTable(
    headers,
    rows.map((r) => r.cells),
    (r, c, text) => {
      const row = rows[r]!;
      return c === 1 ? paintState(text, row, row.stale) : text;
    },
  );
}

/** Key/value lines of one lease (`show`, and after each write command). */
export function leaseDetails(l: Lease, stale: StaleReason | null, now: number, skewSeconds: number): string {
  const h = l.holder;
  const rows: Array<[string, string]> = [
    ['key', displaySafe(l.key)],
    ['state', paintState(stateLabel(l, stale), l, stale)],
    [
      'holder',
      `${displaySafe(h.id)} on ${displaySafe(h.host)}${h.pid !== null ? ` pid ${h.pid}` : ''}${h.user ? ` (user ${displaySafe(h.user)})` : ''}`,
    ],
    [
      'token',
      `${l.token} (revision ${l.revision}, ${l.transitions} holder change${l.transitions === 1 ? '' : 's'})`,
    ],
    ['branch', displaySafe(l.branch ?? '-')],
    ['base', l.baseRef ?? '-'],
    [
      'worktree',
      l.worktree
        ? `${displaySafe(l.worktree.path)} (${displaySafe(l.worktree.id)} on ${displaySafe(l.worktree.host)})`
        : '-',
    ],
    ['acquired', `${l.acquiredAt} (${ago(l.acquiredAt, now)})`],
    ['heartbeat', `${l.renewedAt} (${ago(l.renewedAt, now)}), ttl ${formatAge(l.ttlSeconds * 1000)}`],
  ];
  if (l.state === 'open') {
    const exp = expiresAt(l, skewSeconds);
    rows.push(['expires', exp >= now ? `in ${formatAge(exp - now)}` : `${formatAge(now - exp)} ago`]);
  }
  if (l.closedAt) rows.push(['closed', `${l.closedAt} (${l.outcome})`]);
  if (l.crashedAt)
    rows.push(['crashed', `${l.crashedAt}${l.crashReason ? `: ${displaySafe(l.crashReason)}` : ''}`]);
  if (l.gate) rows.push(['gate', gateLine(l)]);
  for (const r of l.gate?.runs ?? [])
    rows.push([
      '',
      displaySafe(`run ${r.command}: ${r.status} in ${(r.durationMs / 1000).toFixed(1)}s (${r.output})`),
    ]);
  if (l.merge) {
    const m = l.merge;
    rows.push([
      'merged',
      displaySafe(
        `into ${m.into} (${m.method}) ${m.before.slice(0, 12)} -> ${m.commit.slice(0, 12)} at ${m.at} by ${m.by}` +
          (m.reason ? `; forced: ${m.reason}` : ''),
      ),
    ]);
  }
  if (l.note) rows.push(['note', displaySafe(l.note)]);
  for (const [i, a] of (l.attempts ?? []).entries())
    rows.push([i === 0 ? 'attempts' : '', displaySafe(describeAttempt(a))]);
  return renderPairs(rows);
}

/** Renders `key  value` lines with the keys padded to one width and dimmed. */
export function renderPairs(rows: ReadonlyArray<readonly [string, string]>): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${colors.dim(k.padEnd(w))}  ${v}`).join('\n');
}

/** One line about the last gate result. */
export function gateLine(l: Lease): string {
  const g = l.gate;
  if (!g) return 'not run yet';
  const res =
    g.result === 'passed'
      ? colors.green(g.result)
      : g.result === 'failed'
        ? colors.red(g.result)
        : colors.yellow(g.result);
  const missing = g.missing.length ? `; missing ${g.missing.map((m) => displaySafe(m)).join(', ')}` : '';
  const reason = g.reason ? `; reason: ${displaySafe(g.reason)}` : '';
  return `${res} at ${g.at} by ${displaySafe(g.by)}${g.commit ? ` on ${g.commit.slice(0, 12)}` : ''}${missing}${reason}`;
}
