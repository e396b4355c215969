import * as z from 'zod/mini';
import { FREE_TEXT_MAX, UNSAFE_CHARS } from '../display.js';
import { BRANCH_PATTERN, KEY_PATTERN, refnameProblem } from '../refs/names.js';

/**
 * Record definitions (DESIGN §2). Every field is documented once, here, with its unit; the same
 * definitions validate what is read from refs and generate the published JSON Schemas in
 * `docs/schema/` (`npm run schemas`). Object keys are encoded in the order declared here.
 */

/** No C0/C1 control, DEL or bidi control character (src/display.ts, the rule every reader shares). */
const NO_CONTROL = new RegExp(`^[^${UNSAFE_CHARS}]*$`);
/** The same, but tab and newline allowed (free text). */
const FREE_TEXT = new RegExp(`^[^${UNSAFE_CHARS.replace('\\x00-\\x1f', '\\x00-\\x08\\x0b-\\x1f')}]*$`);

/**
 * `schema` itself, with `description` in zod's global registry, where `toJSONSchema` reads it (the
 * same metadata `z.describe` attaches). A description is metadata, not a check: as a check
 * (`.check(z.describe(…))`) it would keep codec.ts `compiledRecordType` from compiling the schema.
 */
function d<T extends z.ZodMiniType>(schema: T, description: string): T {
  z.globalRegistry.add(schema, { description });
  return schema;
}
/** A single-line string of `min`..`max` characters without control characters. */
const safeText = (max: number, min = 0, desc?: string) => {
  const text = z
    .string()
    .check(
      z.minLength(min),
      z.maxLength(max),
      z.regex(NO_CONTROL, 'must not contain control or bidi characters'),
    );
  return desc ? d(text, desc) : text;
};
const freeText = (desc: string) =>
  z.nullable(
    d(
      z
        .string()
        .check(
          z.maxLength(FREE_TEXT_MAX),
          z.regex(FREE_TEXT, 'must not contain control or bidi characters other than tab and newline'),
        ),
      desc,
    ),
  );
const oid = (desc: string) =>
  d(z.string().check(z.regex(/^[0-9a-f]{40}$/, 'must be a 40-hex object id')), desc);
const timestamp = (desc: string) => d(z.iso.datetime({ precision: 3 }), `${desc} (ISO 8601 UTC, ms)`);
const count = (desc: string) => d(z.int().check(z.nonnegative()), desc);
const positive = (desc: string) => d(z.int().check(z.positive()), desc);
const leaseKey = (desc: string) =>
  d(
    z
      .string()
      .check(
        z.regex(
          KEY_PATTERN,
          'must be a valid lease key ([A-Za-z0-9][A-Za-z0-9._-]{0,99}, no "..", not ending in "." or ".lock")',
        ),
      ),
    desc,
  );
const branchName = (desc: string) =>
  d(
    z.string().check(
      z.maxLength(255),
      z.regex(BRANCH_PATTERN, 'must be a valid branch name'),
      z.refine(
        (b) => !b.startsWith('-') && refnameProblem(`refs/heads/${b}`) === null,
        'must be a valid branch name',
      ),
    ),
    desc,
  );
const absolutePath = (desc: string) =>
  d(
    safeText(4096).check(
      z.refine(
        (p) => p.startsWith('/') && !p.split('/').includes('..'),
        'must be an absolute path without ".."',
      ),
    ),
    desc,
  );
const holderId = (desc: string) => safeText(200, 1, desc);
const hostName = (desc: string) => safeText(255, 1, desc);

export const Holder = d(
  z.strictObject({
    id: holderId('Holder identity: --holder > $COORD_HOLDER > coord.holder > user.email'),
    host: hostName('Host the holder runs on: $COORD_HOST > hostname'),
    pid: z.nullable(positive('Long-lived agent process id (--pid > $COORD_PID), or null')),
    pidStart: z.nullable(
      count('Start time of pid in clock ticks since boot (Linux /proc/<pid>/stat field 22); null elsewhere'),
    ),
    user: z.nullable(safeText(200, 0, 'OS user name of the caller, or null')),
  }),
  'Who holds a lease',
);
export type Holder = z.infer<typeof Holder>;

export const WorktreeRef = d(
  z.strictObject({
    id: safeText(120, 1, 'Worktree id: slugged basename + "-" + 8 hex of sha256(host:realpath)'),
    path: absolutePath('Absolute real path of the worktree on its host'),
    host: hostName('Host the worktree lives on'),
  }),
  'A worktree as referenced from a lease',
);
export type WorktreeRef = z.infer<typeof WorktreeRef>;

