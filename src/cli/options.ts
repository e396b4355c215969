import type { Argv } from 'yargs';

/**
 * Options shared by the command definitions in `commands/`. Imports nothing but yargs types, so the
 * command registry stays cheap to load (the implementations live in `run/`, imported lazily).
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
