import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { optimistic } from '../records/optimistic.js';
import {
  type AuditEvent,
  BranchIndexType,
  type GateResult,
  type Holder,
  type Lease,
  LeaseType,
  type WorktreeRef,
  WorktreeType,
} from '../records/schemas.js';
import { CorruptRecordError, type StoredRecord, writeRecord } from '../records/store.js';
import { git } from '../refs/git.js';
import { assertBranch, assertKey } from '../refs/names.js';
import { worktreeId } from '../refs/repo.js';
import { type LeaseContext, mainHead, mainTopOf, staleOf } from './context.js';
import {
  BranchHeldError,
  describeHolder,
  LeaseHeldError,
  LeaseLostError,
  LeaseNotFoundError,
  LeaseStaleError,
  LeaseStateError,
  WorktreeError,
  WorktreeHeldError,
} from './errors.js';
import { describeStale, expiresAt, formatAge, type StaleReason } from './liveness.js';
import {
  acquireLease,
  branchForKey,
  branchIndexFor,
  branchIndexRef,
  closeLease,
  crashLease,
  holdsIndex,
  leaseRef,
  renewLease,
  takeOverLease,
  worktreeIndexRef,
  worktreeRecordFor,
} from './model.js';
import { ProvisionLock } from './provision-lock.js';
import { readBranchIndex, readLease, readWorktreeIndex } from './state.js';
import {
  dirtyEntries,
  ensureExcluded,
  ensureWorktree,
  insideOf,
  type ProvisionResult,
  realish,
  removeWorktree,
  rollbackWorktree,
} from './worktree.js';
import { commitWrites, type RefWrite } from './write.js';

/**
 * The lease operations (DESIGN §2, §4). Each write is `optimistic(read lease + index refs → compute
 * the next records with the pure functions of model.ts → write blobs → one CAS transaction)`, so a
 * concurrent writer makes the loser re-read and re-decide, never overwrite.
 *
 * Which commands mark a lease with a dead holder `crashed`: `claim` by another holder (before it
 * refuses with "take it over") and `crash`. `takeover` turns a stale lease straight into the new
 * holder's. The read commands (`list`, `show`, `status`) never write.
 */

// ---------------------------------------------------------------------------------------------------
// Index entries (branch and worktree refs) derived from a lease

/**
 * The ref writes that move the branch and worktree index from what `prev` implied to what `next`
 * implies (`next` null = the lease is deleted). An entry owned by another key whose lease still holds
 * it is a conflict (BranchHeldError / WorktreeHeldError); one whose owner is closed, gone or points
 * elsewhere is stale and overwritten. Entries of other keys are never deleted.
 */
async function indexWrites(
  ctx: LeaseContext,
  key: string,
  prev: Lease | null,
  next: Lease | null,
): Promise<RefWrite[]> {
  const { repo } = ctx;
  const wantBranch = next ? branchIndexFor(next) : null;
  const wantWt = next ? worktreeRecordFor(next) : null;
  const writes: RefWrite[] = [];

  const branches = new Set<string>();
  if (wantBranch) branches.add(wantBranch.branch);
  if (prev?.branch && holdsIndex(prev)) branches.add(prev.branch);
  for (const branch of branches) {
    const entry = await readBranchIndex(repo, branch);
    const ref = branchIndexRef(branch);
    if (wantBranch && wantBranch.branch === branch) {
      if (entry?.record && entry.record.key !== key) {
        const owner = await ownerHolding(ctx, entry.record.key, (l) => l.branch === branch);
        if (owner) throw new BranchHeldError(branch, owner);
      }
      writes.push({ ref, oid: writeRecord(repo, BranchIndexType, wantBranch), expect: entry?.oid ?? null });
    } else if (entry?.record?.key === key) {
      writes.push({ ref, oid: null, expect: entry.oid });
    }
  }

  const wts = new Set<string>();
  if (wantWt) wts.add(wantWt.id);
  if (prev?.worktree && holdsIndex(prev)) wts.add(prev.worktree.id);
  for (const id of wts) {
    const entry = await readWorktreeIndex(repo, id);
    const ref = worktreeIndexRef(id);
    if (wantWt && wantWt.id === id) {
      if (entry?.record && entry.record.key !== key) {
        const owner = await ownerHolding(ctx, entry.record.key, (l) => l.worktree?.id === id);
        if (owner) throw new WorktreeHeldError(wantWt.path, owner);
      }
      writes.push({ ref, oid: writeRecord(repo, WorktreeType, wantWt), expect: entry?.oid ?? null });
    } else if (entry?.record?.key === key) {
      writes.push({ ref, oid: null, expect: entry.oid });
    }
  }
  return writes;
}

