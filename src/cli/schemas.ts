import * as z from 'zod/mini';
import { DoctorOutput } from '../doctor/index.js';
import { Lease } from '../records/schemas.js';

/**
 * Schemas of the CLI's `--json` outputs (DESIGN §4), the contract tests validate against. Not imported
 * by the commands themselves (start-up stays lean); `OUTPUT_SCHEMAS` names each by command.
 */

const d = z.describe;

/** Liveness of an open lease: `null` when live (or not open). */
export const StaleField = z
  .nullable(z.enum(['expired', 'holder-dead', 'pid-reused']))
  .check(d('Why an open lease is stale: expired, holder-dead, pid-reused; null when live or not open'));

/** `show <key> --json`: the stored lease record plus `stale`. */
export const ShowOutput = z
  .strictObject({ ...Lease.shape, stale: StaleField })
  .check(d('git coord show --json: the stored lease record plus "stale"'));

/** `list --json`. */
export const ListOutput = z
  .strictObject({ leases: z.array(ShowOutput).check(d('Leases sorted by key')) })
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
  })
  .check(d('git coord status --json'));

/** `clear <key> --json`. */
export const ClearOutput = z
  .strictObject({
    key: z.string(),
    lease: z.nullable(Lease).check(d('The lease as it was before clearing; null for a corrupt record')),
    deleted: z.array(z.string()).check(d('Refs deleted')),
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
  error: ErrorOutput,
  doctor: DoctorOutput,
};
