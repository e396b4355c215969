import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeRecord } from '../../records/codec.js';
import {
  type AuditEvent,
  BranchIndexType,
  type GateResult,
  type Lease,
  LeaseType,
  WorktreeType,
} from '../../records/schemas.js';
import { CorruptRecordError, type StoredRecord, writeRecord } from '../../records/store.js';
import { faultScope } from '../../refs/fault.js';
import { assertKey } from '../../refs/names.js';
import { readObject } from '../../refs/objects.js';
import { readRef } from '../../refs/read.js';
import type { Repo } from '../../refs/repo.js';
import type { LeaseContext } from '../context.js';
import {
  BranchHeldError,
  LeaseLostError,
  LeaseNotFoundError,
  LeaseStateError,
  WorktreeHeldError,
} from '../errors.js';
import type { Identity } from '../identity.js';
import { describeStale, type StaleReason } from '../liveness.js';
import {
  branchIndexFor,
  branchIndexRef,
  closeLease,
  holdsIndex,
  leaseRef,
  worktreeIndexRef,
  worktreeRecordFor,
} from '../model.js';
import { readBranchIndex, readLease, readWorktreeIndex } from '../state.js';
import { commitWrites, type RefWrite, transact } from '../write.js';

/*
 * What every lease operation shares: the index entries (branch and worktree refs) derived from a lease,
 * the one write of a lease with its index changes and audit event, and the holder check.
 */

/**
 * The ref writes that move the branch and worktree index from what `prev` implied to what `next`
 * implies (`next` null = the lease is deleted). An entry owned by another key whose lease still holds
 * it is a conflict (BranchHeldError / WorktreeHeldError); one whose owner is closed, gone or points
 * elsewhere is stale and overwritten. Entries of other keys are never deleted.
 */
