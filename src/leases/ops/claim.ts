import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findCoordLocks } from '../../doctor/locks.js';
import { UsageError } from '../../errors.js';
import type { AuditEvent, Holder, Lease, WorktreeRef } from '../../records/schemas.js';
import type { StoredRecord } from '../../records/store.js';
import { git } from '../../refs/git.js';
import { LockTimeoutError } from '../../refs/lock.js';
import { assertBranch, assertKey } from '../../refs/names.js';
import { readLoose } from '../../refs/read.js';
import { worktreeId } from '../../refs/repo.js';
import { type LeaseContext, mainHead, mainTopOf, observedOf, staleOf } from '../context.js';
import { describeHolder, LeaseHeldError, LeaseStaleError, WorktreeError } from '../errors.js';
import { describeStale, type StaleReason } from '../liveness.js';
import { acquireLease, branchForKey, crashLease, renewLease, takeOverLease } from '../model.js';
import { ProvisionLock } from '../provision-lock.js';
import { writePushOptions } from '../push-options.js';
import { readLease } from '../state.js';
import {
  ensureExcluded,
  ensureWorktree,
  insideOf,
  type ProvisionResult,
  provideWorktreeHooks,
  realish,
  rollbackWorktree,
} from '../worktree.js';
import { transact } from '../write.js';
import { auditEvent, indexWrites, takeoverReason, writeLease } from './write-lease.js';

/** Options of {@link claim}. */
export interface ClaimOptions {
  key: string;
  /** The caller (see `resolveHolder`). */
  holder: Holder;
  /** `--branch`; default: the branch of an earlier tenure, else `worktrees.branch` with `{key}`. */
  branch?: string;
  /** `--base`: a commit-ish to start a new branch from; default the main worktree's HEAD. */
  base?: string;
  /**
   * `--worktree PATH` (relative to `cwd`), `false` for `--no-worktree`, `undefined` for the default
   * `<main worktree>/<worktrees.dir>/<key>`.
   */
  worktree?: string | false;
  /** Directory relative paths are resolved against (default `process.cwd()`). */
  cwd?: string;
  /** `--ttl` in seconds; default `leases.ttl`. */
  ttlSeconds?: number;
  /** `--note`. */
  note?: string | null;
  /** `--takeover`: take a stale or crashed lease of another holder over instead of refusing. */
  takeover?: boolean;
  /** Reason recorded in the takeover audit event. */
  reason?: string;
  /**
   * `--allow-shared-branch`: hold a branch others commit on (one in `protect`, or the one checked out
   * in the main worktree); without it such a claim is refused ({@link assertNotShared}).
   */
  allowSharedBranch?: boolean;
  /** How long to wait for another claim's worktree provisioning (ms). */
  provisionTimeoutMs?: number;
}

/** What {@link claim} did. */
export interface ClaimResult {
  lease: Lease;
  /** `acquired`: a new tenure; `reentered`: the caller already held it (same token, renewed); `took-over`. */
  action: 'acquired' | 'reentered' | 'took-over';
  /** The worktree provisioning, or `null` when none was asked for or it was re-entry. */
  provision: ProvisionResult | null;
  warnings: string[];
}

type Decision = { kind: 'acquire' } | { kind: 'reenter' } | { kind: 'takeover'; stale: StaleReason | null };

/** What a claim by `me` does with the current lease; throws the conflicts. */
function decideClaim(
  ctx: LeaseContext,
  cur: Lease | null,
  me: string,
  takeover: boolean,
): Decision | { kind: 'refuse'; error: LeaseHeldError | LeaseStaleError; markCrashed: StaleReason | null } {
  if (!cur || cur.state === 'closed') return { kind: 'acquire' };
  if (cur.holder.id === me) return cur.state === 'open' ? { kind: 'reenter' } : { kind: 'acquire' };
  const now = ctx.now().getTime();
  const stale = staleOf(ctx, cur, now);
  const view = {
    lease: cur,
    stale,
    now,
    skewSeconds: ctx.config.skewSeconds,
    observedAt: observedOf(ctx, cur),
  };
  if (cur.state === 'open' && !stale)
    return { kind: 'refuse', error: new LeaseHeldError(view), markCrashed: null };
  if (takeover) return { kind: 'takeover', stale };
  const dead = stale === 'holder-dead' || stale === 'pid-reused' ? stale : null;
  return { kind: 'refuse', error: new LeaseStaleError(view, dead !== null), markCrashed: dead };
}

