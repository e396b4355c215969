import { openContext } from '../../leases/context.js';
import { flushPending, type PendingResult } from '../../leases/heartbeat.js';
import { discoverRepo } from '../../refs/repo.js';
import { NotTeamModeError } from '../../remote/errors.js';
import { ALL_NAMESPACES, type MirrorReport } from '../../remote/mirror.js';
import { RemoteRefStore, teamRemote } from '../../remote/store.js';
import type { SyncArgs } from '../commands/sync.js';
import { emit } from '../common.js';
import { displaySafe } from '../output.js';

/** The `sync --json` document. */
export interface SyncOutput extends MirrorReport {
  remote: string;
  /** Heartbeats that commits left pending, and what pushing them did. */
  heartbeats: PendingResult[];
  /** When the fetch completed (ISO 8601). */
  fetchedAt: string;
}

/**
 * Fetches every record namespace of the team remote (leases, branch and worktree indexes, audit
 * events) into staging, validates each record, and brings the mirror `refs/coord/*` in line; invalid
 * records are quarantined locally (DESIGN §7.1).
 *
 * @throws NotTeamModeError (exit 2) without `coord.remote`; RemoteUnreachableError (exit 1).
 */
export async function run(cwd: string = process.cwd()): Promise<SyncOutput> {
  const repo = discoverRepo(cwd);
  const remote = teamRemote(repo);
  if (!remote) throw new NotTeamModeError('git coord sync');
  const store = new RemoteRefStore(repo, remote);
  const report = await store.fetch(ALL_NAMESPACES);
  const fetchedAt = new Date().toISOString();
  const heartbeats = await flushPending(openContext(cwd, { repo, store }));
  return { remote, fetchedAt, heartbeats, ...report };
}

/** `git coord sync`: one line per changed or quarantined ref, then a summary. */
export async function handle(argv: SyncArgs): Promise<void> {
  if (argv.heartbeats) {
    const repo = discoverRepo(process.cwd());
    const remote = teamRemote(repo);
    if (!remote) throw new NotTeamModeError('git coord sync');
    await flushPending(openContext(process.cwd(), { repo, store: new RemoteRefStore(repo, remote) }));
    return;
  }
  const out = await run();
  emit(argv.json, out, () => formatSync(out));
}

function formatSync(out: SyncOutput): string {
  const lines = out.changed.map((c) => {
    const what = c.from === null ? 'new' : c.to === null ? 'gone' : 'changed';
    return `${what.padEnd(7)} ${displaySafe(c.ref)}`;
  });
  for (const q of out.invalid) {
    lines.push(
      `${q.fresh ? 'QUARANTINED' : 'still bad'} ${displaySafe(q.ref)} (${q.oid.slice(0, 12)}): ${displaySafe(q.reason)}; kept as ${displaySafe(q.quarantine)}, not used`,
    );
  }
  for (const h of out.heartbeats) {
    lines.push(
      `heartbeat ${displaySafe(h.key)} (token ${h.token}): ${h.result}${h.message ? ` — ${displaySafe(h.message)}` : ''}`,
    );
  }
  lines.push(
    `synced with ${displaySafe(out.remote)}: ${out.changed.length} ref(s) changed, ${out.invalid.length} invalid record(s) on the remote`,
  );
  return lines.join('\n');
}