/** The lease `key` when it exists, still holds its index and `names` the entry; else `null`. */
async function ownerHolding(
  ctx: LeaseContext,
  key: string,
  names: (l: Lease) => boolean,
): Promise<Lease | null> {
  let owner: StoredRecord<Lease> | null;
  try {
    owner = await readLease(ctx.repo, key);
  } catch (err) {
    if (err instanceof CorruptRecordError) return null;
    throw err;
  }
  return owner && holdsIndex(owner.record) && names(owner.record) ? owner.record : null;
}

/** Writes the lease blob and commits it with its index changes and optional audit event. */
async function writeLease(
  ctx: LeaseContext,
  verb: string,
  by: string,
  cur: StoredRecord<Lease> | null,
  next: Lease,
  audit?: Omit<AuditEvent, 'schema'>,
): Promise<Lease> {
  const writes = await indexWrites(ctx, next.key, cur?.record ?? null, next);
  writes.unshift({
    ref: leaseRef(next.key),
    oid: writeRecord(ctx.repo, LeaseType, next),
    expect: cur?.oid ?? null,
  });
  commitWrites(ctx.repo, writes, { verb, key: next.key, by, token: next.token, audit });
  return next;
}

async function mustRead(ctx: LeaseContext, key: string): Promise<StoredRecord<Lease>> {
  assertKey(key);
  const cur = await readLease(ctx.repo, key);
  if (!cur) throw new LeaseNotFoundError(key);
  return cur;
}

function auditEvent(
  ctx: LeaseContext,
  action: AuditEvent['action'],
  lease: Lease,
  by: string,
  fields: Partial<Pick<AuditEvent, 'reason' | 'previousHolder' | 'token' | 'commit' | 'missing'>>,
): Omit<AuditEvent, 'schema'> {
  return {
    action,
    key: lease.key,
    ref: leaseRef(lease.key),
    at: ctx.now().toISOString(),
    by: { id: by, host: ctx.host },
    reason: fields.reason ?? null,
    previousHolder: fields.previousHolder ?? null,
    token: fields.token ?? null,
    commit: fields.commit ?? null,
    missing: fields.missing ?? [],
  };
}

// ---------------------------------------------------------------------------------------------------
// claim

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
  const view = { lease: cur, stale, now, skewSeconds: ctx.config.skewSeconds };
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
 */