export const GateResult = d(
  z.strictObject({
    result: d(z.enum(['passed', 'failed', 'overridden']), 'Outcome of the last gate evaluation'),
    missing: d(z.array(safeText(4096)), 'Rules or paths that failed'),
    reason: freeText('Reason given with --force, or null'),
    by: holderId('Holder id that ran the gate'),
    at: timestamp('When the gate ran'),
    commit: z.nullable(oid('Commit the gate was evaluated on, or null')),
    runs: z.optional(
      d(
        z.array(
          d(
            z.strictObject({
              command: safeText(4096, 1, 'The command as configured (run with sh -c)'),
              status: d(
                z.enum(['pass', 'fail', 'timeout']),
                'pass: exit 0; fail: non-zero exit or killed; timeout: stopped at the gate timeout',
              ),
              exitCode: z.nullable(count('Exit code, or null when it ended by a signal')),
              signal: z.nullable(safeText(20, 1, 'Signal that ended it (e.g. SIGTERM), or null')),
              durationMs: count('Wall-clock run time in milliseconds'),
              output: safeText(
                4096,
                1,
                'File with its combined stdout and stderr, relative to the git common dir',
              ),
            }),
            'One `run` command of the gate, executed in a pristine detached worktree',
          ),
        ),
        'The `run` rules executed (absent when the gate has none or they were not run)',
      ),
    ),
  }),
  'Last gate result recorded in a lease',
);

export const MergeRecord = d(
  z.strictObject({
    into: branchName('Branch the lease branch was merged into (refs/heads/<into>)'),
    method: d(
      z.enum(['fast-forward', 'merge', 'squash', 'already-merged']),
      'fast-forward: <into> moved to head; merge: a merge commit; squash: one commit with the changes; ' +
        'already-merged: head was already contained in <into>, nothing moved',
    ),
    head: oid('Head of the lease branch that was merged'),
    before: oid('<into> before the merge'),
    commit: oid('<into> after the merge (head when fast-forwarded, the new commit otherwise)'),
    by: holderId('Holder id of who ran the merge'),
    at: timestamp('When the merge was recorded'),
    reason: freeText('Reason given with --force (merging a lease that is not done), or null'),
  }),
  'The last `git coord merge` of the lease branch',
);
export type MergeRecord = z.infer<typeof MergeRecord>;
export type GateResult = z.infer<typeof GateResult>;

/** How many attempts a lease keeps (the oldest are dropped; `number` keeps counting). */
export const ATTEMPTS_KEPT = 10;

export const Attempt = d(
  z.strictObject({
    number: positive('Attempt number on this key: 1 for the first run, +1 for each run, never reset'),
    holder: holderId('Holder id the attempt ran for'),
    token: positive('Fencing token of the lease during the attempt'),
    pid: z.nullable(positive('Process id of the runner (`git coord run`), or null')),
    startedAt: timestamp('When the command was started'),
    endedAt: z.nullable(timestamp('When the attempt ended, or null while it runs')),
    exit: z.nullable(
      d(
        z.int().check(z.minimum(0), z.maximum(255)),
        'Exit code of the command, or null (running, or killed by a signal)',
      ),
    ),
    signal: z.nullable(
      safeText(32, 1, 'Signal that ended the command (e.g. SIGTERM), or null when it exited by itself'),
    ),
    result: d(
      z.enum(['running', 'done', 'released', 'failed', 'kept', 'gate-failed', 'lost', 'aborted', 'crashed']),
      'running; done / released (exit 0, lease closed); failed (non-zero exit, lease closed failed); kept (non-zero exit, lease kept open with --keep); gate-failed (exit 0 but the done gate refused, lease open); lost (the lease was taken over or closed meanwhile); aborted (the runner was interrupted); crashed (killed by a signal, or the runner died)',
    ),
    reason: freeText('What happened, in words, or null'),
  }),
  'One run of a command under the lease (`git coord run`)',
);
export type Attempt = z.infer<typeof Attempt>;

export const Lease = d(
  z.strictObject({
    schema: d(z.literal('coord.lease/v1'), 'Record type and version'),
    key: leaseKey('The lease key (one refname component)'),
    state: d(z.enum(['open', 'closed', 'crashed']), 'Lifecycle state'),
    outcome: z.nullable(
      d(
        z.enum(['done', 'released', 'failed', 'aborted', 'cleared']),
        'How a closed lease ended (cleared: a tombstone left by `clear`, token kept); null unless closed',
      ),
    ),
    holder: Holder,
    token: positive('Fencing token: +1 on every acquisition (claim, takeover, re-claim), never reset'),
    revision: positive('+1 on every write of this record'),
    branch: z.nullable(branchName('Branch the work happens on, or null')),
    baseRef: z.nullable(oid('Commit the work started from, or null')),
    worktree: z.nullable(WorktreeRef),
    ttlSeconds: positive('Time to live after renewedAt, in seconds'),
    acquiredAt: timestamp('When the current holder acquired the lease'),
    renewedAt: timestamp('Last heartbeat; expiry = renewedAt + ttlSeconds + skew'),
    transitions: count('Number of holder changes (k8s leaseTransitions)'),
    closedAt: z.nullable(timestamp('When the lease was closed, or null')),
    crashedAt: z.nullable(timestamp('When the lease was marked crashed, or null')),
    crashReason: freeText('Why the lease was marked crashed, or null'),
    gate: z.nullable(GateResult),
    note: freeText('Free text the holder may set, or null'),
    merge: z.optional(d(z.nullable(MergeRecord), 'Last merge of the branch (git coord merge), or null')),
    attempts: z.optional(
      d(
        z.array(Attempt).check(z.maxLength(ATTEMPTS_KEPT)),
        `Runs of \`git coord run\` on this key, oldest first; the last ${ATTEMPTS_KEPT} are kept; absent before the first run`,
      ),
    ),
    nonce: z.optional(
      d(
        z.string().check(z.regex(/^[0-9a-f]{16}$/, 'must be 16 hex digits')),
        'Team mode: 16 random hex digits, new on every write, so no two writes produce the same object id ' +
          '(a push of an oid the remote already has is "up to date" without checking the lease; DESIGN §7). ' +
          'Absent in local mode',
      ),
    ),
  }),
  'A lease on one unit of work, at refs/coord/leases/<key>',
);
export type Lease = z.infer<typeof Lease>;