/**
 * Acquires lease `key` for `opts.holder` (DESIGN §2):
 * - no lease, or a closed one (or the caller's own crashed one): a new tenure, token +1, transitions
 *   +1 when the holder changes, in one transaction with the branch-index and worktree refs;
 * - open and held by the caller: idempotent re-entry: same token, same worktree, renewed;
 * - open and held by another, live: LeaseHeldError (exit 3);
 * - another holder's stale or crashed lease: LeaseStaleError (exit 3) suggesting takeover, unless
 *   `takeover` is set; a lease whose holder process is gone is marked `crashed` on the way;
 * - the branch or worktree owned by another lease: BranchHeldError / WorktreeHeldError (exit 3).
 *
 * Worktrees: `git worktree add -b B PATH BASE` runs before the transaction, under the provisioning
 * lock; if the transaction fails or loses the race the worktree (and the branch, if created) are
 * removed again. A registered worktree for this key is reused; an unknown directory at the path is
 * refused; a leftover branch without a lease is adopted (`git worktree add PATH B`, its commits kept).
 * Then the worktree gets the lease's push options when wanted (src/leases/push-options.ts).
 */
export async function claim(ctx: LeaseContext, opts: ClaimOptions): Promise<ClaimResult> {
  const result = await acquire(ctx, opts);
  const warning = writePushOptions(ctx, result.lease);
  if (warning) result.warnings.push(warning);
  return result;
}

