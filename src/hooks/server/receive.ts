import picomatch from 'picomatch';
import { CONFIG_PATH, ConfigError, type CoordConfig, parseConfig } from '../../config/config.js';
import { displaySafe } from '../../display.js';
import { evaluateGate } from '../../gates/index.js';
import { describeHolder } from '../../leases/errors.js';
import { branchIndexRef, holdsIndex, leaseRef } from '../../leases/model.js';
import { decodeRecord } from '../../records/codec.js';
import {
  type BranchIndex,
  BranchIndexType,
  type Lease,
  LeaseType,
  type RecordType,
} from '../../records/schemas.js';
import { coordRefKind, judgeRecordUpdate, type RecordSide } from '../../records/updates.js';
import { type BatchObject, catFileBatch } from '../../refs/cat-file.js';
import { git } from '../../refs/git.js';
import { MAX_RECORD_BYTES } from '../../refs/objects.js';
import { listRefs, readRef } from '../../refs/read.js';
import type { Repo } from '../../refs/repo.js';

/**
 * The pre-receive decision of a shared remote (DESIGN §8, issue 10): git runs the hook once per push
 * with every ref update on stdin (`<old> <new> <ref>`, githooks(5)), before any ref moves, with the
 * pushed objects readable only through git (the quarantine directory); a non-zero exit refuses the
 * whole push and git shows our stderr to the pusher as `remote:` lines. Checks, in order:
 *
 * 1. every update under `refs/coord/` by the record rules (src/records/updates.ts);
 * 2. an update of `refs/heads/<b>` while `<b>` is leased (the branch index names an open or crashed
 *    lease that names `<b>`, as it is after this push) needs the push options
 *    `coord-token=<the lease's token>` and `coord-holder=<its holder id>`: a stale holder (token moved
 *    on by a takeover) is refused, with or without `--no-verify`;
 * 3. a known pusher (`REMOTE_USER`, `GL_USER`) must be allowed to act as that holder when the server
 *    has a pusher map (`git config coord-pusher.<name>.holder <id>`, `*` = any); the same goes for a
 *    pushed lease record that acquires a lease (new or higher token);
 * 4. `protect`: a push to a protected branch that brings commits of another leased branch needs that
 *    lease closed or its `done` gate passing on the pushed commit (as the client pre-push).
 *
 * Configuration: gates and `protect` come from `.coord/config.json` in the tree of the server's `HEAD`
 * as it was before this push, plus the server's own `git config coord.protect` patterns (which no push
 * can change). Push options are what the client says: fencing, not authentication.
 */

const ZERO = /^0{40}$/;

/** One line of pre-receive's stdin. */
export interface ReceivedUpdate {
  old: string;
  next: string;
  ref: string;
}

/** What the hook knows about the push besides the updates. */
export interface ReceiveInput {
  updates: ReceivedUpdate[];
  /** `GIT_PUSH_OPTION_<i>` values, in order. */
  pushOptions: string[];
  /** The authenticated pusher (`REMOTE_USER` > `GL_USER`), or null. */
  pusher: string | null;
}

/** Parses pre-receive's stdin. Lines that are not `<oid> <oid> <ref>` are ignored. */
export function parseUpdates(stdin: string): ReceivedUpdate[] {
  const out: ReceivedUpdate[] = [];
  for (const line of stdin.split('\n')) {
    const m = /^([0-9a-f]{40}) ([0-9a-f]{40}) (\S.*)$/.exec(line.trim());
    if (m) out.push({ old: m[1]!, next: m[2]!, ref: m[3]! });
  }
  return out;
}

/** Reads the hook's input from its environment (githooks(5): `GIT_PUSH_OPTION_COUNT`, …). */
export function inputFromEnv(stdin: string, env: NodeJS.ProcessEnv = process.env): ReceiveInput {
  const count = Number(env.GIT_PUSH_OPTION_COUNT ?? 0);
  const pushOptions: string[] = [];
  for (let i = 0; i < count; i++) pushOptions.push(env[`GIT_PUSH_OPTION_${i}`] ?? '');
  const pusher = env.REMOTE_USER || env.GL_USER || null;
  return { updates: parseUpdates(stdin), pushOptions, pusher };
}

