import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { mainWorktreeTop } from '../config/config.js';
import { quote } from '../display.js';
import { CoordError } from '../errors.js';
import { worktreeHooks } from '../hooks/install.js';
import { openContext } from '../leases/context.js';
import type { ProcessProbe } from '../leases/liveness.js';
import { tombstoneLease } from '../leases/model.js';
import { highestToken } from '../leases/ops/write-lease.js';
import { provideWorktreeHooks } from '../leases/worktree.js';
import { transact } from '../leases/write.js';
import { GC_CONFIG_KEY, hasRecordReflogGcConfig, keepRecordReflogs } from '../records/gc.js';
import {
  type Actor,
  QUARANTINE_PREFIX,
  quarantineRecord,
  removeBrokenRef,
  removeMissingObjectRef,
} from '../records/quarantine.js';
import { AuditType, BranchIndexType, LeaseType, type RecordType, WorktreeType } from '../records/schemas.js';
import { type CorruptEntry, isCorrupt, iterateRecords, writeRecord } from '../records/store.js';
import { keyProblem } from '../refs/names.js';
import { missingObjects } from '../refs/objects.js';
import { listRefs, type RefEntry } from '../refs/read.js';
import type { Repo } from '../refs/repo.js';
import { deadHolders } from './holders.js';
import { BRANCHES, indexFixUpdates, LEASES, planIndexes, WORKTREES } from './indexes.js';
import { findCoordLocks, removeStaleLock, STALE_LOCK_MS } from './locks.js';
import { provisionLockProblem } from './provision.js';
import { type LeaseFacts, scanLeases } from './scan.js';
import { worktreeProblems } from './worktrees.js';

export { STALE_LOCK_MS } from './locks.js';

const d = z.describe;

/** Kinds of problem `git coord doctor` reports. */
export const PROBLEM_KINDS = [
  'stale-lock',
  'lock-held',
  'broken-ref',
  'missing-object',
  'corrupt-record',
  'orphan-index',
  'index-mismatch',
  'missing-index',
  'duplicate-claim',
  'gc-config',
  'dead-holder',
  'orphan-worktree',
  'missing-worktree',
  'hooks-not-running',
] as const;

export { GC_CONFIG_KEY };

/** `git coord doctor --json` (DESIGN §4). */
export const DoctorOutput = z
  .strictObject({
    problems: z.array(
      z.strictObject({
        kind: z.enum(PROBLEM_KINDS).check(d('What is wrong')),
        ref: z.optional(
          z.string().check(d('The ref concerned (record, index and dead-holder kinds: the lease ref)')),
        ),
        path: z.optional(
          z
            .string()
            .check(
              d(
                'Absolute path of the lock file (lock kinds), the config file (gc-config) or the worktree (worktree kinds)',
              ),
            ),
        ),
        message: z.string().check(d('What was found, and what was done or is to be done')),
        fixed: z.boolean().check(d('True when --fix repaired it')),
      }),
    ),
    notes: z.optional(
      z
        .array(
          z.strictObject({
            kind: z
              .enum(['kept-worktree'])
              .check(d('kept-worktree: the worktree of a closed lease, kept (git coord cleanup removes it)')),
            path: z.string().check(d('Absolute path of the worktree')),
            message: z.string().check(d('Whose it is, whether it is clean, and the next action')),
          }),
        )
        .check(d('Things worth knowing that are not problems (absent when there are none)')),
    ),
  })
  .check(d('git coord doctor --json: problems found (and fixed with --fix); exit 0 when none remain'));
export type DoctorReport = z.infer<typeof DoctorOutput>;
export type DoctorProblem = DoctorReport['problems'][number];

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  /** Repair what can be repaired. */
  fix: boolean;
  /** Who repairs: quarantine audit events and reflog entries name them. */
  actor: Actor;
  /** Clock, for tests (ms since the epoch). */
  now?: () => number;
  /** Process probe for holder liveness; default the real processes of this host. */
  probe?: ProcessProbe;
}

