import type { Argv } from 'yargs';
import { parseDuration } from '../config/duration.js';
import { UsageError } from '../errors.js';
import { type LeaseContext, openContext } from '../leases/context.js';
import { colors, printJson } from './output.js';

/**
 * Pieces shared by the lease commands: common options, the context, durations, warnings.
 */

/** `--json`: stdout holds exactly one JSON document. */
export interface JsonArgs {
  json?: boolean;
}

/** Adds `--json`. */
export function withJson<T>(y: Argv<T>): Argv<T & JsonArgs> {
  return y.option('json', { type: 'boolean', describe: 'print exactly one JSON document on stdout' });
}

/** Adds `--holder ID`. */
export function withHolder<T>(y: Argv<T>): Argv<T & { holder?: string }> {
  return y.option('holder', {
    type: 'string',
    describe: 'who you are (default: $COORD_HOLDER, git config coord.holder, user.email)',
  });
}

/** The `<key>` positional, kept a string (`065` stays `065`). */
export function withKey<T>(y: Argv<T>): Argv<T & { key: string }> {
  return y.positional('key', { type: 'string', describe: 'lease key, e.g. a phase or task id' }) as Argv<
    T & { key: string }
  >;
}

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

/** Prints a warning on stderr. */
export function warn(message: string): void {
  process.stderr.write(`${colors.yellow('git-coord: warning:')} ${message}\n`);
}

/** Prints `value` as JSON with `--json`, else the human text (if any). */
export function emit(json: boolean | undefined, value: unknown, human: () => string): void {
  if (json) printJson(value);
  else {
    const text = human();
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}