/** One refusal: the ref and why. */
export interface Refusal {
  ref: string;
  reason: string;
}

/** The pusher map of the server (`coord-pusher.<name>.holder`); empty = not enforced. */
export function pusherMap(repo: Pick<Repo, 'commonDir'>): Map<string, string[]> {
  const res = git(['config', '--get-regexp', '^coord-pusher\\..*\\.holder$'], {
    cwd: repo.commonDir,
    allowFailure: true,
  });
  const map = new Map<string, string[]>();
  for (const line of res.stdout.split('\n')) {
    const m = /^coord-pusher\.(.+)\.holder (.*)$/.exec(line);
    if (!m) continue;
    map.set(m[1]!, [...(map.get(m[1]!) ?? []), m[2]!.trim()]);
  }
  return map;
}

/** The configuration the server applies, and a warning when the committed one could not be used. */
export function serverConfig(repo: Pick<Repo, 'commonDir'>): { config: CoordConfig; warning: string | null } {
  const cwd = repo.commonDir;
  const extra = git(['config', '--get-all', 'coord.protect'], { cwd, allowFailure: true })
    .stdout.split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  const source = `HEAD:${CONFIG_PATH}`;
  const shown = git(['cat-file', 'blob', source], { cwd, allowFailure: true });
  let config: CoordConfig;
  let warning: string | null = null;
  try {
    config = parseConfig(shown.status === 0 ? shown.stdout : '{}', shown.status === 0 ? source : null);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    warning = `${err.message}; using the defaults (protect only the server's coord.protect)`;
    config = parseConfig('{}', null);
  }
  return { config: { ...config, protect: [...new Set([...config.protect, ...extra])] }, warning };
}

/**
 * Decides a push. Returns the refusals (empty = accept) and informational lines.
 *
 * @throws GitCommandError when git itself fails (the hook then refuses, failing closed).
 */
