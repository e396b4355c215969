import { join } from 'node:path';
import { auditUpdate } from '../records/audit.js';
import { keepRecordReflogs } from '../records/gc.js';
import type { Actor } from '../records/quarantine.js';
import { CorruptRecordError } from '../records/store.js';
import { loadRecordAt } from '../records/validate.js';
import { git } from '../refs/git.js';
import { listRefs } from '../refs/read.js';
import type { Repo } from '../refs/repo.js';
import { RefTransaction } from '../refs/transaction.js';
import { gitSays, RemoteUnsuitableError } from './errors.js';
import {
  ALL_NAMESPACES,
  fetchStaging,
  type MirrorReport,
  NO_PROMPT,
  stagingPrefix,
  syncMirror,
} from './mirror.js';
import { accepted, parsePorcelain } from './porcelain.js';

/** What {@link joinRemote} did. */
export interface JoinReport {
  remote: string;
  /** The audit event pushed to prove the remote takes atomic pushes of refs/coord/* and shows them. */
  probe: string;
  /** Local records the remote lacked, pushed as creates. */
  pushed: string[];
  /** Local records that differed from the remote's (the remote's won) or were invalid: kept aside. */
  quarantined: Array<{ ref: string; oid: string; target: string; reason: string }>;
  /** The mirror brought in line with the remote. */
  mirror: MirrorReport;
}

const COORD = 'refs/coord/';
/** As `GC_CONFIG_KEY`, for the staging namespace. */
export const STAGING_GC_KEY = 'gc.refs/coord-remote/*.reflogExpireUnreachable';

/**
 * Joins team mode on `remote` (DESIGN §7): proves the remote accepts an atomic push of a
 * `refs/coord/` record and shows it again (a `join` audit event; a server without `atomic`, or one
 * that hides `refs/coord`, is refused with the reason), fetches its records, pushes the local
 * records it lacks as creates (`--force-with-lease=<ref>:` = must not exist, all or nothing, retried
 * when someone else created one meanwhile), keeps local records that differ from the remote's (the
 * remote's win) or are invalid under `refs/coord/quarantine/`, and brings the mirror in line.
 * Does not set `coord.remote`; the caller does once this succeeds.
 *
 * @throws RemoteUnsuitableError, RemoteUnreachableError.
 */
export async function joinRemote(repo: Repo, remote: string, actor: Actor): Promise<JoinReport> {
  const probe = probeRemote(repo, remote, actor);
  const quarantined: JoinReport['quarantined'] = [];
  let pushed: string[] = [];
  for (let attempt = 1; ; attempt++) {
    fetchStaging(repo, remote, ALL_NAMESPACES);
    const creates: Array<{ ref: string; oid: string }> = [];
    const aside = new RefTransaction(repo);
    const stamp = new Date().toISOString().replace(/[-:.]/g, '');
    for (const ns of ALL_NAMESPACES) {
      const staged = new Map(listRefs(repo, stagingPrefix(remote) + ns).map((e) => [e.ref, e.oid]));
      for (const { ref, oid } of listRefs(repo, COORD + ns)) {
        const theirs = staged.get(stagingPrefix(remote) + ref.slice(COORD.length));
        if (theirs === oid) continue;
        const reason = theirs
          ? `differs from ${remote}'s record (${theirs.slice(0, 12)}), which wins`
          : await invalid(repo, ref, oid);
        if (reason === null) {
          creates.push({ ref, oid });
          continue;
        }
        const target = `${COORD}quarantine/${ref.slice(COORD.length)}/${stamp}`;
        aside.create(target, oid, `coord: quarantine ${ref} (joining ${remote})`);
        quarantined.push({ ref, oid, target, reason });
      }
    }
    if (aside.refs().length) aside.commit({ ident: { name: actor.id, email: actor.id } });
    if (creates.length === 0 || pushCreates(repo, remote, creates)) {
      pushed = creates.map((c) => c.ref);
      break;
    }
    if (attempt >= 5)
      throw new RemoteUnsuitableError(remote, 'records kept being created there while joining; try again');
    quarantined.length = 0;
  }
  const mirror = await syncMirror(repo, remote, ALL_NAMESPACES);
  keepRecordReflogs(repo);
  // Staging refs get reflog lines from our own updates after a won push: keep git gc quiet about them.
  git(['config', '--file', join(repo.commonDir, 'config'), STAGING_GC_KEY, 'never'], { cwd: repo.commonDir });
  return { remote, probe, pushed, quarantined, mirror };
}