/** The record types checked besides the leases, by prefix. Quarantined records are never re-checked. */
const CHECKED: ReadonlyArray<[string, RecordType<unknown>]> = [
  [BRANCHES, BranchIndexType as RecordType<unknown>],
  [WORKTREES, WorktreeType as RecordType<unknown>],
  ['refs/coord/audit/', AuditType as RecordType<unknown>],
];

/**
 * Checks the coord refs of `repo` and, with `fix`, repairs them, in this order:
 * 1. lock files under `refs/coord/` and `packed-refs.lock`: older than 60 s = stale (a crashed
 *    writer; `fix` removes it), younger = held (reported, never touched).
 * 2. loose ref files under `refs/coord/` (quarantine included) that hold no oid: `fix` records their
 *    content in a `remove` audit event and deletes them (they make `git gc` and `git fsck` fail);
 * 3. {@link GC_CONFIG_KEY}, when coord reflogs exist: `fix` sets it to `never`;
 * 4. refs under `refs/coord/` (quarantine included) whose object is missing from the object database:
 *    `fix` removes them with a `remove` audit event naming the oid (there is no object to keep, and a
 *    quarantine ref at a missing object would make `git gc`, `git fsck` and `git for-each-ref` die);
 *    corrupt records (not JSON, wrong shape, unknown version, not a blob, too large, a lease
 *    whose `key` differs from its ref name): `fix` quarantines them (object kept, audit event);
 *    The provisioning lock `coord-provision.lock` too (src/doctor/provision.ts): reported when its
 *    holder on this host is gone, removed by `fix` only once older than 60 s;
 * 5. dead holders: open leases whose holder process on this host is gone or whose pid was reused;
 *    `fix` marks them crashed through the leases API (src/doctor/holders.ts);
 * 6. the branch and worktree indexes against the leases: orphan, mismatching and missing entries;
 *    `fix` rebuilds them from the leases in one CAS transaction (retried on conflict);
 * 7. worktrees: orphan worktrees in the worktrees directory (never removed) and worktrees whose
 *    directory is gone (`fix` removes git's stale registration only) (src/doctor/worktrees.ts).
 *
 * Steps 4–7 read the leases one at a time and keep only the few fields of those that concern a check
 * (src/doctor/scan.ts), and the other records only when corrupt: memory does not grow with the
 * records' size.
 *
 * @returns every problem found, each marked `fixed` or not; the command exits 0 when all are fixed.
 */