export const BranchIndex = d(
  z.strictObject({
    schema: d(z.literal('coord.branch/v1'), 'Record type and version'),
    branch: branchName('The branch (refs/heads/<branch>) this entry is about'),
    key: leaseKey('Key of the lease that holds the branch'),
    holder: holderId('Holder id of that lease'),
    token: positive('Fencing token of that lease when the entry was written'),
  }),
  'Index entry: which lease holds a branch, at refs/coord/branches/<branch>',
);
export type BranchIndex = z.infer<typeof BranchIndex>;

export const WorktreeRecord = d(
  z.strictObject({
    schema: d(z.literal('coord.worktree/v1'), 'Record type and version'),
    id: safeText(120, 1, 'Worktree id (DESIGN §1)'),
    path: absolutePath('Absolute real path of the worktree on its host'),
    host: hostName('Host the worktree lives on'),
    branch: z.nullable(branchName('Branch checked out in the worktree, or null')),
    key: leaseKey('Key of the lease that owns the worktree'),
    holder: holderId('Holder id of that lease'),
    token: positive('Fencing token of that lease when the entry was written'),
  }),
  'Worktree ownership: which lease owns a worktree, at refs/coord/worktrees/<wtid>',
);
export type WorktreeRecord = z.infer<typeof WorktreeRecord>;

export const AuditEvent = d(
  z.strictObject({
    schema: d(z.literal('coord.audit/v1'), 'Record type and version'),
    action: d(
      z.enum(['override', 'takeover', 'clear', 'crash', 'quarantine', 'merge', 'remove', 'join']),
      'What happened: gate override, takeover, forced clear, crash mark, quarantine, branch merge, removal of a ref whose object is missing or whose file holds no object id (doctor --fix; the oid or content is in reason), a clone joining team mode',
    ),
    key: z.nullable(leaseKey('Lease key concerned, or null')),
    ref: z.nullable(safeText(1024, 1, 'Ref concerned (e.g. the quarantined ref), or null')),
    at: timestamp('When it happened'),
    by: d(
      z.strictObject({ id: holderId('Holder id of the actor'), host: hostName('Host of the actor') }),
      'Who did it',
    ),
    reason: freeText('Reason given, or null'),
    previousHolder: z.nullable(holderId('Holder id before the event, or null')),
    token: z.nullable(positive('Fencing token after the event, or null')),
    commit: z.nullable(oid('Commit concerned (e.g. the gated commit, the merge result), or null')),
    missing: d(z.array(safeText(4096)), 'What a gate found missing (override events), else empty'),
  }),
  'One audit event, at refs/coord/audit/<yyyy-mm-dd>/<time>-<rand>',
);
export type AuditEvent = z.infer<typeof AuditEvent>;

/** A record type: its schema id and its definition. */
export interface RecordType<T> {
  /** Short name used in messages and schema file names, e.g. `lease`. */
  name: string;
  /** The `schema` field value, e.g. `coord.lease/v1`. */
  id: string;
  schema: z.ZodMiniType<T>;
}

export const LeaseType: RecordType<Lease> = { name: 'lease', id: 'coord.lease/v1', schema: Lease };
export const BranchIndexType: RecordType<BranchIndex> = {
  name: 'branch',
  id: 'coord.branch/v1',
  schema: BranchIndex,
};
export const WorktreeType: RecordType<WorktreeRecord> = {
  name: 'worktree',
  id: 'coord.worktree/v1',
  schema: WorktreeRecord,
};
export const AuditType: RecordType<AuditEvent> = { name: 'audit', id: 'coord.audit/v1', schema: AuditEvent };

/** Every stored record type, for schema generation. */
export const RECORD_TYPES: ReadonlyArray<RecordType<unknown>> = [
  LeaseType,
  BranchIndexType,
  WorktreeType,
  AuditType,
];
