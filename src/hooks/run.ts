import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import picomatch from 'picomatch';
import { writeErr } from '../cli/stdio.js';
import { displaySafe, quote } from '../display.js';
import { CoordError } from '../errors.js';
import { evaluateGate, type GateEvaluation, indexTarget } from '../gates/index.js';
import { type LeaseContext, openContext, staleOf } from '../leases/context.js';
import { describeHolder, LeaseLostError } from '../leases/errors.js';
import { heartbeat } from '../leases/heartbeat.js';
import { resolveHolderId } from '../leases/identity.js';
import { describeStale, formatAge } from '../leases/liveness.js';
import { holdsIndex } from '../leases/model.js';
import { currentBranch, leaseForBranch, leaseForWorktree, listLeases } from '../leases/state.js';
import type { Lease } from '../records/schemas.js';
import type { StoredRecord } from '../records/store.js';
import { git } from '../refs/git.js';
import { keyProblem } from '../refs/names.js';
import { lookupPacked, readPackedRefs } from '../refs/packed.js';
import { readRef } from '../refs/read.js';
import { worktreeId } from '../refs/repo.js';
import { HOOK_NAMES, type HookName } from './scripts.js';

/**
 * What the hooks do once the shell fast path has decided node is needed (DESIGN §5). Each returns the
 * hook's exit status and writes its messages to stderr. The same identity as the CLI
 * (`$COORD_HOLDER` > `coord.holder` > `user.email`).
 */

const ZERO = /^0{40}$/;

/** Output sink, so tests can capture messages. */
export interface HookIO {
  err(line: string): void;
  /** pre-push: git's stdin lines. */
  stdin?: string;
}

// fd 2 written directly: node's stderr stream for git's pipe would load `net` and `stream` (~5 ms).
const stderrIO: HookIO = { err: (l) => writeErr(`${l}\n`) };

/**
 * Runs hook `name` with git's arguments. Returns the exit status. Every line goes through displaySafe
 * (newlines kept): messages quote records and configuration, which may hold terminal escapes.
 */
export async function runHook(name: string, args: string[], out: HookIO = stderrIO): Promise<number> {
  const io: HookIO = { ...out, err: (line) => out.err(displaySafe(line, { lines: true })) };
  if (!(HOOK_NAMES as readonly string[]).includes(name)) {
    io.err(`git-coord: unknown hook ${JSON.stringify(name)} (known: ${HOOK_NAMES.join(', ')})`);
    return 2;
  }
  if (name === 'reference-transaction' && args[0] !== 'prepared') return 0;
  const ctx = openContext();
  switch (name as HookName) {
    case 'pre-commit':
      return preCommit(ctx, io);
    case 'commit-msg':
      return commitMsg(ctx, args[0] ?? '', io);
    case 'pre-push':
      return prePush(ctx, args[0] ?? '', io.stdin ?? readFileSync(0, 'utf8'), io);
    case 'reference-transaction':
      if (args[0] !== 'prepared') return 0;
      return referenceTransaction(ctx, io.stdin ?? readFileSync(0, 'utf8'), io);
  }
}

function refuse(
  io: HookIO,
  what: string,
  lines: string[],
  skip = '--no-verify skips this hook but not the reference-transaction check',
): number {
  io.err(`git-coord: ${what}`);
  for (const l of lines) io.err(`  ${l}`);
  io.err(`  (COORD=0 skips the git-coord checks; ${skip}.)`);
  return 1;
}

/** The reference-transaction hook runs for every ref update; `--no-verify` does not skip it. */
const REF_TX_SKIP = '--no-verify does not skip this check';

/** One line saying who holds `lease`, since when, and the heartbeat age. */
function holderFacts(lease: Lease, now: number): string {
  return (
    `held by ${describeHolder(lease)} under lease ${lease.key} (token ${lease.token}) since ${lease.acquiredAt} ` +
    `(${formatAge(now - Date.parse(lease.acquiredAt))} ago); last heartbeat ` +
    `${formatAge(now - Date.parse(lease.renewedAt))} ago`
  );
}

/** Why `lease` is not live, or null when it is open and live. */
function staleText(ctx: LeaseContext, lease: Lease, now: number): string | null {
  if (lease.state === 'crashed') {
    return `crashed at ${lease.crashedAt}${lease.crashReason ? ` (${lease.crashReason})` : ''}`;
  }
  const stale = staleOf(ctx, lease, now);
  return stale ? `stale: ${describeStale(lease, stale, ctx.config.skewSeconds, now)}` : null;
}

