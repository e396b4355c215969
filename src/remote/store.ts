import { faultPoint } from '../refs/fault.js';
import { git } from '../refs/git.js';
import { readRef } from '../refs/read.js';
import type { RefIdent } from '../refs/reflog.js';
import type { Repo } from '../refs/repo.js';
import {
  LocalRefStore,
  queueUpdates,
  type RefStore,
  type RefUpdate,
  type RetryPolicy,
  reflogTimeOfCurrent,
} from '../refs/store.js';
import { CasMismatchError, RefTransaction } from '../refs/transaction.js';
import {
  RemoteOutcomeUnknownError,
  RemoteRecordInvalidError,
  RemoteRejectedError,
  RemoteUnreachableError,
} from './errors.js';
import {
  fetchMirror,
  lastFetched,
  type MirrorReport,
  NO_PROMPT,
  stagedInvalid,
  stagingRef,
} from './mirror.js';
import { accepted, parsePorcelain } from './porcelain.js';

/** How long one `git push` may take before it is killed and its outcome re-read, in ms. */
const PUSH_TIMEOUT_MS = 60_000;

/**
 * The team-mode backend (DESIGN §7, §10): a git remote is the source of truth, the local
 * `refs/coord/*` its validated mirror (src/remote/mirror.ts).
 *
 * - {@link refresh}: fetch the remote's records unless this process already did and has not lost a
 *   race since, so every decision is taken on state read from the remote in the same command.
 * - {@link commit}: one `git push --porcelain --atomic --force-with-lease=<ref>:<expected oid>` for
 *   every changed ref (empty expected value = must not exist; `:<ref>` deletes), which receive-pack
 *   checks under its own ref locks: a real server-side CAS. The outcome is read from the flag column;
 *   a rejection is told apart from a lost race, and an unknown outcome (exit code disagreeing, a
 *   remote failure, a dropped connection) resolved, by fetching again: every write's oid is unique
 *   ({@link uniqueWrites}), so "our oid is there" means it landed. Won: staging and mirror move to
 *   the new oids with a local CAS.
 * - {@link observedAt}: when this clone first saw the mirror ref's current value (its reflog, on this
 *   host's clock), so expiry is judged by observed time, not by another machine's clock.
 */
export class RemoteRefStore implements RefStore {
  readonly name: string;
  readonly uniqueWrites = true;
  readonly networked = true;
  readonly retry: RetryPolicy = { budgetMs: 60_000, maxBackoffMs: 400 };
  private fresh = false;
  /** What the last fetch of this process found. */
  lastReport: MirrorReport | null = null;

  constructor(
    private readonly repo: Repo,
    readonly remote: string,
  ) {
    this.name = `remote ${remote}`;
  }

  async refresh(): Promise<void> {
    if (!this.fresh) await this.fetch();
  }

  /** Fetches unconditionally (see {@link fetchMirror}). */
  async fetch(namespaces?: readonly string[]): Promise<MirrorReport> {
    this.fresh = false;
    this.lastReport = await fetchMirror(this.repo, this.remote, { namespaces });
    this.fresh = true;
    return this.lastReport;
  }

  observedAt(ref: string): number | null {
    return reflogTimeOfCurrent(this.repo, ref);
  }

