import picomatch from 'picomatch';
import { CONFIG_PATH, ConfigError, type CoordConfig, parseConfig } from '../../config/config.js';
import { displaySafe } from '../../display.js';
import { evaluateGate } from '../../gates/index.js';
import { describeHolder } from '../../leases/errors.js';
import { holdsIndex, leaseRef } from '../../leases/model.js';
import { decodeRecord } from '../../records/codec.js';
import { type Lease, LeaseType } from '../../records/schemas.js';
import { judgeRecordUpdate, type RecordSide } from '../../records/updates.js';
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
 * 2. an update of `refs/heads/<b>` while `<b>` is leased (an open or crashed lease names `<b>`, as the
 *    leases are after this push; the index refs are not trusted for this, they may be deleted) needs
 *    the push options `coord-token=<the lease's token>` and `coord-holder=<its holder id>`: a stale
 *    holder (token moved on by a takeover) is refused, with or without `--no-verify`; a pushed lease
 *    that would hold a branch another lease holds is refused (one branch, one holder);
 * 3. with a pusher map (`git config coord-pusher.<name>.holder <id>`, `*` = any) a known pusher
 *    (`REMOTE_USER`, `GL_USER`) may push a leased branch, and any lease record, only as a holder id the
 *    map allows; a pusher the server cannot name is refused then;
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
  for (const u of coord) {
    const j = judgeRecordUpdate({ ref: u.ref, old: side(u.old), next: side(u.next) });
    if (!j.ok) refusals.push({ ref: u.ref, reason: j.reason });
    else if (j.accepted?.kind === 'lease') pushedLeases.set(u.ref, j.accepted.record);
  }
  const map = pusherMap(repo);
  // 3. with a pusher map, only a pusher allowed for a record's holder writes that lease
  for (const l of pushedLeases.values()) {
    const denied = pusherDenied(map, input.pusher, l.holder.id);
    if (denied)
      refusals.push({ ref: leaseRef(l.key), reason: `writes lease ${l.key} of ${l.holder.id}: ${denied}` });
  }
  if (refusals.length > 0 || (heads.length === 0 && pushedLeases.size === 0)) return { refusals, notes };

  // Who holds each branch after this push, from the leases themselves (pushed records win over the
  // server's): an index ref can be deleted or rewritten, a lease cannot go back.
  const leases = allLeasesAfter(repo, pushedLeases);
  const holding = new Map<string, Lease[]>();
  for (const l of leases) {
    if (l.branch && holdsIndex(l)) holding.set(l.branch, [...(holding.get(l.branch) ?? []), l]);
  }
  for (const l of pushedLeases.values()) {
    const others = l.branch && holdsIndex(l) ? holding.get(l.branch)!.filter((o) => o.key !== l.key) : [];
    if (others.length > 0)
      refusals.push({
        ref: leaseRef(l.key),
        reason: `branch ${l.branch} is already held by lease ${others[0]!.key} of ${describeHolder(others[0]!)}`,
      });
  }
  if (refusals.length > 0) return { refusals, notes };

  // 2. leased branches need the current token (and, with a map, a pusher allowed to act as the holder)
  const tokens = optionValues(input.pushOptions, 'coord-token');
  const holders = optionValues(input.pushOptions, 'coord-holder');
  for (const u of heads) {
    const branch = u.ref.slice('refs/heads/'.length);
    for (const lease of holding.get(branch) ?? []) {
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
  }

  // 4. protect
  const { config, warning } = serverConfig(repo);
  if (warning) notes.push(warning);
  const protect = config.protect.map((p) => picomatch(p, { dot: true }));
  const protectedPushes = heads.filter(
    (u) => !ZERO.test(u.next) && protect.some((m) => m(u.ref.slice('refs/heads/'.length))),
  );
  if (protectedPushes.length === 0) return { refusals, notes };
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