export async function indexWrites(
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
export async function writeLease(
  ctx: LeaseContext,
  verb: string,
  by: string,
  cur: StoredRecord<Lease> | null,
  next: Lease,
  audit?: Omit<AuditEvent, 'schema'>,
): Promise<Lease> {
  faultScope(verb);
  next = await stamp(ctx, next);
  const writes = await indexWrites(ctx, next.key, cur?.record ?? null, next);
  const fence = branchFence(ctx, cur?.record ?? null, next);
  if (fence) writes.push(fence);
  writes.unshift({
    ref: leaseRef(next.key),
    oid: writeRecord(ctx.repo, LeaseType, next),
    expect: cur?.oid ?? null,
  });
  await commitWrites(ctx, writes, { verb, key: next.key, by, token: next.token, audit });
  return next;
}

/**
 * The lease's branch, verified at its current value under its lock (a {@link RefWrite} `local` fence),
 * when the write takes the branch away from the holder that may update it now (a takeover, a crash
 * mark): git's reference-transaction hook judges a branch update while git holds that lock, so the
 * update either lands before this write or is judged against it (DESIGN §8). `null` when the holder
 * keeps the branch (renew, re-entry), when the lease closes (a closed lease restricts no one) or
 * there is no branch.
 */
export function branchFence(ctx: LeaseContext, prev: Lease | null, next: Lease): RefWrite | null {
  if (!prev?.branch || prev.state !== 'open' || next.state === 'closed') return null;
  const keeps =
    next.state === 'open' &&
    next.holder.id === prev.holder.id &&
    next.token === prev.token &&
    next.branch === prev.branch;
  if (keeps) return null;
  const ref = `refs/heads/${prev.branch}`;
  const oid = readRef(ctx.repo, ref);
  return oid === null ? null : { ref, oid, expect: oid, local: true };
}

export async function mustRead(ctx: LeaseContext, key: string): Promise<StoredRecord<Lease>> {
  assertKey(key);
  const cur = await readLease(ctx.repo, key);
  if (!cur) throw new LeaseNotFoundError(key);
  return cur;
}

export function auditEvent(
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

export function takeoverReason(
  ctx: LeaseContext,
  prev: Lease,
  stale: StaleReason | null,
  now: number,
): string {
  if (prev.state === 'crashed') return `crashed${prev.crashReason ? `: ${prev.crashReason}` : ''}`;
  if (stale) return `stale: ${describeStale(prev, stale, ctx.config.skewSeconds, now)}`;
  return 'forced';
}

/** The caller of a holder-only operation: a holder id, or an {@link Identity} (id and its source). */
export type Caller = string | Identity;

/** The holder id of a {@link Caller}. */
export function callerId(caller: Caller): string {
  return typeof caller === 'string' ? caller : caller.id;
}

/**
 * The caller must hold the open lease (with `token`, that exact token); else LeaseLostError: code
 * `lease-lost` when the caller held it (its token, or per the lease ref's reflog in `repo`, an
 * earlier token of the caller's), `not-holder` when another holder has it and nothing says the caller
 * ever did (the message then names the caller's id and, for an Identity, where it came from).
 */
export function assertHolder(cur: Lease, caller: Caller, verb: string, token?: number, repo?: Repo): void {
  const me = callerId(caller);
  if (cur.state !== 'open' || cur.holder.id !== me || (token !== undefined && token !== cur.token)) {
    if (cur.holder.id === me && cur.state === 'closed' && token === undefined) {
      throw new LeaseStateError(
        'not-open',
        `lease ${cur.key} is already closed (${cur.outcome} at ${cur.closedAt}); nothing was ${verb}. ` +
          `\`git coord claim ${cur.key}\` starts a new tenure.`,
      );
    }
    const view = typeof caller === 'string' ? { id: caller } : caller;
    const had = token ?? (cur.holder.id !== me && repo ? tokenOnceHeldBy(repo, leaseRef(cur.key), me) : null);
    throw new LeaseLostError(cur, verb, had ?? undefined, view);
  }
}

/**
 * The highest token `holder` is recorded with in the reflog of `ref` (git's reflog format; git-coord's
 * messages read `coord: <verb> <key> by <holder> token <n>`), or `null` when there is none (no
 * reflog, another clone's records, or never held). Whitespace in ids is compared as git stores it
 * (collapsed).
 */
export function tokenOnceHeldBy(repo: Repo, ref: string, holder: string): number | null {
  let text = '';
  try {
    text = readFileSync(join(repo.commonDir, 'logs', ref), 'utf8');
  } catch {
    return null;
  }
  const want = holder.replace(/\s+/g, ' ').trim();
  let max: number | null = null;
  for (const line of text.split('\n')) {
    const m = /\tcoord: \S+ \S+ by (.+) token (\d+)$/.exec(line);
    if (m && m[1] === want && (max === null || Number(m[2]) > max)) max = Number(m[2]);
  }
  return max;
}

export async function closeAs(
  ctx: LeaseContext,
  key: string,
  holder: Caller,
  outcome: 'released' | 'done' | 'failed' | 'aborted',
  verb: string,
  token?: number,
  gate?: GateResult | null,
  audit?: (next: Lease) => Omit<AuditEvent, 'schema'> | undefined,
): Promise<Lease> {
  return transact(
    ctx,
    async () => {
      const cur = await mustRead(ctx, key);
      assertHolder(cur.record, holder, verb === 'release' ? 'released' : 'closed', token, ctx.repo);
      const next = closeLease(cur.record, outcome, ctx.now(), gate);
      return writeLease(ctx, verb, callerId(holder), cur, next, audit?.(next));
    },
    key,
  );
}

/**
 * `lease` as the store writes it: with a fresh `nonce` when the store needs every write's oid to be
 * unique (team mode, DESIGN §7 trap 1), else unchanged.
 */
export async function stamp(ctx: LeaseContext, lease: Lease): Promise<Lease> {
  if (!ctx.store.uniqueWrites) return lease;
  const { randomBytes } = process.getBuiltinModule('node:crypto'); // not import(): the CLI runs in vm.Script
  return { ...lease, nonce: randomBytes(8).toString('hex') };
}

/**
 * The highest fencing token any readable record in the reflog of `ref` held (git's reflog format:
 * each line's second field is the value written), or 1 when none can be read. Used where a record
 * cannot be read but its token must not go back.
 */
export async function highestToken(repo: Repo, ref: string): Promise<number> {
  let text = '';
  try {
    text = readFileSync(join(repo.commonDir, 'logs', ref), 'utf8');
  } catch {
    return 1;
  }
  let max = 1;
  for (const line of text.split('\n')) {
    const oid = line.slice(41, 81);
    if (!/^[0-9a-f]{40}$/.test(oid) || /^0+$/.test(oid)) continue;
    try {
      const obj = await readObject(repo, oid);
      const lease = obj.type === 'blob' ? decodeRecord(LeaseType, obj.content) : null;
      if (lease && lease.token > max) max = lease.token;
    } catch {
      // not a readable lease: skip it
    }
  }
  return max;
}