  async commit(updates: readonly RefUpdate[], ident: RefIdent): Promise<void> {
    const pushed = updates.filter((u) => u.oid !== u.expect);
    for (const u of updates) this.checkStaged(u);
    if (pushed.length === 0) return;
    faultPoint('remote-before-push');
    const res = git(
      [
        '-c',
        'push.gpgSign=false',
        // A lease worktree's own config may carry push.pushOption (coord-token for the server hook's
        // branch fencing); record pushes carry none (an empty value resets the list).
        '-c',
        'push.pushOption=',
        'push',
        '--porcelain',
        '--atomic',
        '--no-verify',
        '--no-follow-tags',
        '--no-recurse-submodules',
        ...pushed.map((u) => `--force-with-lease=${u.ref}:${u.expect ?? ''}`),
        '--',
        this.remote,
        ...pushed.map((u) => (u.oid === null ? `:${u.ref}` : `${u.oid}:${u.ref}`)),
      ],
      {
        cwd: this.repo.worktreeTop ?? this.repo.commonDir,
        allowFailure: true,
        env: NO_PROMPT,
        timeoutMs: PUSH_TIMEOUT_MS,
      },
    );
    faultPoint('remote-pushed');
    const lines = new Map(parsePorcelain(res.stdout).map((l) => [l.to, l]));
    const allAccepted = pushed.every((u) => {
      const l = lines.get(u.ref);
      return l !== undefined && accepted(l.flag);
    });
    if (res.status === 0 && allAccepted) {
      this.advance(pushed, ident);
      return;
    }
    // Rejected, failed or unknown: the remote itself says what happened.
    try {
      await this.fetch();
    } catch (err) {
      if (err instanceof RemoteUnreachableError && lines.size === 0) {
        throw new RemoteUnreachableError(this.remote, res.stderr, 'push the change');
      }
      throw new RemoteOutcomeUnknownError(this.remote, res.stderr);
    }
    const staged = pushed.map((u) => readRef(this.repo, stagingRef(this.remote, u.ref)));
    if (pushed.every((u, i) => staged[i] === u.oid)) return; // it landed (fetch moved the mirror)
    const moved = pushed.findIndex((u, i) => staged[i] !== u.expect);
    if (moved >= 0) {
      const u = pushed[moved]!;
      throw new CasMismatchError(u.ref, u.expect, staged[moved]!);
    }
    // Nothing moved: the remote refused it (a hook, a policy), or the push never got through.
    const refused = pushed.map((u) => lines.get(u.ref)).find((l) => l && !accepted(l.flag));
    if (refused) throw new RemoteRejectedError(this.remote, refused.to, refused.summary, res.stderr);
    throw new RemoteUnreachableError(this.remote, res.stderr, 'push the change');
  }

  /**
   * A write whose expected value is not what the remote held at the last fetch: the remote's record
   * there is invalid (quarantined), so nothing may act on it; else a concurrent fetch of this clone
   * moved things, which is a lost race.
   */
  private checkStaged(u: RefUpdate): void {
    const bad = stagedInvalid(this.repo, this.remote, u.ref);
    if (bad) {
      throw new RemoteRecordInvalidError(
        this.remote,
        u.ref,
        bad.oid,
        'failed validation when fetched',
        bad.quarantine,
      );
    }
  }

  /** After a won push: staging and mirror to the new values (a concurrent fetch may have done it). */
  private advance(pushed: readonly RefUpdate[], ident: RefIdent): void {
    const tx = new RefTransaction(this.repo);
    queueUpdates(
      tx,
      pushed.flatMap((u) => [u, { ...u, ref: stagingRef(this.remote, u.ref) }]),
    );
    try {
      tx.commit({ ident });
    } catch (err) {
      if (!(err instanceof CasMismatchError)) throw err;
      this.fresh = false; // someone else's fetch got there first; the next refresh settles it
    }
  }
}

/** How fresh the local mirror of the team remote is (reads are served from it). */
export interface MirrorStatus {
  /** The team remote (`coord.remote`). */
  remote: string;
  /** When this clone last fetched the remote's records (ISO 8601), or null if never. */
  fetchedAt: string | null;
  /** Seconds since then, or null if never. */
  ageSeconds: number | null;
}

/** The mirror's freshness in team mode, or `null` in local mode. */
export function mirrorStatus(repo: Repo, now: number = Date.now()): MirrorStatus | null {
  const remote = teamRemote(repo);
  if (!remote) return null;
  const at = lastFetched(repo, remote);
  return {
    remote,
    fetchedAt: at === null ? null : new Date(at).toISOString(),
    ageSeconds: at === null ? null : Math.max(0, Math.round((now - at) / 1000)),
  };
}

/** The remote of team mode (`git config coord.remote`), or `null` in local mode. */
export function teamRemote(repo: Repo): string | null {
  const r = repo.config().get('coord.remote');
  return r ? r : null;
}

/** The store records of `repo` live in: team mode when `coord.remote` is set, else local refs. */
export function openStore(repo: Repo): RefStore {
  const remote = teamRemote(repo);
  return remote ? new RemoteRefStore(repo, remote) : new LocalRefStore(repo);
}
