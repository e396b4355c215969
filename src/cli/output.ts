import pc from 'picocolors';
import { CoordError, ExitCode } from '../errors.js';

/**
 * Human output uses colour only on a TTY and never with `NO_COLOR` set (DESIGN §4); picocolors
 * already follows `NO_COLOR`, `FORCE_COLOR` and `isTTY`.
 */
export const colors = pc.createColors(Boolean(process.stdout.isTTY) && !('NO_COLOR' in process.env));

/** Prints exactly one JSON document on stdout (2-space indent, trailing newline). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Makes a value from a record safe for a terminal: control characters (ESC sequences from a hostile
 * remote, newlines) are shown as `\xNN` escapes.
 */
export function displaySafe(value: string): string {
  return value.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Reports an error that ends a command and returns the exit code: a CoordError prints its message
 * (or, with `--json`, `{"error": {"code", "message"}}` on stdout); anything else is an internal error.
 * Stack traces only with `COORD_DEBUG=1`.
 */
export function reportError(err: unknown, json: boolean): number {
  const coord = err instanceof CoordError ? err : null;
  const code = coord?.code ?? 'internal';
  const message = coord?.message ?? `internal error: ${(err as Error)?.message ?? String(err)}`;
  if (json) printJson({ error: { code, message } });
  else process.stderr.write(`${colors.red('git-coord:')} ${message}\n`);
  if (process.env.COORD_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return coord?.exitCode ?? ExitCode.error;
}
