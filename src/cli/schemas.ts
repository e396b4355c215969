import * as z from 'zod/mini';
import { DoctorOutput } from '../doctor/index.js';
import { Lease, MergeRecord } from '../records/schemas.js';

/**
 * Schemas of the CLI's `--json` outputs (DESIGN §4), the contract tests validate against. Not imported
 * by the commands themselves (start-up stays lean); `OUTPUT_SCHEMAS` names each by command.
 */

const d = z.describe;

/** Liveness of an open lease: `null` when live (or not open). */
export const StaleField = z
  .nullable(z.enum(['expired', 'holder-dead', 'pid-reused']))
  .check(d('Why an open lease is stale: expired, holder-dead, pid-reused; null when live or not open'));

/** Team mode: how fresh the local mirror the records were read from is; absent in local mode. */
export const MirrorField = z.optional(
  z
    .strictObject({
      remote: z.string().check(d('The team remote (coord.remote)')),
      fetchedAt: z
        .nullable(z.string())
        .check(d("When this clone last fetched the remote's records, or null")),
      ageSeconds: z.nullable(z.number()).check(d('Seconds since then, or null if never')),
    })
    .check(d('Team mode: age of the local mirror the output was read from (reads never fetch)')),
);

/** `show <key> --json`: the stored lease record plus `stale`. */
export const ShowOutput = z
  .strictObject({ ...Lease.shape, stale: StaleField, mirror: MirrorField })
  .check(d('git coord show --json: the stored lease record plus "stale"'));

/** One record `list` could not read, reported instead of dropped. */
export const ListProblem = z
  .strictObject({
    kind: z.enum(['corrupt-record']).check(d('What is wrong (the doctor kind)')),
    ref: z.string().check(d('The ref, e.g. refs/coord/leases/65')),
    oid: z.string().check(d('The object id the ref points at')),
    objectMissing: z.boolean().check(d('True when that object is missing from the object database')),
    reason: z.string().check(d('Why it is not a valid lease (not JSON, wrong shape, too large, …)')),
    message: z.string().check(d('The whole message, with what to do (git coord doctor --fix)')),
  })
  .check(d('A lease ref that could not be read as a lease'));

/** `list --json`. */
export const ListOutput = z
  .strictObject({
    leases: z.array(ShowOutput).check(d('Leases sorted by key')),
    problems: z
      .array(ListProblem)
      .check(
        d('Lease refs that could not be read, sorted by ref (also warned about on stderr); empty when none'),
      ),
    mirror: MirrorField,
  })
  .check(d('git coord list --json'));

/** `status --json`. */
export const StatusOutput = z
  .strictObject({
    worktree: z.nullable(
      z.strictObject({
        id: z.string().check(d('Worktree id (DESIGN §1)')),
        path: z.string().check(d('Real path of the current worktree')),
        branch: z.nullable(z.string()).check(d('Branch checked out, or null when detached')),
      }),
    ),
    lease: z.nullable(ShowOutput).check(d('The lease owning this worktree (else its branch), or null')),
    me: z.strictObject({
      holder: z.nullable(z.string()).check(d('Holder id of the caller, or null when none is configured')),
      host: z.string().check(d('Host of the caller')),
    }),
    mirror: MirrorField,
  })
  .check(d('git coord status --json'));

/** `clear <key> --json`. */
export const ClearOutput = z
  .strictObject({
    key: z.string(),
    lease: z.nullable(Lease).check(d('The lease as it was before clearing; null for a corrupt record')),
    tombstone: Lease.check(
      d('The tombstone now at refs/coord/leases/<key>: closed, outcome cleared, token kept (never deleted)'),
    ),
    deleted: z.array(z.string()).check(d('Index refs deleted')),
    audit: z.nullable(z.string()).check(d('Ref of the audit event')),
  })
  .check(d('git coord clear --json'));

/** Any command's `--json` failure document. */
export const ErrorOutput = z
  .strictObject({
    error: z.strictObject({
      code: z.string().check(d('Stable kebab-case error code')),
      message: z.string().check(d('What happened and the next action')),
    }),
  })
  .check(d('A failed command with --json'));