/** The claim itself, without the push options. */
async function acquire(ctx: LeaseContext, opts: ClaimOptions): Promise<ClaimResult> {
  const { repo, config } = ctx;
  assertKey(opts.key);
  if (opts.branch !== undefined) {
    assertBranch(opts.branch);
    assertNotShared(ctx, opts.branch, opts);
  }
  const ttlSeconds = opts.ttlSeconds ?? config.ttlSeconds;
  const baseRef = opts.base !== undefined ? resolveCommit(ctx, opts.base, opts.cwd) : null;
  const warnings: string[] = [];

  // A first look without any lock: the common conflicts end here, before anything touches the disk.
  await ctx.store.refresh();
  const first = await readLease(repo, opts.key);
  const d0 = await settle(ctx, opts, first);
  if ((d0.kind === 'reenter' && !worktreeGone(ctx, opts, first?.record)) || opts.worktree === false) {
    return transact(ctx, () => claimAttempt(ctx, opts, ttlSeconds, baseRef, null, warnings));
  }

  const lock = ProvisionLock.acquire(repo, ctx.host, opts.provisionTimeoutMs, ctx.probe);
  if (lock.broke) {
    warnings.push(
      `removed the claim lock left by ${lock.broke}: a claim crashed while provisioning a worktree; ` +
        '`git worktree list` shows what it left (claiming its key again reuses that worktree)',
    );
  }
  let provision: ProvisionResult | null = null;
  let branch = '';
  try {
    const cur = await readLease(repo, opts.key);
    const d = await settle(ctx, opts, cur);
    const recreate = d.kind === 'reenter' && worktreeGone(ctx, opts, cur?.record);
    if (d.kind === 'reenter' && !recreate)
      return await transact(ctx, () => claimAttempt(ctx, opts, ttlSeconds, baseRef, null, warnings));
    const prev = cur?.record ?? null;
    branch = opts.branch ?? prev?.branch ?? branchForKey(config.branchPattern, opts.key);
    assertBranch(branch);
    assertNotShared(ctx, branch, opts);
    const mainTop = mainTopOf(repo);
    const path = worktreePath(ctx, opts, prev, mainTop, warnings);
    // Conflicts on the branch or the worktree are found before `git worktree add`.
    await indexWrites(
      ctx,
      opts.key,
      prev,
      recreate && prev
        ? { ...prev, worktree: worktreeRefFor(ctx, realish(path)) }
        : draft(ctx, opts, prev, branch, worktreeRefFor(ctx, realish(path))),
    );
    const base = baseRef ?? mainHead(repo);
    if (!base) {
      throw new WorktreeError(
        'no-base',
        'the main worktree has no commit to start the branch from; commit something first or pass --base REF',
      );
    }
    provision = ensureWorktree({
      repo,
      mainTop,
      path,
      branch,
      base,
      link: config.link,
      holder: opts.holder.id,
      takingOver: d.kind === 'takeover',
    });
    warnings.push(...provision.warnings);
    if (provision.created) provideWorktreeHooks(repo, mainTop, provision.path);
    if (mainTop) {
      const rel = insideOf(mainTop, provision.path);
      const dirRel = insideOf(mainTop, join(mainTop, config.worktreeDir));
      if (rel)
        ensureExcluded(
          repo,
          dirRel && insideOf(join(mainTop, config.worktreeDir), provision.path) ? dirRel : rel,
        );
    }
    const made = provision;
    return await transact(ctx, () =>
      claimAttempt(ctx, opts, ttlSeconds, baseRef ?? base, made, warnings, branch, recreate),
    );
  } catch (err) {
    if (lock.broke && err instanceof LockTimeoutError) {
      // The crashed claim whose lock was broken may have left ref locks too (they name no owner).
      const others = findCoordLocks(repo)
        .map((l) => l.path)
        .filter((p) => p !== err.lockPath);
      if (others.length)
        err.message += ` The crashed claim may also have left these; remove them too if no git command is running: rm ${others.join(' ')}`;
    }
    if (provision) {
      const problems = rollbackWorktree(repo, mainTopOf(repo), provision, branch, opts.holder.id);
      // The caller only sees the error: it carries what could not be undone.
      if (problems.length && err instanceof Error)
        err.message += ` (rollback incomplete: ${problems.join('; ')})`;
    }
    throw err;
  } finally {
    lock.release();
  }
}

/** Decides; on refusal marks a dead holder's lease crashed (best effort) and throws. */
async function settle(
  ctx: LeaseContext,
  opts: ClaimOptions,
  cur: StoredRecord<Lease> | null,
): Promise<Decision> {
  const d = decideClaim(ctx, cur?.record ?? null, opts.holder.id, opts.takeover ?? false);
  if (d.kind !== 'refuse') return d;
  if (d.markCrashed && cur) {
    const reason = `${describeStale(cur.record, d.markCrashed, ctx.config.skewSeconds, ctx.now().getTime())}; noticed by ${opts.holder.id}`;
    try {
      const next = crashLease(cur.record, reason, ctx.now());
      await writeLease(
        ctx,
        'crash',
        opts.holder.id,
        cur,
        next,
        auditEvent(ctx, 'crash', next, opts.holder.id, {
          reason,
          previousHolder: cur.record.holder.id,
          token: next.token,
        }),
      );
    } catch {
      // Someone else changed it first; the refusal below still holds for what we saw.
    }
  }
  throw d.error;
}

/** A draft of the acquired lease, for conflict checks before provisioning. */
function draft(
  ctx: LeaseContext,
  opts: ClaimOptions,
  prev: Lease | null,
  branch: string,
  wt: WorktreeRef,
): Lease {
  return acquireLease(prev, {
    key: opts.key,
    holder: opts.holder,
    branch,
    baseRef: null,
    worktree: wt,
    ttlSeconds: 1,
    note: null,
    now: ctx.now(),
  });
}