/** Owners (open or crashed leases holding their index) of the current worktree and branch. */
async function owners(ctx: LeaseContext): Promise<{ where: string; lease: StoredRecord<Lease> }[]> {
  const { repo } = ctx;
  const found: { where: string; lease: StoredRecord<Lease> }[] = [];
  const top = repo.worktreeTop;
  if (top) {
    const wt = await leaseForWorktree(repo, worktreeId(top, ctx.host));
    if (wt && holdsIndex(wt.record)) found.push({ where: `worktree ${top}`, lease: wt });
  }
  const branch = currentBranch(repo.gitDir);
  if (branch) {
    const br = await leaseForBranch(repo, branch);
    if (br && holdsIndex(br.record) && !found.some((f) => f.lease.record.key === br.record.key)) {
      found.push({ where: `branch ${branch}`, lease: br });
    }
  }
  return found;
}

/**
 * pre-commit: refuse when the current worktree or branch is owned by another holder's lease (open,
 * stale or crashed: the message names holder, key, since, heartbeat age and the takeover command);
 * the holder's own commit renews its open lease.
 */
export async function preCommit(ctx: LeaseContext, io: HookIO): Promise<number> {
  const found = await owners(ctx);
  if (found.length === 0) return 0;
  const now = ctx.now().getTime();
  let me: string;
  try {
    me = resolveHolderId(ctx.repo);
  } catch (err) {
    const f = found[0]!;
    return refuse(io, `refusing the commit: ${f.where} is ${holderFacts(f.lease.record, now)}.`, [
      (err as Error).message,
    ]);
  }
  for (const { where, lease } of found) {
    const l = lease.record;
    if (l.holder.id === me) continue;
    const stale = staleText(ctx, l, now);
    const lines = stale
      ? [
          `The lease is ${stale}.`,
          `Take it over first: git coord takeover ${l.key} --reason "…"  (then commit again).`,
        ]
      : [
          `You are ${me}. Work in your own worktree (git coord claim <key>), ask ${l.holder.id} to release ` +
            `lease ${l.key}, or once it is stale take it over: git coord takeover ${l.key}`,
        ];
    return refuse(io, `refusing the commit: ${where} is ${holderFacts(l, now)}.`, lines);
  }
  // Every owner is the caller: the commit is a heartbeat.
  for (const { lease } of found) {
    const l = lease.record;
    if (l.state !== 'open') {
      io.err(
        `git-coord: warning: your lease ${l.key} is ${l.state}; \`git coord claim ${l.key}\` starts a new tenure.`,
      );
      continue;
    }
    try {
      await heartbeat(ctx, { key: l.key, holder: me, token: l.token });
    } catch (err) {
      if (err instanceof LeaseLostError) return refuse(io, 'refusing the commit:', [err.message]);
      io.err(`git-coord: warning: could not renew lease ${l.key}: ${(err as Error).message}`);
    }
  }
  return 0;
}

/** `Coord-Done:` trailer values of a commit message file (git's own trailer parsing). */
export function coordDoneKeys(cwd: string, file: string): string[] {
  const out = git(['interpret-trailers', '--parse', file], { cwd, allowFailure: true }).stdout;
  const keys: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^coord-done\s*:\s*(.*)$/i.exec(line);
    if (m) keys.push(m[1]!.trim());
  }
  return keys;
}

function listMissing(ev: GateEvaluation): string[] {
  return ev.rules.filter((r) => r.status === 'fail').map((r) => `missing: ${r.rule} — ${r.detail}`);
}

/** commit-msg: each `Coord-Done: <key>` trailer must pass `<key>`'s gate on the index tree. */
export async function commitMsg(ctx: LeaseContext, file: string, io: HookIO): Promise<number> {
  const top = ctx.repo.worktreeTop ?? process.cwd();
  const keys = coordDoneKeys(top, file);
  if (keys.length === 0) return 0;
  const target = indexTarget(ctx.repo, top);
  for (const key of keys) {
    const problem = keyProblem(key);
    if (problem) {
      return refuse(io, `refusing the commit: Coord-Done: ${quote(key)} is not a lease key`, [problem]);
    }
    const ev = evaluateGate(ctx.repo, ctx.config, key, target);
    if (ev.result === 'failed') {
      return refuse(
        io,
        `refusing the commit: Coord-Done: ${key} but gate ${ev.gate} fails on the tree being committed:`,
        [...listMissing(ev), 'Add and stage what is missing, then commit again.'],
      );
    }
    io.err(`git-coord: Coord-Done: ${key}: gate ${ev.gate} ${ev.result}.`);
  }
  return 0;
}

/** One line of pre-push's stdin. */
interface PushLine {
  localRef: string;
  localOid: string;
  remoteRef: string;
  remoteOid: string;
}