export async function runDoctor(repo: Repo, opts: DoctorOptions): Promise<DoctorReport> {
  const now = opts.now ?? Date.now;
  const problems: DoctorProblem[] = [];
  const ident = { name: opts.actor.id, email: opts.actor.id };

  for (const lock of findCoordLocks(repo, now())) {
    const age = `${(lock.ageMs / 1000).toFixed(1)}s`;
    if (lock.ageMs < STALE_LOCK_MS) {
      problems.push({
        kind: 'lock-held',
        path: lock.path,
        message: `${lock.name} is ${age} old: probably a running git or git-coord; left alone (only locks older than ${STALE_LOCK_MS / 1000}s are removed)`,
        fixed: false,
      });
      continue;
    }
    const fixed = opts.fix && removeStaleLock(lock.path, now());
    problems.push({
      kind: 'stale-lock',
      path: lock.path,
      message: `${lock.name} is ${age} old, left by a crashed writer; it blocks every write of that ref${fixed ? ': removed' : ''}`,
      fixed,
    });
  }

  const ctx = openContext(undefined, {
    repo,
    probe: opts.probe,
    now: () => new Date(now()),
  });
  const provision = provisionLockProblem(repo, ctx.host, ctx.probe, opts.fix, now());
  if (provision) problems.push(provision);

  // The lease checks keep only what they need of each lease (src/doctor/scan.ts). Without --fix nothing
  // changes during the run: the leases are read once (10,000 leases: one listing instead of four). With
  // --fix every step reads what the steps before it left.
  let scanned: Promise<LeaseFacts> | null = null;
  const leaseFacts = () => {
    if (opts.fix) return scanLeases(ctx);
    scanned ??= scanLeases(ctx);
    return scanned;
  };

  // Started now, the listing's git process reads the lease objects while this one reads the loose refs
  // below (its failure is seen where it is awaited).
  if (!opts.fix) leaseFacts().catch(() => {});

  // One walk of the loose refs for both checks below (10,000 leases: 10,000 ref files read once, not
  // twice); with --fix they are listed again once broken refs were removed.
  const broken: string[] = [];
  let coordRefs = listRefs(repo, 'refs/coord/', broken);
  for (const ref of broken.sort()) {
    const file = join(repo.commonDir, ref);
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const problem: DoctorProblem = {
      kind: 'broken-ref',
      ref,
      message: `the ref file ${file} holds ${quote(content, 60)}, not an object id (\`git gc\` and \`git fsck\` fail on it)`,
      fixed: false,
    };
    if (opts.fix) {
      problem.fixed = removeBrokenRef(repo, ref, content, opts.actor);
      problem.message += problem.fixed
        ? ': removed, its content recorded in an audit event'
        : '; it changed while doctor ran: run `git coord doctor` again';
    } else
      problem.message += '; `git coord doctor --fix` removes it and records its content in an audit event';
    problems.push(problem);
  }

  if (opts.fix && broken.length > 0) coordRefs = listRefs(repo, 'refs/coord/');
  for (const { ref, oid } of refsWithMissingObject(repo, coordRefs)) {
    const problem: DoctorProblem = {
      kind: 'missing-object',
      ref,
      message: `it points at ${oid}, which is missing from the object database (\`git gc\`, \`git fsck\` and \`git for-each-ref\` fail on it)`,
      fixed: false,
    };
    if (opts.fix) {
      try {
        removeMissingObjectRef(repo, ref, oid, opts.actor);
        problem.fixed = true;
        problem.message += ': removed (nothing to keep), the oid recorded in an audit event';
      } catch (err) {
        if (!(err instanceof CoordError)) throw err;
        problem.message += `; could not remove it: ${err.message}`;
      }
    } else {
      problem.message += '; `git coord doctor --fix` removes the ref and records the oid in an audit event';
    }
    problems.push(problem);
  }

  const hasReflogs = existsSync(join(repo.commonDir, 'logs', 'refs', 'coord'));
  if (hasReflogs && !hasRecordReflogGcConfig(repo)) {
    const fixed = opts.fix ? keepRecordReflogs(repo) : false;
    problems.push({
      kind: 'gc-config',
      path: join(repo.commonDir, 'config'),
      message:
        `${GC_CONFIG_KEY} is not set: \`git gc\` prints "error: Object <oid> not a commit" for every ` +
        `refs/coord reflog and drops record history after 30 days${fixed ? ': set to never' : ` (set it: git config ${GC_CONFIG_KEY} never)`}`,
      fixed,
    });
  }

  // Worktrees where git would run none of git-coord's checks while others run them (husky's relative
  // core.hooksPath in a worktree made before the fix, a hooks directory removed by hand).
  const hooks = worktreeHooks(repo);
  if (hooks.some((w) => w.runs)) {
    const mainTop = mainWorktreeTop(repo);
    for (const w of hooks.filter((x) => !x.runs)) {
      const copied = opts.fix ? provideWorktreeHooks(repo, mainTop, w.path) : null;
      const fixed = copied !== null && (worktreeHooks(repo).find((x) => x.path === w.path)?.runs ?? false);
      problems.push({
        kind: 'hooks-not-running',
        path: w.path,
        message: `${w.detail}${fixed ? `: copied the main worktree's hooks to ${copied}` : ''}`,
        fixed,
      });
    }
  }

  const unfixedCorrupt = new Set<string>();
  for (const entry of await corruptRecords(repo, (await leaseFacts()).corrupt)) {
    if (entry.error.objectMissing) {
      unfixedCorrupt.add(entry.ref); // reported above as missing-object; still there, so not removed
      continue;
    }
    const problem: DoctorProblem = {
      kind: 'corrupt-record',
      ref: entry.ref,
      message: `${entry.error.reason} (object ${entry.oid})`,
      fixed: false,
    };
    if (opts.fix) {
      try {
        const tombstone = await leaseTombstone(repo, entry, opts.actor);
        const target = quarantineRecord(
          repo,
          entry.ref,
          entry.oid,
          entry.error.reason,
          opts.actor,
          tombstone,
        );
        problem.fixed = true;
        problem.message += `: moved to ${target}, object kept`;
      } catch (err) {
        if (!(err instanceof CoordError)) throw err;
        problem.message += `; could not quarantine: ${err.message}`;
      }
    } else {
      problem.message += `; \`git coord doctor --fix\` moves it to ${QUARANTINE_PREFIX}`;
    }
    if (!problem.fixed) unfixedCorrupt.add(entry.ref);
    problems.push(problem);
  }

  problems.push(...(await deadHolders(ctx, (await leaseFacts()).deadHolders, opts.fix, opts.actor.id)));

  const skipRefs = unfixedCorrupt;
  if (opts.fix) {
    try {
      // Through the store: in team mode the rebuilt indexes are a CAS on the remote like any write.
      const fixedIndex = await transact(ctx, async () => {
        const planned = await planIndexes(repo, (await leaseFacts()).indexes, { skipRefs, writeBlobs: true });
        const updates = indexFixUpdates(planned);
        if (updates.length > 0) await ctx.store.commit(updates, ident);
        return planned;
      });
      for (const p of fixedIndex) {
        problems.push({
          kind: p.kind,
          ref: p.ref,
          message: withFix(p.message, !!p.change),
          fixed: !!p.change,
        });
      }
    } catch (err) {
      if (!(err instanceof CoordError)) throw err;
      for (const p of await planIndexes(repo, (await leaseFacts()).indexes, {
        skipRefs,
        writeBlobs: false,
      })) {
        problems.push({
          kind: p.kind,
          ref: p.ref,
          message: `${p.message}; not fixed: ${err.message}`,
          fixed: false,
        });
      }
    }
  } else {
    for (const p of await planIndexes(repo, (await leaseFacts()).indexes, { skipRefs, writeBlobs: false })) {
      problems.push({ kind: p.kind, ref: p.ref, message: p.message, fixed: false });
    }
  }

  const worktrees = worktreeProblems(ctx, (await leaseFacts()).worktrees, opts.fix);
  problems.push(...worktrees.problems);
  return worktrees.kept.length ? { problems, notes: worktrees.kept } : { problems };
}