async function invalid(repo: Repo, ref: string, oid: string): Promise<string | null> {
  try {
    await loadRecordAt(repo, ref, oid);
    return null;
  } catch (err) {
    if (err instanceof CorruptRecordError) return `invalid: ${err.reason}`;
    throw err;
  }
}

/** Pushes every create atomically; false when one already exists there (lost to another writer). */
function pushCreates(repo: Repo, remote: string, creates: Array<{ ref: string; oid: string }>): boolean {
  const res = push(repo, remote, creates);
  const lines = parsePorcelain(res.stdout);
  if (res.status === 0 && creates.every((c) => lines.some((l) => l.to === c.ref && accepted(l.flag))))
    return true;
  if (lines.some((l) => !accepted(l.flag))) return false;
  throw new RemoteUnsuitableError(remote, `pushing the local records failed: ${gitSays(res.stderr)}`);
}

function push(
  repo: Repo,
  remote: string,
  creates: Array<{ ref: string; oid: string }>,
  options: string[] = [],
) {
  return git(
    [
      '-c',
      'push.pushOption=',
      'push',
      ...options.map((o) => `--push-option=${o}`),
      '--porcelain',
      '--atomic',
      '--no-verify',
      '--no-follow-tags',
      ...creates.map((c) => `--force-with-lease=${c.ref}:`),
      '--',
      remote,
      ...creates.map((c) => `${c.oid}:${c.ref}`),
    ],
    { cwd: repo.worktreeTop ?? repo.commonDir, allowFailure: true, env: NO_PROMPT, timeoutMs: 120_000 },
  );
}

/**
 * Pushes one `join` audit event with `--atomic` and reads it back with `git ls-remote`: the remote
 * must take atomic pushes (receive-pack advertises `atomic`; git 2.4+) of refs that point at blobs
 * under `refs/coord/`, and must not hide them (`transfer.hideRefs` / `uploadpack.hideRefs`). Whether it
 * takes push options is recorded as `coord.pushOptions` (unless set already): claims then write the
 * server hook's `coord-token` push options into lease worktrees only where a push can carry them.
 *
 * @returns the audit event's ref.
 * @throws RemoteUnsuitableError naming what the remote did not do.
 */
function probeRemote(repo: Repo, remote: string, actor: Actor): string {
  const event = auditUpdate(repo, {
    action: 'join',
    key: null,
    ref: null,
    at: new Date().toISOString(),
    by: actor,
    reason: `joined team mode on ${remote}`,
    previousHolder: null,
    token: null,
    commit: null,
    missing: [],
  });
  // With a push option first: a remote that takes them (receive.advertisePushOptions, as the server
  // hook sets) lets claims write coord-token push options into lease worktrees (coord.pushOptions).
  let res = push(repo, remote, [{ ref: event.ref, oid: event.oid! }], ['coord-probe=1']);
  const pushOptions = !/does not support push options/i.test(res.stderr);
  if (!pushOptions) res = push(repo, remote, [{ ref: event.ref, oid: event.oid! }]);
  if (/does not support --atomic/i.test(res.stderr)) {
    throw new RemoteUnsuitableError(remote, 'it does not support atomic pushes (`git push --atomic`)');
  }
  const line = parsePorcelain(res.stdout).find((l) => l.to === event.ref);
  if (res.status !== 0 || !line || !accepted(line.flag)) {
    throw new RemoteUnsuitableError(
      remote,
      `it refused a push to ${event.ref}: ${gitSays(res.stderr + (line ? `\n${line.summary}` : ''))}`,
    );
  }
  const seen = git(['ls-remote', '--', remote, event.ref], {
    cwd: repo.worktreeTop ?? repo.commonDir,
    allowFailure: true,
    env: NO_PROMPT,
    timeoutMs: 60_000,
  });
  if (!seen.stdout.includes(event.oid!)) {
    throw new RemoteUnsuitableError(
      remote,
      `it accepted ${event.ref} but does not show it again (git ls-remote): it hides refs/coord/ ` +
        '(transfer.hideRefs or uploadpack.hideRefs); team mode needs those refs visible',
    );
  }
  if (!repo.config().has('coord.pushoptions')) {
    git(['config', '--file', join(repo.commonDir, 'config'), 'coord.pushOptions', String(pushOptions)], {
      cwd: repo.commonDir,
    });
  }
  return event.ref;
}