function parsePushLines(stdin: string): PushLine[] {
  const lines: PushLine[] = [];
  for (const raw of stdin.split('\n')) {
    const parts = raw.trim().split(/\s+/);
    if (parts.length !== 4) continue;
    const [localRef, localOid, remoteRef, remoteOid] = parts as [string, string, string, string];
    lines.push({ localRef, localOid, remoteRef, remoteOid });
  }
  return lines;
}

function objectExists(cwd: string, oid: string): boolean {
  return git(['cat-file', '-e', `${oid}^{commit}`], { cwd, allowFailure: true }).status === 0;
}

/** Commits reachable from `tip` but from none of `not` (that exist locally). */
function revList(cwd: string, tip: string, not: Array<string | null>): string[] {
  const excl = not
    .filter((o): o is string => !!o && !ZERO.test(o) && objectExists(cwd, o))
    .map((o) => `^${o}`);
  const res = git(['rev-list', tip, ...excl, '--'], { cwd, allowFailure: true });
  return res.status === 0 ? res.stdout.split('\n').filter(Boolean) : [];
}

/**
 * pre-push: refuse pushing (or deleting) a branch held by another holder's lease; a push to a
 * protected branch that brings commits of a leased branch needs that lease done (closed leases hold
 * no branch) or its gate passing on the pushed commit.
 */
export async function prePush(ctx: LeaseContext, remote: string, stdin: string, io: HookIO): Promise<number> {
  const lines = parsePushLines(stdin);
  if (lines.length === 0) return 0;
  try {
    // Team mode: decide on the remote's current records, not on the mirror (DESIGN §7.5).
    if (lines.some((l) => l.remoteRef.startsWith('refs/heads/'))) await ctx.store.refresh();
  } catch (err) {
    if (!(err instanceof CoordError)) throw err;
    io.err(`git-coord: warning: deciding from the local mirror: ${err.message}`);
  }
  const cwd = ctx.repo.worktreeTop ?? ctx.repo.gitDir;
  const now = ctx.now().getTime();
  let me: string | null = null;
  try {
    me = resolveHolderId(ctx.repo);
  } catch {
    me = null;
  }
  const protect = ctx.config.protect.map((p) => picomatch(p, { dot: true }));
  let leases: Array<StoredRecord<Lease>> | null = null;
  for (const line of lines) {
    if (!line.remoteRef.startsWith('refs/heads/')) continue;
    const branch = line.remoteRef.slice('refs/heads/'.length);
    const held = await leaseForBranch(ctx.repo, branch);
    if (held && holdsIndex(held.record) && held.record.holder.id !== me) {
      const l = held.record;
      const stale = staleText(ctx, l, now);
      return refuse(
        io,
        `refusing to push ${line.localRef} to ${remote} ${branch}: branch ${branch} is ${holderFacts(l, now)}.`,
        [
          stale
            ? `The lease is ${stale}; take it over first: git coord takeover ${l.key} --reason "…"`
            : `You are ${me ?? '(no identity set)'}. Push to another branch, or ask ${l.holder.id} to release lease ${l.key}.`,
        ],
      );
    }
    if (ZERO.test(line.localOid) || !protect.some((m) => m(branch))) continue;
    leases ??= (await listLeases(ctx.repo)).leases;
    const pushed = new Set(revList(cwd, line.localOid, [line.remoteOid]));
    if (pushed.size === 0) continue;
    for (const { record: l } of leases) {
      if (!l.branch || !holdsIndex(l) || l.branch === branch) continue;
      const head = git(['rev-parse', '--verify', '-q', `refs/heads/${l.branch}^{commit}`], {
        cwd,
        allowFailure: true,
      }).stdout.trim();
      if (!head) continue;
      const own = revList(cwd, head, [l.baseRef, line.remoteOid]);
      const brought = own.filter((c) => pushed.has(c));
      if (brought.length === 0) continue;
      const ev = evaluateGate(ctx.repo, ctx.config, l.key, { kind: 'commit', commit: line.localOid });
      if (ev.result === 'passed') continue;
      return refuse(
        io,
        `refusing to push to protected branch ${branch} on ${remote}: it brings ${brought.length} commit(s) of ` +
          `branch ${l.branch}, leased as ${l.key} by ${describeHolder(l)} (${l.state}), which is not done.`,
        [
          ev.result === 'failed'
            ? `Gate ${ev.gate} for ${l.key} fails on the pushed commit ${line.localOid.slice(0, 12)}:`
            : `Gate ${ev.gate} for ${l.key} does not apply (${ev.result}), so the lease must be done first.`,
          ...listMissing(ev),
          `Finish it first: git coord done ${l.key}  (or push without those commits).`,
        ],
      );
    }
  }
  return 0;
}

