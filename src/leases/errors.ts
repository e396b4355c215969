import { CoordError, ExitCode } from '../errors.js';
import type { Attempt, Lease } from '../records/schemas.js';
import { describeAttempt } from './attempts.js';
import { describeStale, expiresAt, formatAge, type StaleReason } from './liveness.js';

/** Facts about a lease used in messages; `now` and `skewSeconds` for ages. */
export interface LeaseView {
  lease: Lease;
  stale: StaleReason | null;
  now: number;
  skewSeconds: number;
  /** When this clone observed the record (team mode), or null: see `expiresAt`. */
  observedAt?: number | null;
}

function where(lease: Lease): string {
  const parts: string[] = [];
  if (lease.worktree) parts.push(`worktree ${lease.worktree.path}`);
  if (lease.branch) parts.push(`branch ${lease.branch}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** `holder-id on host` with pid when known. */
export function describeHolder(lease: Lease): string {
  const h = lease.holder;
  return `${h.id} on ${h.host}${h.pid !== null ? ` (pid ${h.pid})` : ''}`;
}

/**
 * The lease is open and held by another holder (exit 3). Names holder, host, worktree, branch, since,
 * heartbeat age, and how to take it over once stale.
 */
export class LeaseHeldError extends CoordError {
  readonly lease: Lease;
  constructor(v: LeaseView) {
    const { lease, now } = v;
    const expires = expiresAt(lease, v.skewSeconds, v.observedAt);
    super(
      'lease-held',
      `lease ${lease.key} is held by ${describeHolder(lease)}${where(lease)} since ${lease.acquiredAt}, ` +
        `token ${lease.token}; last heartbeat ${formatAge(now - Date.parse(lease.renewedAt))} ago, ` +
        `stale in ${formatAge(expires - now)} unless renewed. Ask ${lease.holder.id} to release it, or once ` +
        `it is stale run \`git coord takeover ${lease.key}\` (now only with --force --reason "…").`,
      ExitCode.conflict,
    );
    this.lease = lease;
  }
}

/** The lease is held by another holder but stale or crashed: take it over explicitly (exit 3). */
export class LeaseStaleError extends CoordError {
  readonly lease: Lease;
  readonly stale: StaleReason | null;
  constructor(v: LeaseView, markedCrashed: boolean) {
    const { lease } = v;
    const why =
      lease.state === 'crashed'
        ? `crashed at ${lease.crashedAt}${lease.crashReason ? ` (${lease.crashReason})` : ''}`
        : `stale: ${describeStale(lease, v.stale ?? 'expired', v.skewSeconds, v.now)}`;
    super(
      'lease-stale',
      `lease ${lease.key} of ${describeHolder(lease)}${where(lease)} is ${why}` +
        `${markedCrashed ? '; marked it crashed' : ''}. Take it over with \`git coord takeover ${lease.key}\` ` +
        `or \`git coord claim ${lease.key} --takeover\`.`,
      ExitCode.conflict,
    );
    this.lease = lease;
    this.stale = v.stale;
  }
}

/** Who the caller is, for messages: the id and where it came from (`git config user.email`…). */
export interface CallerView {
  id: string;
  source?: string;
}

/** `id` as a shell word (quoted when it holds anything but `[A-Za-z0-9_.@+:-]`). */
function shellWord(id: string): string {
  return /^[\w.@+:-]+$/.test(id) ? id : `'${id.replace(/'/g, "'\\''")}'`;
}

/**
 * The caller may not write the lease (exit 3); nothing changed. Two cases, two codes:
 * - `lease-lost`: the caller held it and lost it: the token moved on (`--token N` no longer current,
 *   or the caller's own earlier token per the reflog), or it was closed or crashed meanwhile;
 * - `not-holder`: another holder has it and nothing says the caller ever did (typically the caller's
 *   identity differs from the one that claimed: a new shell without `$COORD_HOLDER`). The message
 *   says who the caller is and where that id came from, and how to be the holder instead.
 */
