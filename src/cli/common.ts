import { parseDuration } from '../config/duration.js';
import { FREE_TEXT_MAX, hasUnsafeChars, quote } from '../display.js';
import { UsageError } from '../errors.js';
import { type LeaseContext, openContext } from '../leases/context.js';
import { formatAge } from '../leases/liveness.js';
import { mirrorStatus } from '../remote/store.js';
import { colors, displaySafe, printJson } from './output.js';
import { writeErr, writeOut } from './stdio.js';

/**
 * Runtime pieces shared by the command implementations in `run/`: the context, durations, tokens,
 * warnings, output. (The options shared by the command definitions are in `options.ts`.)
 */

/** Opens the lease context from `cwd`: works from any subdirectory of any worktree. */
export function context(cwd: string = process.cwd()): LeaseContext {
  return openContext(cwd);
}

/** Longest duration an option takes: 365 days, in seconds (a lease nobody renews for a year is a mistake). */
export const MAX_DURATION_SECONDS = 365 * 24 * 3600;

/**
 * A duration option (`90s`, `15m`, `2h`) in whole seconds, or `undefined` when not given.
 *
 * @throws UsageError `invalid-duration` (exit 2) for anything else (an empty or negative value
 *   included), a zero duration, or one over {@link MAX_DURATION_SECONDS}.
 */
export function durationArg(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const seconds = parseDuration(value, option);
  if (seconds <= 0) throw new UsageError(`${option} must be at least 1s`, 'invalid-duration');
  if (seconds > MAX_DURATION_SECONDS) {
    throw new UsageError(
      `${option} ${JSON.stringify(value)} is too long: at most 365d (${MAX_DURATION_SECONDS}s)`,
      'invalid-duration',
    );
  }
  return seconds;
}

/**
 * A free-text option (`--note`, `--reason`) as a record stores it: at most {@link FREE_TEXT_MAX}
 * characters, no control or bidi characters except tab and newline (the records' own rule).
 *
 * @throws UsageError `invalid-text` (exit 2) otherwise.
 */
export function textArg(value: string | undefined, option: string): string | undefined {
  if (value === undefined) return undefined;
  if (value.length > FREE_TEXT_MAX) {
    throw new UsageError(
      `${option} is too long: ${value.length} characters, at most ${FREE_TEXT_MAX}`,
      'invalid-text',
    );
  }
  if (hasUnsafeChars(value, '\t\n')) {
    throw new UsageError(
      `${option} ${quote(value, 60)} holds control or bidi characters (only tab and newline are kept)`,
      'invalid-text',
    );
  }
  return value;
}

/** A `--token N` value. @throws UsageError */
export function tokenArg(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new UsageError(`--token must be a positive integer, not ${value}`, 'invalid-token');
  }
  return value;
}

/** Prints a warning on stderr, made safe for the terminal (displaySafe, newlines kept). */
export function warn(message: string): void {
  writeErr(`${colors.yellow('git-coord: warning:')} ${displaySafe(message, { lines: true })}\n`);
}

/** Prints `value` as JSON with `--json`, else the human text (if any). */
export function emit(json: boolean | undefined, value: unknown, human: () => string): void {
  if (json) printJson(value);
  else {
    const text = human();
    if (text) writeOut(text.endsWith('\n') ? text : `${text}\n`);
  }
}

/** A mirror older than this is pointed out in human output (team mode), in seconds. */
export const STALE_MIRROR_SECONDS = 300;

/**
 * Team mode: `value` with a `mirror` field (how old the records it was read from are; always in
 * `--json`), and a note on stderr for humans when the mirror is older than a few minutes or was never
 * fetched. Local mode: `value` unchanged, nothing printed.
 */
export function withMirror<T extends object>(ctx: LeaseContext, value: T, json: boolean | undefined): T {
  const m = mirrorStatus(ctx.repo);
  if (!m) return value;
  if (!json && (m.ageSeconds === null || m.ageSeconds > STALE_MIRROR_SECONDS)) {
    const age =
      m.ageSeconds === null ? 'never fetched' : `last fetched ${formatAge(m.ageSeconds * 1000)} ago`;
    writeErr(
      `git-coord: note: records as this clone last saw them on ${m.remote} (${age}); \`git coord sync\` refreshes them\n`,
    );
  }
  return { ...value, mirror: m };
}