function withFix(message: string, fixed: boolean): string {
  return fixed ? `${message}: rebuilt from the leases` : message;
}

/**
 * The corrupt records: `corruptLeases` (a lease whose `key` is not its ref name among them: the store's
 * `identityProblem`), then those under every other checked prefix, each prefix in refname order. The
 * records are read one at a time and only the corrupt ones kept.
 */
async function corruptRecords(repo: Repo, corruptLeases: readonly CorruptEntry[]): Promise<CorruptEntry[]> {
  const out = [...corruptLeases];
  for (const [prefix, type] of CHECKED) {
    for await (const e of iterateRecords(repo, prefix, type)) if (isCorrupt(e)) out.push(e);
  }
  return out;
}

/** The refs of `refs` (those under `refs/coord/`, quarantine included) whose object is missing from the object database. */
function refsWithMissingObject(repo: Repo, refs: RefEntry[]): RefEntry[] {
  const absent = missingObjects(
    repo,
    refs.map((e) => e.oid),
  );
  return refs.filter((e) => absent.has(e.oid));
}

/**
 * For a corrupt lease record: the blob of the tombstone that replaces it (closed, outcome `cleared`,
 * the highest token its reflog knows), so the next claim's token is higher than any the key had;
 * `undefined` for other records (their ref is deleted) and for a ref name that is no lease key.
 */
async function leaseTombstone(repo: Repo, entry: CorruptEntry, actor: Actor): Promise<string | undefined> {
  if (!entry.ref.startsWith(LEASES)) return undefined;
  const key = entry.ref.slice(LEASES.length);
  if (keyProblem(key) !== null) return undefined;
  const holder = { id: actor.id, host: actor.host, pid: null, pidStart: null, user: null };
  const note = `tombstone of a corrupt record (${entry.oid}), quarantined by doctor --fix`;
  const lease = tombstoneLease(key, await highestToken(repo, entry.ref), holder, new Date(), note);
  return writeRecord(repo, LeaseType, lease);
}