export class LeaseLostError extends CoordError {
  readonly lease: Lease;
  constructor(lease: Lease, verb: string, yourToken?: number, caller?: CallerView) {
    const state =
      lease.state === 'open'
        ? `held by ${describeHolder(lease)}`
        : `${lease.state}${lease.outcome ? ` (${lease.outcome})` : ''}, last held by ${describeHolder(lease)}`;
    const notHolder = caller !== undefined && yourToken === undefined && caller.id !== lease.holder.id;
    if (notHolder) {
      const you = `${caller.id}${caller.source ? ` (from ${caller.source})` : ''}`;
      const holder = shellWord(lease.holder.id);
      super(
        'not-holder',
        `lease ${lease.key} is ${state} (token ${lease.token}), not by you: you are ${you}. Nothing was ${verb}. ` +
          `If you are ${lease.holder.id}, set COORD_HOLDER=${holder} or pass --holder ${holder}; ` +
          `\`git coord show ${lease.key}\` shows the lease.`,
        ExitCode.conflict,
      );
    } else {
      const tokenNote =
        yourToken !== undefined && yourToken !== lease.token ? ` (you had token ${yourToken})` : '';
      super(
        'lease-lost',
        `you lost the lease ${lease.key}: token is now ${lease.token}${tokenNote}, ${state}. ` +
          `Nothing was ${verb}. Stop writing to its branch; \`git coord show ${lease.key}\` shows it.`,
        ExitCode.conflict,
      );
    }
    this.lease = lease;
  }
}

/** There is no lease under that key (exit 1). */
export class LeaseNotFoundError extends CoordError {
  readonly key: string;
  constructor(key: string) {
    super(
      'no-lease',
      `no lease ${key} (refs/coord/leases/${key} does not exist). \`git coord list\` shows the leases; ` +
        `\`git coord claim ${key}\` creates it.`,
    );
    this.key = key;
  }
}

/** Another lease holds the branch (exit 3). */
export class BranchHeldError extends CoordError {
  readonly branch: string;
  readonly owner: Lease;
  constructor(branch: string, owner: Lease) {
    super(
      'branch-held',
      `branch ${branch} is held by lease ${owner.key} (${describeHolder(owner)}, ${owner.state}, since ` +
        `${owner.acquiredAt}). Use another branch (--branch), or finish or clear lease ${owner.key} first.`,
      ExitCode.conflict,
    );
    this.branch = branch;
    this.owner = owner;
  }
}

/** Another lease owns the worktree (exit 3). */
export class WorktreeHeldError extends CoordError {
  readonly path: string;
  readonly owner: Lease;
  constructor(path: string, owner: Lease) {
    super(
      'worktree-held',
      `worktree ${path} is owned by lease ${owner.key} (${describeHolder(owner)}, ${owner.state}). ` +
        'Use another path (--worktree), or finish or clear that lease first.',
      ExitCode.conflict,
    );
    this.path = path;
    this.owner = owner;
  }
}

/** A refused state change: not stale for takeover, open for clear, closed for takeover (exit 3). */
export class LeaseStateError extends CoordError {
  constructor(code: string, message: string) {
    super(code, message, ExitCode.conflict);
  }
}

/** The worktree cannot be provisioned: unknown directory at the path, branch checked out elsewhere (exit 1). */
export class WorktreeError extends CoordError {
  constructor(code: string, message: string) {
    super(code, message, ExitCode.error);
  }
}

/** `--max-attempts N`: the key has had N runs already (exit 4). Nothing was run or changed. */
export class AttemptBudgetError extends CoordError {
  readonly attempts: Attempt[];
  constructor(key: string, max: number, attempts: Attempt[]) {
    const shown = attempts.slice(-max);
    super(
      'attempts-exhausted',
      `lease ${key} has used ${attempts.at(-1)?.number ?? 0} of ${max} attempt${max === 1 ? '' : 's'}; not running it again.\n` +
        shown.map((a) => `  ${describeAttempt(a)}`).join('\n') +
        `\nRaise --max-attempts, or look at why it fails: \`git coord show ${key}\`.`,
      ExitCode.refused,
    );
    this.attempts = attempts;
  }
}

/** The caller's own lease is being run right now by another live runner process (exit 3). */
export class RunInProgressError extends CoordError {
  readonly attempt: Attempt;
  constructor(key: string, attempt: Attempt) {
    super(
      'run-in-progress',
      `lease ${key} is already being run: ${describeAttempt(attempt)}, runner pid ${attempt.pid}. ` +
        'Wait for it to end, or stop that runner (it closes the lease as aborted).',
      ExitCode.conflict,
    );
    this.attempt = attempt;
  }
}

/**
 * `git coord merge` found conflicts (exit 4): the target branch is unchanged, the lease's branch and
 * worktree are kept. `paths` are the conflicting paths.
 */
export class MergeConflictError extends CoordError {
  readonly paths: string[];
  constructor(message: string, paths: string[]) {
    super('merge-conflict', message, ExitCode.refused);
    this.paths = paths;
  }
}

/**
 * `git coord merge` refused before changing anything (exit 4): the lease is not done, `--ff-only`
 * cannot fast-forward, the target's checkout has uncommitted changes, the branch moved after `done`.
 */
export class MergeRefusedError extends CoordError {
  constructor(code: string, message: string) {
    super(code, message, ExitCode.refused);
  }
}
