import { UsageError } from '../../errors.js';
import type { LeaseContext } from '../../leases/context.js';
import { resolveHolderId } from '../../leases/identity.js';
import { assertKey } from '../../refs/names.js';
import type { Repo } from '../../refs/repo.js';
import { buildReport, formatReport, isBlocked, type Report } from '../../report/index.js';
import type { ReportArgs } from '../commands/report.js';
import { context, emit, withMirror } from '../common.js';
import { colors, displaySafe } from '../output.js';

/** Builds the closeout report; read-only. */
export async function run(args: ReportArgs, cwd: string | LeaseContext = process.cwd()): Promise<Report> {
  if (args.key !== undefined) assertKey(args.key);
  const ctx = typeof cwd === 'string' ? context(cwd) : cwd;
  return buildReport(ctx, args.key ?? null, whoAmI(ctx.repo, args.holder));
}

/** The caller's holder id, or null when no identity is set (the report then says "lease", not "yours"). */
function whoAmI(repo: Repo, explicit?: string): string | null {
  try {
    return resolveHolderId(repo, explicit);
  } catch (err) {
    if (err instanceof UsageError && err.code === 'no-identity') return null;
    throw err;
  }
}

const PAINT = { BLOCK: colors.red, WARN: colors.yellow, INFO: colors.cyan } as const;

/** `git coord report`: the tagged report (JSON with `--json`); exit 4 when anything is [BLOCK]. */
export async function handle(argv: ReportArgs): Promise<void> {
  const ctx = context();
  const report = await run(argv, ctx);
  emit(argv.json, withMirror(ctx, report, argv.json), () =>
    formatReport(report, (tag, s) => PAINT[tag](s), displaySafe),
  );
  if (isBlocked(report)) process.exitCode = 4;
}