/** One gate rule's outcome. */
export const GateRule = z
  .strictObject({
    rule: z
      .string()
      .check(
        d(
          'The rule as configured, {key} expanded: "when <glob>", "require <glob>", "fresh <path> within <d>"',
        ),
      ),
    status: z.enum(['pass', 'fail', 'skip']).check(d('pass, fail, or skip (gate skipped / no gate)')),
    detail: z.string().check(d('What matched, what is missing, or how old the last change is')),
  })
  .check(d('One rule of a gate evaluation'));

/** `gate <key> --json`. */
export const GateOutput = z
  .strictObject({
    key: z.string().check(d('The lease key the gate was evaluated for')),
    result: z
      .enum(['passed', 'failed', 'skipped'])
      .check(
        d('passed: every rule passes; failed: a rule fails (exit 4); skipped: no `when` match or no gate'),
      ),
    rules: z.array(GateRule).check(d('Every rule, in configuration order')),
    gate: z.string().check(d('Gate name in .coord/config.json (done)')),
    commit: z.nullable(z.string()).check(d('Commit evaluated on (the lease branch head or --rev)')),
  })
  .check(d('git coord gate --json'));

/** `report --json`. */
export const ReportOutput = z
  .strictObject({
    key: z
      .nullable(z.string())
      .check(d("The key reported on (--key, else the current worktree's lease), or null")),
    items: z
      .array(
        z.strictObject({
          tag: z
            .enum(['BLOCK', 'INFO', 'WARN'])
            .check(
              d(
                "BLOCK: another key's open lease; INFO: your lease, gate passing; WARN: stale, crashed, failing gate",
              ),
            ),
          key: z.nullable(z.string()).check(d('Lease key the item is about, or null')),
          message: z.string().check(d('Holder, branch, age, state')),
        }),
      )
      .check(d('Findings, in lease-key order, then the gate')),
    gate: z
      .nullable(
        z.strictObject({
          result: z.enum(['passed', 'failed', 'skipped']),
          commit: z.nullable(z.string()),
          rules: z.array(GateRule),
        }),
      )
      .check(d("The key's gate on its branch head, or null")),
    next_safe_action: z.string().check(d('What to do next')),
    mirror: MirrorField,
  })
  .check(d('git coord report --json (exit 4 when any item is BLOCK)'));

const HookName = z.enum(['pre-commit', 'commit-msg', 'pre-push', 'reference-transaction']);

const HookLayoutSchema = z
  .strictObject({
    hooksDir: z.string().check(d('Directory git runs hooks from (git rev-parse --git-path hooks)')),
    coreHooksPath: z.nullable(z.string()).check(d('core.hooksPath as configured, or null')),
    manager: z.nullable(z.enum(['husky', 'lefthook'])).check(d('Hook manager in use, or null')),
    huskyDir: z.nullable(z.string()).check(d("husky: directory of the user's hook scripts")),
    lefthookConfig: z.nullable(z.string()).check(d('lefthook: its config file')),
    scriptsDir: z
      .string()
      .check(d('Where hook scripts called by husky/lefthook live (<common dir>/coord/hooks)')),
  })
  .check(d('Where hooks go'));

/** `hooks install --json` and `hooks uninstall --json`. */
export const HooksReportOutput = z
  .strictObject({
    layout: HookLayoutSchema,
    actions: z
      .array(
        z.strictObject({
          hook: z.nullable(HookName),
          action: z.enum([
            'installed',
            'updated',
            'unchanged',
            'chained',
            'integrated',
            'removed',
            'restored',
            'absent',
            'kept-foreign',
            'manual',
          ]),
          path: z.string(),
          detail: z.string(),
        }),
      )
      .check(d('What was done, per hook or file')),
    instructions: z.array(z.string()).check(d('Lines to add or commands to run by hand, if any')),
  })
  .check(d('git coord hooks install|uninstall --json'));