export function judgePush(repo: Repo, input: ReceiveInput): { refusals: Refusal[]; notes: string[] } {
  const cwd = repo.commonDir;
  const refusals: Refusal[] = [];
  const notes: string[] = [];
  const coord = input.updates.filter((u) => u.ref.startsWith('refs/coord/'));
  const heads = input.updates.filter((u) => u.ref.startsWith('refs/heads/'));
  const objects = catFileBatch(cwd, [...coord.flatMap((u) => [u.old, u.next])], MAX_RECORD_BYTES);
  const side = (oid: string): RecordSide | null => (ZERO.test(oid) ? null : sideOf(oid, objects.get(oid)));

  // 1. records
  const pushedLeases = new Map<string, Lease>();
  const pushedIndex = new Map<string, BranchIndex | null>();
  const acquisitions: Lease[] = [];
  for (const u of coord) {
    const j = judgeRecordUpdate({ ref: u.ref, old: side(u.old), next: side(u.next) });
    if (!j.ok) {
      refusals.push({ ref: u.ref, reason: j.reason });
      continue;
    }
    const a = j.accepted;
    if (a?.kind === 'lease') {
      pushedLeases.set(u.ref, a.record);
      if (a.old === null || a.record.token > a.old.token) acquisitions.push(a.record);
    }
    if (a?.kind === 'branch') pushedIndex.set(u.ref, a.record);
    if (a === null && coordRefKind(u.ref).kind === 'branch') pushedIndex.set(u.ref, null);
  }
  if (refusals.length > 0 || heads.length === 0) {
    checkAcquisitions(repo, input, acquisitions, refusals);
    return { refusals, notes };
  }

  // The lease state as it is after this push: pushed records win over the server's.
  const current = (refs: string[]) =>
    catFileBatch(
      cwd,
      refs.map((r) => readRef(repo, r)).filter((o): o is string => o !== null),
    );
  const decodeAt = <T>(
    ref: string,
    type: RecordType<T>,
    cache: Map<string, BatchObject | null>,
  ): T | null => {
    const oid = readRef(repo, ref);
    const obj = oid ? cache.get(oid) : null;
    if (!obj?.content || obj.type !== 'blob') return null;
    try {
      return decodeRecord(type, obj.content);
    } catch {
      return null;
    }
  };
  const branches = heads.map((u) => u.ref.slice('refs/heads/'.length));
  const indexRefs = branches.map(branchIndexRef).filter((r) => !pushedIndex.has(r));
  const indexObjs = current(indexRefs);
  const indexAfter = (b: string): BranchIndex | null => {
    const ref = branchIndexRef(b);
    return pushedIndex.has(ref) ? pushedIndex.get(ref)! : decodeAt(ref, BranchIndexType, indexObjs);
  };
  const keys = branches.map((b) => indexAfter(b)?.key).filter((k): k is string => !!k);
  const leaseObjs = current(keys.map(leaseRef).filter((r) => !pushedLeases.has(r)));
  const leaseAfter = (key: string): Lease | null =>
    pushedLeases.get(leaseRef(key)) ?? decodeAt(leaseRef(key), LeaseType, leaseObjs);

  // 2 + 3. leased branches need the current token (and a pusher allowed to act as the holder)
  const tokens = optionValues(input.pushOptions, 'coord-token');
  const holders = optionValues(input.pushOptions, 'coord-holder');
  const map = pusherMap(repo);
  for (const u of heads) {
    const branch = u.ref.slice('refs/heads/'.length);
    const key = indexAfter(branch)?.key;
    const lease = key ? leaseAfter(key) : null;
    if (!lease || !holdsIndex(lease) || lease.branch !== branch) continue;
    const what = ZERO.test(u.next) ? 'deleting' : 'updating';
    const heldBy = `branch ${branch} is leased as ${lease.key} to ${describeHolder(lease)} (token ${lease.token}, ${lease.state} since ${lease.acquiredAt})`;
    if (!tokens.includes(String(lease.token)) || !holders.includes(lease.holder.id)) {
      const carried =
        tokens.length === 0 && holders.length === 0
          ? 'this push carries no coord-token / coord-holder push options'
          : `this push carries coord-token=${tokens.join(',') || '(none)'} coord-holder=${holders.join(',') || '(none)'}`;
      refusals.push({
        ref: u.ref,
        reason:
          `${what} it needs the lease's current token: ${heldBy}; ${carried}. ` +
          `The holder pushes from the lease worktree (push.pushOption is set there by git coord claim) or with ` +
          `git push -o coord-token=${lease.token} -o coord-holder=<holder id>; anyone else: take the lease over first.`,
      });
      continue;
    }
    const denied = pusherDenied(map, input.pusher, lease.holder.id);
    if (denied) refusals.push({ ref: u.ref, reason: `${what} it as holder ${lease.holder.id}: ${denied}` });
  }
  checkAcquisitions(repo, input, acquisitions, refusals, map);

  // 4. protect
  const { config, warning } = serverConfig(repo);
  if (warning) notes.push(warning);
  const protect = config.protect.map((p) => picomatch(p, { dot: true }));
  const protectedPushes = heads.filter(
    (u) => !ZERO.test(u.next) && protect.some((m) => m(u.ref.slice('refs/heads/'.length))),
  );
  if (protectedPushes.length === 0) return { refusals, notes };
  const leases = allLeasesAfter(repo, pushedLeases);
  for (const u of protectedPushes) {
    const branch = u.ref.slice('refs/heads/'.length);
    const pushed = new Set(revList(cwd, u.next, [u.old]));
    if (pushed.size === 0) continue;
    for (const l of leases) {
      if (!l.branch || !holdsIndex(l) || l.branch === branch) continue;
      const pushedHead = heads.find((h) => h.ref === `refs/heads/${l.branch}`);
      const head = pushedHead ? pushedHead.next : readRef(repo, `refs/heads/${l.branch}`);
      if (!head || ZERO.test(head)) continue;
      const brought = revList(cwd, head, [l.baseRef, u.old]).filter((c) => pushed.has(c));
      if (brought.length === 0) continue;
      const ev = evaluateGate(repo, config, l.key, { kind: 'commit', commit: u.next });
      if (ev.result === 'passed') continue;
      refusals.push({
        ref: u.ref,
        reason:
          `protected branch ${branch}: this push brings ${brought.length} commit(s) of branch ${l.branch}, leased as ` +
          `${l.key} to ${describeHolder(l)} (${l.state}), which is not done, and gate ${ev.gate} ` +
          (ev.result === 'failed'
            ? `fails on ${u.next.slice(0, 12)}: ${ev.missing.join('; ')}`
            : `does not apply (${ev.result}), so the lease must be done first`) +
          `. Finish it first: git coord done ${l.key}`,
      });
    }
  }
  return { refusals, notes };
}