export async function claim(ctx: LeaseContext, opts: ClaimOptions): Promise<ClaimResult> {
  const { repo, config } = ctx;
  assertKey(opts.key);
  if (opts.branch !== undefined) assertBranch(opts.branch);
  const ttlSeconds = opts.ttlSeconds ?? config.ttlSeconds;
  const baseRef = opts.base !== undefined ? resolveCommit(ctx, opts.base, opts.cwd) : null;
  const warnings: string[] = [];

  // A first look without any lock: the common conflicts end here, before anything touches the disk.
  const first = await readLease(repo, opts.key);
  const d0 = await settle(ctx, opts, first);
  if (d0.kind === 'reenter' || opts.worktree === false) {
    return optimistic(() => claimAttempt(ctx, opts, ttlSeconds, baseRef, null, warnings));
  }

  const lock = ProvisionLock.acquire(repo, ctx.host, opts.provisionTimeoutMs);
  let provision: ProvisionResult | null = null;
  let branch = '';
  try {
    const cur = await readLease(repo, opts.key);
    const d = await settle(ctx, opts, cur);
    if (d.kind === 'reenter')
      return await optimistic(() => claimAttempt(ctx, opts, ttlSeconds, baseRef, null, warnings));
    const prev = cur?.record ?? null;
    branch = opts.branch ?? prev?.branch ?? branchForKey(config.branchPattern, opts.key);
    assertBranch(branch);
    const mainTop = mainTopOf(repo);
    const path = worktreePath(ctx, opts, prev, mainTop);
    // Conflicts on the branch or the worktree are found before `git worktree add`.
    await indexWrites(
      ctx,
      opts.key,
      prev,
      draft(ctx, opts, prev, branch, worktreeRefFor(ctx, realish(path))),
    );
    const base = baseRef ?? mainHead(repo);
    if (!base) {
      throw new WorktreeError(
        'no-base',
        'the main worktree has no commit to start the branch from; commit something first or pass --base REF',
      );
    }
    provision = ensureWorktree({ repo, mainTop, path, branch, base, link: config.link });
    warnings.push(...provision.warnings);
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
    return await optimistic(() =>
      claimAttempt(ctx, opts, ttlSeconds, baseRef ?? base, made, warnings, branch),
    );
  } catch (err) {
    if (provision) {
      const problems = rollbackWorktree(repo, mainTopOf(repo), provision, branch);
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

/** `--worktree`, else the earlier tenure's worktree on this host, else `<main top>/<worktrees.dir>/<key>`. */
function worktreePath(
  ctx: LeaseContext,
  opts: ClaimOptions,
  prev: Lease | null,
  mainTop: string | null,
): string {
  if (typeof opts.worktree === 'string') return resolve(opts.cwd ?? process.cwd(), opts.worktree);
  if (prev?.worktree && prev.worktree.host === ctx.host) return prev.worktree.path;
  if (!mainTop) {
    throw new UsageError(
      'this repository has no main worktree (bare): pass --worktree PATH or --no-worktree',
      'no-main-worktree',
    );
  }
  return join(mainTop, ctx.config.worktreeDir, opts.key);
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
    if (provision?.created) {
      // We provisioned while another process of the same holder acquired it: give ours back.
      throw new WorktreeError(
        'claim-raced',
        `lease ${opts.key} was acquired meanwhile by ${describeHolder(lease)}`,
      );
    }
    const wt = lease.worktree;
    if (wt && wt.host === ctx.host && !existsSync(wt.path)) {
      warnings.push(
        `the worktree ${wt.path} of lease ${opts.key} is gone; release the lease and claim it again to provision a new one`,
      );
    }
    const next = renewLease(lease, now, {
      ttlSeconds: opts.ttlSeconds,
      holder: opts.holder,
      note: opts.note,
    });
    await writeLease(ctx, 'claim', opts.holder.id, cur, next);
    return { lease: next, action: 'reentered', provision: null, warnings };
  }
  const worktree = provision ? worktreeRefFor(ctx, provision.path) : null;
  let next: Lease;
  let audit: Omit<AuditEvent, 'schema'> | undefined;
  if (d.kind === 'takeover' && prev) {
    next = takeOverLease(prev, opts.holder, now, ttlSeconds);
    if (opts.worktree === false) next = { ...next, worktree: prev.worktree };
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

function takeoverReason(ctx: LeaseContext, prev: Lease, stale: StaleReason | null, now: number): string {
  if (prev.state === 'crashed') return `crashed${prev.crashReason ? `: ${prev.crashReason}` : ''}`;
  if (stale) return `stale: ${describeStale(prev, stale, ctx.config.skewSeconds, now)}`;
  return 'forced';
}

// ---------------------------------------------------------------------------------------------------
// renew, release, done, crash

/** Options of {@link renew}. */
export interface RenewOptions {
  key: string;
  /** Holder id of the caller. */
  holder: string;
  /** `--token N`: renew only while the token is still N. */
  token?: number;
  ttlSeconds?: number;
  /** A new holder record (e.g. with a new `--pid`); its id must be `holder`. */
  holderRecord?: Holder;
  note?: string | null;
}

/** The caller must hold the open lease (with `token`, that exact token); else LeaseLostError. */
function assertHolder(cur: Lease, me: string, verb: string, token?: number): void {
  if (cur.state !== 'open' || cur.holder.id !== me || (token !== undefined && token !== cur.token)) {
    if (cur.holder.id === me && cur.state === 'closed' && token === undefined) {
      throw new LeaseStateError(
        'not-open',
        `lease ${cur.key} is already closed (${cur.outcome} at ${cur.closedAt}); nothing was ${verb}. ` +
          `\`git coord claim ${cur.key}\` starts a new tenure.`,
      );
    }
    throw new LeaseLostError(cur, verb, token);
  }
}

/**
 * Heartbeat: `renewedAt` = now. Only the holder of the open lease (and, with `token`, only that
 * token). Never resurrects a lease that was taken over, closed or crashed (LeaseLostError, exit 3).
 */
export async function renew(ctx: LeaseContext, opts: RenewOptions): Promise<Lease> {
  return optimistic(async () => {
    const cur = await mustRead(ctx, opts.key);
    assertHolder(cur.record, opts.holder, 'renewed', opts.token);
    const next = renewLease(cur.record, ctx.now(), {
      ttlSeconds: opts.ttlSeconds,
      holder: opts.holderRecord,
      note: opts.note,
    });
    return writeLease(ctx, 'renew', opts.holder, cur, next);
  });
}

/** Options of {@link release}. */
export interface ReleaseOptions {
  key: string;
  holder: string;
  token?: number;
  /** Remove the worktree too, when it is clean (a dirty one is kept with a warning). */
  removeWorktree?: boolean;
}

/** What {@link release} did. */
export interface ReleaseResult {
  lease: Lease;
  /** Path of the worktree removed, or `null`. */
  removedWorktree: string | null;
  warnings: string[];
}

/**
 * Closes the lease with outcome `released` (holder only), deleting its index entries. With
 * `removeWorktree`, a clean worktree on this host is removed afterwards (the branch is kept); a dirty
 * one is kept with a warning and the lease is released all the same.
 */
export async function release(ctx: LeaseContext, opts: ReleaseOptions): Promise<ReleaseResult> {
  const lease = await closeAs(ctx, opts.key, opts.holder, 'released', 'release', opts.token);
  const warnings: string[] = [];
  let removedWorktree: string | null = null;
  const wt = lease.worktree;
  if (opts.removeWorktree && wt) {
    const mainTop = mainTopOf(ctx.repo);
    if (wt.host !== ctx.host) warnings.push(`worktree ${wt.path} is on host ${wt.host}; not removed`);
    else if (wt.path === mainTop) warnings.push(`worktree ${wt.path} is the main worktree; not removed`);
    else {
      let dirty: string[] | null = null;
      try {
        dirty = dirtyEntries(wt.path, ctx.config.link);
      } catch {
        warnings.push(`worktree ${wt.path} is not there any more; nothing to remove`);
      }
      if (dirty && dirty.length > 0) {
        const shown = dirty
          .slice(0, 5)
          .map((l) => l.slice(3))
          .join(', ');
        warnings.push(
          `kept worktree ${wt.path}: ${dirty.length} uncommitted change(s) (${shown}${dirty.length > 5 ? ', …' : ''}). ` +
            `Commit or discard them, then \`git worktree remove ${wt.path}\`.`,
        );
      } else if (dirty) {
        removeWorktree(ctx.repo, mainTop, wt.path);
        removedWorktree = wt.path;
      }
    }
  }
  return { lease, removedWorktree, warnings };
}

async function closeAs(
  ctx: LeaseContext,
  key: string,
  holder: string,
  outcome: 'released' | 'done',
  verb: string,
  token?: number,
  gate?: GateResult | null,
  audit?: (next: Lease) => Omit<AuditEvent, 'schema'> | undefined,
): Promise<Lease> {
  return optimistic(async () => {
    const cur = await mustRead(ctx, key);
    assertHolder(cur.record, holder, verb === 'release' ? 'released' : 'closed', token);
    const next = closeLease(cur.record, outcome, ctx.now(), gate);
    return writeLease(ctx, verb, holder, cur, next, audit?.(next));
  });
}

/** Options of {@link done}. */
export interface DoneOptions {
  key: string;
  holder: string;
  token?: number;
  /**
   * The gate result to record. `overridden` also writes an `override` audit event (with its reason,
   * missing items and commit). The caller decides whether a `failed` gate refuses (exit 4) before
   * calling this.
   */
  gate?: GateResult | null;
}

/** Closes the lease with outcome `done` (holder only), recording `gate`; index entries are deleted. */
export async function done(ctx: LeaseContext, opts: DoneOptions): Promise<Lease> {
  const gate = opts.gate;
  return closeAs(ctx, opts.key, opts.holder, 'done', 'done', opts.token, gate, (next) =>
    gate?.result === 'overridden'
      ? auditEvent(ctx, 'override', next, opts.holder, {
          reason: gate.reason,
          token: next.token,
          commit: gate.commit,
          missing: gate.missing,
        })
      : undefined,
  );
}

/** Options of {@link crash}. */
export interface CrashOptions {
  key: string;
  /** Holder id of the caller. */
  by: string;
  reason: string;
}

/**
 * Marks the lease `crashed` with a reason, and writes a `crash` audit event. The holder may always;
 * anyone else only when the lease is stale (else LeaseHeldError). Index entries stay (the crashed
 * lease still owns its branch and worktree until it is claimed again, taken over or cleared).
 */
export async function crash(ctx: LeaseContext, opts: CrashOptions): Promise<Lease> {
  if (!opts.reason.trim()) throw new UsageError('crash needs --reason', 'reason-required');
  return optimistic(async () => {
    const cur = await mustRead(ctx, opts.key);
    const lease = cur.record;
    if (lease.state !== 'open') {
      throw new LeaseStateError(
        'not-open',
        `lease ${lease.key} is ${lease.state}${lease.outcome ? ` (${lease.outcome})` : ''}; only an open lease can be marked crashed`,
      );
    }
    const now = ctx.now().getTime();
    const stale = staleOf(ctx, lease, now);
    if (lease.holder.id !== opts.by && !stale) {
      throw new LeaseHeldError({ lease, stale, now, skewSeconds: ctx.config.skewSeconds });
    }
    const next = crashLease(lease, opts.reason, ctx.now());
    return writeLease(
      ctx,
      'crash',
      opts.by,
      cur,
      next,
      auditEvent(ctx, 'crash', next, opts.by, {
        reason: opts.reason,
        previousHolder: lease.holder.id,
        token: next.token,
      }),
    );
  });
}

// ---------------------------------------------------------------------------------------------------
// takeover, clear

/** Options of {@link takeover}. */
export interface TakeoverOptions {
  key: string;
  holder: Holder;
  /** Take a live lease too; requires `reason`. */
  force?: boolean;
  reason?: string;
  ttlSeconds?: number;
}

/**
 * Takes over a stale (expired, holder dead, pid reused) or crashed lease for `holder`: token +1,
 * transitions +1, same branch and worktree, index entries rewritten, `takeover` audit event. A live
 * lease only with `force` and a `reason`. The old holder's renew/release then fail with "you lost the
 * lease".
 */
export async function takeover(ctx: LeaseContext, opts: TakeoverOptions): Promise<Lease> {
  if (opts.force && !opts.reason?.trim()) {
    throw new UsageError(
      'takeover --force needs --reason "why" (it is recorded in the audit log)',
      'reason-required',
    );
  }
  return optimistic(async () => {
    const cur = await mustRead(ctx, opts.key);
    const lease = cur.record;
    const nowMs = ctx.now().getTime();
    if (lease.state === 'closed') {
      throw new LeaseStateError(
        'not-held',
        `lease ${lease.key} is closed (${lease.outcome}); there is nothing to take over: \`git coord claim ${lease.key}\``,
      );
    }
    const stale = staleOf(ctx, lease, nowMs);
    if (lease.state === 'open' && !stale && !opts.force) {
      const expires = expiresAt(lease, ctx.config.skewSeconds);
      throw new LeaseStateError(
        'not-stale',
        `lease ${lease.key} is live: held by ${describeHolder(lease)} since ${lease.acquiredAt}, last heartbeat ` +
          `${formatAge(nowMs - Date.parse(lease.renewedAt))} ago, stale in ${formatAge(expires - nowMs)}. ` +
          `takeover needs a stale lease; to take it anyway: git coord takeover ${lease.key} --force --reason "…"`,
      );
    }
    const next = takeOverLease(lease, opts.holder, ctx.now(), opts.ttlSeconds);
    const reason =
      opts.force && lease.state === 'open' && !stale
        ? `forced: ${opts.reason}`
        : (opts.reason ?? takeoverReason(ctx, lease, stale, nowMs));
    return writeLease(
      ctx,
      'takeover',
      opts.holder.id,
      cur,
      next,
      auditEvent(ctx, 'takeover', next, opts.holder.id, {
        reason,
        previousHolder: lease.holder.id,
        token: next.token,
      }),
    );
  });
}

/** Options of {@link clear}. */
export interface ClearOptions {
  key: string;
  /** Holder id of the caller. */
  by: string;
  /** Needed for an open lease (and for a corrupt record). */
  force?: boolean;
}

/** What {@link clear} deleted. */
export interface ClearResult {
  /** The lease as it was, or `null` when the record was corrupt. */
  lease: Lease | null;
  /** Refs deleted. */
  deleted: string[];
  /** The audit event's ref. */
  audit: string | null;
}

/**
 * Deletes the lease and its index entries in one transaction, with a `clear` audit event. An open
 * lease needs `force` (LeaseStateError, exit 3, nothing changed). Worktrees and branches stay.
 */
export async function clear(ctx: LeaseContext, opts: ClearOptions): Promise<ClearResult> {
  assertKey(opts.key);
  return optimistic(async () => {
    const ref = leaseRef(opts.key);
    let cur: StoredRecord<Lease> | null;
    try {
      cur = await readLease(ctx.repo, opts.key);
    } catch (err) {
      if (!(err instanceof CorruptRecordError) || !opts.force) throw err;
      return clearCorrupt(ctx, opts, err);
    }
    if (!cur) throw new LeaseNotFoundError(opts.key);
    const lease = cur.record;
    if (lease.state === 'open' && !opts.force) {
      throw new LeaseStateError(
        'lease-open',
        `lease ${lease.key} is open (held by ${describeHolder(lease)}, token ${lease.token}); nothing was cleared. ` +
          `Release it first, or delete it anyway with \`git coord clear ${lease.key} --force\`.`,
      );
    }
    const writes = await indexWrites(ctx, lease.key, lease, null);
    writes.unshift({ ref, oid: null, expect: cur.oid });
    const audit = commitWrites(ctx.repo, writes, {
      verb: 'clear',
      key: lease.key,
      by: opts.by,
      token: lease.token,
      audit: auditEvent(ctx, 'clear', lease, opts.by, {
        reason: lease.state === 'open' ? 'forced clear of an open lease' : `cleared a ${lease.state} lease`,
        previousHolder: lease.holder.id,
        token: lease.token,
      }),
    });
    return { lease, deleted: writes.filter((w) => w.oid === null).map((w) => w.ref), audit };
  });
}

async function clearCorrupt(
  ctx: LeaseContext,
  opts: ClearOptions,
  err: CorruptRecordError,
): Promise<ClearResult> {
  const audit = commitWrites(ctx.repo, [{ ref: err.ref, oid: null, expect: err.oid }], {
    verb: 'clear',
    key: opts.key,
    by: opts.by,
    token: null,
    audit: {
      action: 'clear',
      key: opts.key,
      ref: err.ref,
      at: ctx.now().toISOString(),
      by: { id: opts.by, host: ctx.host },
      reason: `forced clear of a corrupt record: ${err.reason}`.slice(0, 4096),
      previousHolder: null,
      token: null,
      commit: null,
      missing: [],
    },
  });
  return { lease: null, deleted: [err.ref], audit };
}
