import { parseDuration } from '../config/duration.js';
import { UsageError } from '../errors.js';
import { type LeaseContext, openContext } from '../leases/context.js';
import { formatAge } from '../leases/liveness.js';
import { mirrorStatus } from '../remote/store.js';
import { colors, displaySafe, printJson } from './output.js';

/**
 * Runtime pieces shared by the command implementations in `run/`: the context, durations, tokens,
 * warnings, output. (The options shared by the command definitions are in `options.ts`.)
 */

/** Opens the lease context from `cwd`: works from any subdirectory of any worktree. */
export function context(cwd: string = process.cwd()): LeaseContext {
  return openContext(cwd);
}

/**
 * A duration option (`90s`, `15m`, `2h`) in whole seconds, or `undefined` when not given.
 *
 * @throws UsageError for anything else or a zero duration.
 */
export function durationArg(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const seconds = parseDuration(value, option);
  if (seconds <= 0) throw new UsageError(`${option} must be at least 1s`, 'invalid-duration');
  return seconds;
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
  process.stderr.write(`${colors.yellow('git-coord: warning:')} ${displaySafe(message, { lines: true })}\n`);
}

/** Prints `value` as JSON with `--json`, else the human text (if any). */
export function emit(json: boolean | undefined, value: unknown, human: () => string): void {
  if (json) printJson(value);
  else {
    const text = human();
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
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
    process.stderr.write(
      `git-coord: note: records as this clone last saw them on ${m.remote} (${age}); \`git coord sync\` refreshes them\n`,
    );
  }
  return { ...value, mirror: m };
}