function worktreeRefFor(ctx: LeaseContext, realPath: string): WorktreeRef {
  return { id: worktreeId(realPath, ctx.host), path: realPath, host: ctx.host };
}

/**
 * True when `cur` is the caller's own open lease whose worktree on this host is gone, and this claim
 * asks for a worktree (not `--no-worktree`): the claim provisions it again instead of only renewing.
 */
function worktreeGone(ctx: LeaseContext, opts: ClaimOptions, cur: Lease | null | undefined): boolean {
  const wt = cur?.worktree;
  return (
    opts.worktree !== false &&
    cur?.state === 'open' &&
    cur.holder.id === opts.holder.id &&
    !!wt &&
    wt.host === ctx.host &&
    !existsSync(wt.path)
  );
}

/**
 * Where the worktree goes: this command's `--worktree` (relative to `cwd`); else the earlier tenure's
 * worktree on this host, but only when it lies inside the configured worktrees directory (a recorded
 * path is not trusted: a record written elsewhere must not make a claim create a worktree in `/etc`;
 * a path outside is ignored with a warning); else `<main top>/<worktrees.dir>/<key>`.
 */
function worktreePath(
  ctx: LeaseContext,
  opts: ClaimOptions,
  prev: Lease | null,
  mainTop: string | null,
  warnings: string[],
): string {
  if (typeof opts.worktree === 'string') return resolve(opts.cwd ?? process.cwd(), opts.worktree);
  if (prev?.worktree && prev.worktree.host === ctx.host) {
    const dir = mainTop ? realish(join(mainTop, ctx.config.worktreeDir)) : null;
    if (dir && insideOf(dir, realish(prev.worktree.path))) return prev.worktree.path;
    warnings.push(
      `lease ${opts.key} recorded the worktree ${prev.worktree.path}, outside the worktrees directory ` +
        `${dir ?? ctx.config.worktreeDir}; not used (pass --worktree PATH to choose a place outside it)`,
    );
  }
  if (!mainTop) {
    throw new UsageError(
      'this repository has no main worktree (bare): pass --worktree PATH or --no-worktree',
      'no-main-worktree',
    );
  }
  return join(mainTop, ctx.config.worktreeDir, opts.key);
}

/**
 * A lease on a branch refuses every other holder's commits there (pre-commit, reference-transaction).
 * On a branch everyone shares — one listed in `protect`, or the main worktree's checked-out branch —
 * that silently blocks the whole team, so it takes `--allow-shared-branch`.
 *
 * @throws UsageError `shared-branch` (exit 2) naming why the branch is shared and the flag.
 */
function assertNotShared(ctx: LeaseContext, branch: string, opts: ClaimOptions): void {
  if (opts.allowSharedBranch) return;
  const why = ctx.config.protect.includes(branch)
    ? `is protected (\`protect\` in .coord/config.json)`
    : mainWorktreeBranch(ctx) === branch
      ? 'is the branch checked out in the main worktree'
      : null;
  if (!why) return;
  throw new UsageError(
    `branch ${branch} ${why}: a lease on it would refuse everyone else's commits there. ` +
      `Work on a branch of your own (e.g. --branch ${branchForKey(ctx.config.branchPattern, opts.key)}), ` +
      `or pass --allow-shared-branch to hold ${branch} anyway.`,
    'shared-branch',
  );
}

/** The branch the main worktree has checked out (the common dir's HEAD), or null (detached, bare). */
function mainWorktreeBranch(ctx: LeaseContext): string | null {
  if (ctx.repo.isBare) return null;
  const head = readLoose(ctx.repo.commonDir, 'HEAD');
  return head && 'symref' in head && head.symref.startsWith('refs/heads/')
    ? head.symref.slice('refs/heads/'.length)
    : null;
}