function sideOf(oid: string, obj: BatchObject | null | undefined): RecordSide {
  return { oid, type: obj?.type ?? null, content: obj?.content ?? null };
}

function optionValues(options: string[], name: string): string[] {
  return options.filter((o) => o.startsWith(`${name}=`)).map((o) => o.slice(name.length + 1));
}

/** Why `pusher` may not act as `holder` under `map`, or null when it may (or no map is configured). */
function pusherDenied(map: Map<string, string[]>, pusher: string | null, holder: string): string | null {
  if (map.size === 0) return null;
  if (pusher === null)
    return 'the server has a pusher map (coord-pusher.<name>.holder) but does not know who is pushing';
  const allowed = map.get(pusher) ?? [];
  if (allowed.includes('*') || allowed.includes(holder)) return null;
  return `pusher ${pusher} may act as ${allowed.length ? allowed.join(', ') : 'no holder'} (coord-pusher.${pusher}.holder)`;
}

function checkAcquisitions(
  repo: Repo,
  input: ReceiveInput,
  acquisitions: Lease[],
  refusals: Refusal[],
  map = pusherMap(repo),
): void {
  for (const l of acquisitions) {
    const denied = pusherDenied(map, input.pusher, l.holder.id);
    if (denied)
      refusals.push({
        ref: leaseRef(l.key),
        reason: `acquires lease ${l.key} for ${l.holder.id}: ${denied}`,
      });
  }
}

/** Every lease on the server after this push (pushed records win); corrupt ones are skipped. */
function allLeasesAfter(repo: Repo, pushed: Map<string, Lease>): Lease[] {
  const refs = listRefs(repo, 'refs/coord/leases/');
  const objs = catFileBatch(
    repo.commonDir,
    refs.filter((r) => !pushed.has(r.ref)).map((r) => r.oid),
  );
  const out = new Map<string, Lease>();
  for (const { ref, oid } of refs) {
    const obj = objs.get(oid);
    if (pushed.has(ref) || !obj?.content || obj.type !== 'blob') continue;
    try {
      out.set(ref, decodeRecord(LeaseType, obj.content));
    } catch {
      // a corrupt record holds nothing
    }
  }
  for (const [ref, lease] of pushed) out.set(ref, lease);
  return [...out.values()];
}

/** Commits reachable from `tip` and from none of `not` (missing or zero ids ignored). */
function revList(cwd: string, tip: string, not: Array<string | null>): string[] {
  const excl = not.filter((o): o is string => !!o && !ZERO.test(o)).map((o) => `^${o}`);
  const res = git(['rev-list', '--ignore-missing', tip, ...excl, '--'], { cwd, allowFailure: true });
  return res.status === 0 ? res.stdout.split('\n').filter(Boolean) : [];
}

/** Output sink of the hook (stderr: git relays it as `remote:` lines). */
export interface ReceiveIO {
  err(line: string): void;
}

/**
 * Runs the decision and reports it. Returns the hook's exit status: 0 accept, 1 refuse.
 */
export function preReceive(repo: Repo, input: ReceiveInput, io: ReceiveIO): number {
  const { refusals, notes } = judgePush(repo, input);
  const say = (line: string) => io.err(displaySafe(line));
  for (const n of notes) say(`git-coord: warning: ${n}`);
  if (refusals.length === 0) return 0;
  say(
    `git-coord: push refused (${refusals.length} problem${refusals.length > 1 ? 's' : ''}; nothing was changed):`,
  );
  for (const r of refusals) say(`  ${r.ref}: ${r.reason}`);
  return 1;
}