/** `hooks status --json`. */
export const HooksStatusOutput = z
  .strictObject({
    hooksDir: z.string(),
    coreHooksPath: z.nullable(z.string()),
    manager: z.nullable(z.enum(['husky', 'lefthook'])),
    husky: z.boolean(),
    lefthook: z.nullable(z.string()).check(d('lefthook config file, or null')),
    hooks: z.array(
      z.strictObject({
        name: HookName,
        state: z
          .enum(['installed', 'outdated', 'missing', 'foreign', 'integrated'])
          .check(d('integrated: called from husky/lefthook; foreign: a hook git-coord did not write')),
        path: z.string(),
        chained: z.boolean().check(d('A hook that was there before is kept and runs first')),
        detail: z.string(),
      }),
    ),
    worktrees: z
      .array(
        z.strictObject({
          path: z.string().check(d("The worktree's top")),
          hooksDir: z.string().check(d('Where git looks for hooks when it runs in that worktree')),
          runs: z.boolean().check(d("True when git-coord's pre-commit and reference-transaction run there")),
          detail: z.string(),
        }),
      )
      .check(d('Every worktree of the repository, and whether the coord checks run there')),
  })
  .check(d('git coord hooks status --json'));

/** `hooks install|uninstall --server --json`. */
export const ServerHooksReportOutput = z
  .strictObject({
    repository: z.string().check(d('The bare repository (its git dir)')),
    actions: z.array(
      z.strictObject({
        action: z
          .enum([
            'installed',
            'updated',
            'unchanged',
            'chained',
            'kept-foreign',
            'removed',
            'restored',
            'absent',
            'configured',
            'unconfigured',
          ])
          .check(d('configured / unconfigured: receive.advertisePushOptions set / unset')),
        path: z.string(),
        detail: z.string(),
      }),
    ),
  })
  .check(d('git coord hooks install|uninstall --server --json'));

/** `hooks status --server --json`. */
export const ServerHooksStatusOutput = z
  .strictObject({
    repository: z.string(),
    hook: z.strictObject({
      path: z.string().check(d('The pre-receive hook file')),
      state: z.enum(['installed', 'outdated', 'missing', 'foreign']),
      chained: z.boolean().check(d('A pre-receive hook that was there before is kept and runs first')),
      detail: z.string(),
    }),
    advertisePushOptions: z.boolean().check(d('receive.advertisePushOptions is true (git push -o works)')),
    config: z
      .nullable(z.string())
      .check(d('Where gates and protect come from (HEAD:.coord/config.json), or null')),
    protect: z
      .array(z.string())
      .check(d("Protected branch patterns applied (committed config + server's coord.protect)")),
    pushers: z
      .record(z.string(), z.array(z.string()))
      .check(
        d(
          'Pusher map coord-pusher.<name>.holder: pusher name → holder ids ("*" = any); empty = not enforced',
        ),
      ),
  })
  .check(d('git coord hooks status --server --json'));

/** `init --json`. */
/** What a fetch of the team remote changed in the mirror (sync, init --remote). */
export const MirrorReportOutput = z
  .strictObject({
    changed: z
      .array(
        z.strictObject({
          ref: z.string(),
          from: z.nullable(z.string()).check(d('Mirror oid before, null when created')),
          to: z.nullable(z.string()).check(d('Mirror oid after, null when deleted (gone on the remote)')),
        }),
      )
      .check(d('Mirror refs that changed')),
    invalid: z
      .array(
        z.strictObject({
          ref: z.string().check(d('The mirror ref the record was fetched for')),
          oid: z.string(),
          reason: z.string().check(d('Why it failed validation')),
          quarantine: z.string().check(d('Where it is kept locally (never used)')),
          fresh: z.boolean().check(d('Quarantined by this fetch (false: already was)')),
        }),
      )
      .check(d('Records on the remote that failed validation; the mirror keeps its last valid value')),
  })
  .check(d('What a fetch of the team remote did to the local mirror'));

/** `sync --json`. */
export const SyncOutput = z
  .extend(MirrorReportOutput, {
    remote: z.string().check(d('The team remote (coord.remote)')),
    fetchedAt: z.string().check(d('When the fetch completed (ISO 8601)')),
    heartbeats: z
      .array(
        z.strictObject({
          key: z.string(),
          holder: z.string(),
          token: z.number(),
          result: z
            .enum(['renewed', 'dropped', 'kept'])
            .check(
              d(
                'renewed; dropped: the lease was lost or closed meanwhile; kept: failed, tried again next sync',
              ),
            ),
          message: z.nullable(z.string()),
        }),
      )
      .check(d('Heartbeats left pending by commits (hooks never wait on the network), pushed now')),
  })
  .check(d('git coord sync --json'));