/** One line of reference-transaction's stdin: `<old> <new> <refname>`. */
interface RefUpdateLine {
  oldOid: string;
  newOid: string;
  ref: string;
}

function parseRefUpdates(stdin: string): RefUpdateLine[] {
  const lines: RefUpdateLine[] = [];
  for (const raw of stdin.split('\n')) {
    const m = /^([0-9a-f]{40,64}) ([0-9a-f]{40,64}) (\S+)$/.exec(raw);
    if (m) lines.push({ oldOid: m[1]!, newOid: m[2]!, ref: m[3]! });
  }
  return lines;
}

/**
 * True when the update changes nothing a reader of the branch sees: git pack-refs rewrites
 * `packed-refs` with the refs' current values (`0… <current>`), then prunes each loose file whose
 * value is now packed (`<v> 0…`, with `packed-refs.lock` free). A real deletion of a packed ref holds
 * `packed-refs.lock` while it runs (files-backend.c), so it is never taken for a prune.
 */
function changesNothing(repo: LeaseContext['repo'], u: RefUpdateLine): boolean {
  const current = readRef(repo, u.ref);
  if (!ZERO.test(u.newOid)) return current === u.newOid;
  if (current === null || existsSync(join(repo.commonDir, 'packed-refs.lock'))) return false;
  return lookupPacked(readPackedRefs(repo.commonDir), u.ref) === current;
}

/**
 * reference-transaction at `prepared` (DESIGN §8, issue 10): every update of a leased branch
 * (`refs/heads/<b>` with a branch index ref naming a lease that still holds it, open or crashed) must
 * come from the lease's holder (`$COORD_HOLDER` > `coord.holder` > `user.email` in this worktree) while
 * the lease is open, and, when `$COORD_TOKEN` is set (`git coord run` sets it), with that token.
 * Otherwise the whole transaction is refused with pre-commit's message (who holds it, since when, how
 * to take over). Updates that change nothing (git pack-refs) pass. A corrupt lease fails closed (the
 * error names the ref and `git coord doctor --fix`).
 */
export async function referenceTransaction(ctx: LeaseContext, stdin: string, io: HookIO): Promise<number> {
  const updates = parseRefUpdates(stdin).filter((u) => u.ref.startsWith('refs/heads/'));
  if (updates.length === 0) return 0;
  const now = ctx.now().getTime();
  let me: string | null | undefined;
  for (const u of updates) {
    const branch = u.ref.slice('refs/heads/'.length);
    if (changesNothing(ctx.repo, u)) continue;
    const held = await leaseForBranch(ctx.repo, branch);
    if (!held || !holdsIndex(held.record)) continue;
    const l = held.record;
    const what = `refusing to update ${u.ref}${ZERO.test(u.newOid) ? ' (delete)' : ''}:`;
    if (me === undefined) {
      try {
        me = resolveHolderId(ctx.repo);
      } catch (err) {
        return refuse(
          io,
          `${what} branch ${branch} is ${holderFacts(l, now)}.`,
          [(err as Error).message],
          REF_TX_SKIP,
        );
      }
    }
    if (l.holder.id !== me) {
      const stale = staleText(ctx, l, now);
      return refuse(
        io,
        `${what} branch ${branch} is ${holderFacts(l, now)}.`,
        [
          stale
            ? `The lease is ${stale}. Take it over first: git coord takeover ${l.key} --reason "…"  (then try again).`
            : `You are ${me}. Work in your own worktree (git coord claim <key>), ask ${l.holder.id} to release ` +
              `lease ${l.key}, or once it is stale take it over: git coord takeover ${l.key}`,
        ],
        REF_TX_SKIP,
      );
    }
    if (l.state !== 'open') {
      return refuse(
        io,
        `${what} your lease ${l.key} on branch ${branch} is ${l.state}.`,
        [`\`git coord claim ${l.key}\` starts a new tenure (token ${l.token + 1}); then try again.`],
        REF_TX_SKIP,
      );
    }
    const token = process.env.COORD_TOKEN;
    if (token && token !== String(l.token)) {
      return refuse(
        io,
        `${what} you lost lease ${l.key}: this process runs with token ${token}, the lease is at token ${l.token}.`,
        [
          `It was taken over or claimed again (${holderFacts(l, now)}). Stop here; \`git coord status\` shows the lease.`,
        ],
        REF_TX_SKIP,
      );
    }
  }
  return 0;
}