/** Resolves a commit-ish to an oid. @throws UsageError `invalid-base` */
function resolveCommit(ctx: LeaseContext, rev: string, cwd?: string): string {
  if (rev.startsWith('-')) throw new UsageError(`invalid --base ${JSON.stringify(rev)}`, 'invalid-base');
  const res = git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], {
    cwd: ctx.repo.worktreeTop ?? cwd ?? ctx.repo.commonDir,
    allowFailure: true,
  });
  if (res.status !== 0)
    throw new UsageError(`--base ${JSON.stringify(rev)} is not a commit here`, 'invalid-base');
  return res.stdout.trim();
}

/** One read-decide-write round of a claim. */
async function claimAttempt(
  ctx: LeaseContext,
  opts: ClaimOptions,
  ttlSeconds: number,
  baseRef: string | null,
  provision: ProvisionResult | null,
  warnings: string[],
  branch?: string,
  /** The caller's own lease lost its worktree and `provision` made it again ({@link worktreeGone}). */
  recreate = false,
): Promise<ClaimResult> {
  const now = ctx.now();
  const cur = await readLease(ctx.repo, opts.key);
  const d = await settle(ctx, opts, cur);
  const prev = cur?.record ?? null;
  if (d.kind === 'reenter') {
    const lease = prev!;
    if (opts.branch !== undefined && opts.branch !== lease.branch) {
      throw new UsageError(
        `you already hold lease ${opts.key} on branch ${lease.branch ?? '(none)'}; release it before claiming it with --branch ${opts.branch}`,
        'claim-mismatch',
      );
    }
    const recreated = recreate && provision?.created === true;
    if (provision?.created && !recreated) {
      // We provisioned while another process of the same holder acquired it: give ours back.
      throw new WorktreeError(
        'claim-raced',
        `lease ${opts.key} was acquired meanwhile by ${describeHolder(lease)}`,
      );
    }
    let next = renewLease(lease, now, {
      ttlSeconds: opts.ttlSeconds,
      holder: opts.holder,
      note: opts.note,
    });
    if (recreated && provision) next = { ...next, worktree: worktreeRefFor(ctx, provision.path) };
    await writeLease(ctx, 'claim', opts.holder.id, cur, next);
    return { lease: next, action: 'reentered', provision: recreated ? provision : null, warnings };
  }
  const worktree = provision ? worktreeRefFor(ctx, provision.path) : null;
  let next: Lease;
  let audit: Omit<AuditEvent, 'schema'> | undefined;
  if (d.kind === 'takeover' && prev) {
    next = takeOverLease(prev, opts.holder, now, ttlSeconds);
    if (opts.worktree === false)
      next = { ...next, worktree: prev.worktree?.host === ctx.host ? prev.worktree : null };
    else if (worktree) next = { ...next, worktree, branch: branch ?? next.branch };
    if (opts.note !== undefined) next = { ...next, note: opts.note };
    audit = auditEvent(ctx, 'takeover', next, opts.holder.id, {
      reason: opts.reason ?? takeoverReason(ctx, prev, d.stale, now.getTime()),
      previousHolder: prev.holder.id,
      token: next.token,
    });
  } else {
    next = acquireLease(prev, {
      key: opts.key,
      holder: opts.holder,
      branch: branch ?? opts.branch ?? null,
      baseRef: baseRef ?? (provision ? null : mainHeadOrNull(ctx)),
      worktree,
      ttlSeconds,
      note: opts.note ?? null,
      now,
    });
  }
  await writeLease(ctx, d.kind === 'takeover' ? 'takeover' : 'claim', opts.holder.id, cur, next, audit);
  return { lease: next, action: d.kind === 'takeover' ? 'took-over' : 'acquired', provision, warnings };
}

function mainHeadOrNull(ctx: LeaseContext): string | null {
  try {
    return mainHead(ctx.repo);
  } catch {
    return null;
  }
}