export const InitOutput = z
  .strictObject({
    configWritten: z.nullable(z.string()).check(d('The starter config written, or null when one existed')),
    config: z.string().check(d('The config file in effect')),
    protect: z
      .nullable(
        z.strictObject({
          branch: z.string().check(d('The branch the starter config protects')),
          source: z
            .enum(['remote', 'branch', 'head', 'config', 'fallback'])
            .check(
              d(
                "remote: refs/remotes/<R>/HEAD; branch: an existing init.defaultBranch/main/master; head: the main worktree's branch; config: init.defaultBranch; fallback: main",
              ),
            ),
          why: z.string().check(d('The same in words')),
        }),
      )
      .check(d('How the starter config chose protect; null when a config existed')),
    excluded: z.boolean().check(d('A line for the worktrees directory was added to info/exclude')),
    worktreesDir: z.string(),
    gcConfigured: z.boolean().check(d('gc.refs/coord/*.reflogExpireUnreachable=never was set by this run')),
    remote: z.nullable(z.string()).check(d('coord.remote (team mode), or null')),
    join: z.nullable(
      z
        .strictObject({
          remote: z.string(),
          probe: z
            .string()
            .check(d('The join audit event pushed to prove atomic pushes work and are visible')),
          pushed: z.array(z.string()).check(d('Local records the remote lacked, pushed as creates')),
          quarantined: z
            .array(
              z.strictObject({ ref: z.string(), oid: z.string(), target: z.string(), reason: z.string() }),
            )
            .check(
              d("Local records kept aside: they differed from the remote's (which won) or were invalid"),
            ),
          mirror: MirrorReportOutput,
        })
        .check(d('What joining team mode did (init --remote), or null')),
    ),
    hooks: HooksReportOutput,
  })
  .check(d('git coord init --json'));

/** `merge <key> --json`. */
export const MergeOutput = z
  .strictObject({
    key: z.string().check(d('The lease key')),
    branch: z.string().check(d("The lease's branch")),
    into: z.string().check(d('The target branch')),
    method: MergeRecord.shape.method,
    head: z.string().check(d('The lease branch head that was merged')),
    before: z.string().check(d('The target before')),
    commit: z.string().check(d('The target after (equal to before for already-merged)')),
    checkout: z
      .nullable(z.string())
      .check(d('The checkout of the target that was updated with it (e.g. the main worktree), or null')),
    lease: Lease.check(d('The lease as it is now, with its merge record')),
    recorded: z.boolean().check(d('False when the same merge was already recorded (nothing written)')),
  })
  .check(d('git coord merge --json'));

/** `cleanup --json`. */
export const CleanupOutput = z
  .strictObject({
    dryRun: z.boolean().check(d('--dry-run: nothing was removed')),
    items: z.array(
      z
        .strictObject({
          key: z.string(),
          path: z.nullable(z.string()).check(d("The lease's worktree on this host, or null")),
          branch: z.nullable(z.string()),
          action: z
            .enum(['removed', 'would-remove', 'kept'])
            .check(d('removed; would-remove (with --dry-run); kept (see reason)')),
          removed: z
            .array(z.enum(['worktree', 'branch']))
            .check(d('What was (or would be) removed; the branch only with --branches')),
          reason: z.string().check(d('Merged into what, or what kept it (open, crashed, dirty, unmerged)')),
        })
        .check(d('One lease that left a worktree (or, with --branches, a branch)')),
    ),
  })
  .check(d('git coord cleanup --json'));

/**
 * Output schema per command (plus `lease` and `error`). Helper modules add theirs here (gate, report,
 * doctor).
 */
export const OUTPUT_SCHEMAS: Record<string, z.ZodMiniType> = {
  lease: Lease,
  claim: Lease,
  renew: Lease,
  release: Lease,
  done: Lease,
  crash: Lease,
  takeover: Lease,
  clear: ClearOutput,
  show: ShowOutput,
  list: ListOutput,
  status: StatusOutput,
  gate: GateOutput,
  report: ReportOutput,
  'hooks-install': HooksReportOutput,
  'hooks-status': HooksStatusOutput,
  'hooks-server': ServerHooksReportOutput,
  'hooks-server-status': ServerHooksStatusOutput,
  init: InitOutput,
  sync: SyncOutput,
  error: ErrorOutput,
  doctor: DoctorOutput,
  merge: MergeOutput,
  cleanup: CleanupOutput,
};
