/**
 * Typed errors shared by every layer. Each carries a stable machine-readable `code` (printed in
 * `--json` error documents as `{"error": {"code", "message"}}`) and the process exit code the CLI
 * maps it to (DESIGN §4): 1 error, 2 usage, 3 conflict, 4 refused.
 */

/** Process exit codes of the CLI contract (DESIGN §4). */
export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  conflict: 3,
  refused: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: every error git-coord raises on purpose is a CoordError. */
export class CoordError extends Error {
  /** Stable identifier, kebab-case, e.g. `cas-mismatch`. */
  readonly code: string;
  /** Exit code the CLI uses when this error ends a command. */
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, exitCode: ExitCode = ExitCode.error, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Bad arguments, invalid key or refname: raised before anything is written (exit 2). */
export class UsageError extends CoordError {
  /** The command's usage text, shown after the message in human output (never in `--json`). */
  readonly usage: string | undefined;
  constructor(message: string, code = 'usage', usage?: string) {
    super(code, message, ExitCode.usage);
    this.usage = usage;
  }
}

/** The repository cannot be served: not a git repository, unsupported ref storage or hash (exit 1). */
export class RepositoryError extends CoordError {
  constructor(message: string, code = 'repository') {
    super(code, message, ExitCode.error);
  }
}

/** A git subprocess failed (exit 1). Carries git's own stderr. */
export class GitCommandError extends CoordError {
  readonly args: readonly string[];
  readonly stderr: string;
  constructor(args: readonly string[], status: number | null, stderr: string) {
    super('git-failed', `git ${args.join(' ')} failed (exit ${status}): ${stderr.trim()}`, ExitCode.error);
    this.args = args;
    this.stderr = stderr;
  }
}
