import pc from 'picocolors';
import { displaySafe, UNSAFE_CHARS } from '../display.js';
import { CoordError, ExitCode, UsageError } from '../errors.js';
import { isTerminal, writeErr, writeOut } from './stdio.js';

export { displaySafe } from '../display.js';

/**
 * Human output uses colour only when stdout is a terminal and never with `NO_COLOR` set (DESIGN §4).
 * (picocolors' own default, which reads `process.stdout`, is taken out by the build: scripts/build.mjs.)
 */
export const colors = pc.createColors(!('NO_COLOR' in process.env) && isTerminal(1));

/** The unsafe characters JSON.stringify leaves raw (it escapes only U+0000–U+001F). */
const JSON_RAW = new RegExp(`[${UNSAFE_CHARS.replace('\\x00-\\x1f', '')}]`, 'g');

/**
 * Prints exactly one JSON document on stdout (2-space indent, trailing newline). DEL, C1 controls and
 * bidi controls are written as `\uNNNN` escapes (the same string to a JSON reader), so the document
 * is safe on a terminal too.
 */
export function printJson(value: unknown): void {
  writeOut(`${jsonText(value)}\n`);
}

/** `value` as {@link printJson} writes it, without the trailing newline. */
function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    JSON_RAW,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Prints `{"<key>": [<items>], <rest>}` exactly as {@link printJson} would, the items one at a time,
 * so a long list is never held in memory as one document: written in chunks of about 64 KiB.
 */
export function jsonListPrinter(key: string): { item(value: unknown): void; end(rest?: object): void } {
  let pending = `{\n  ${JSON.stringify(key)}: [`;
  let count = 0;
  const flush = () => {
    writeOut(pending);
    pending = '';
  };
  // Each item is stringified inside the same wrapper, so JSON.stringify indents it as in the whole
  // document; the wrapper's own lines are cut off again.
  const head = `{\n  ${JSON.stringify(key)}: [\n`.length;
  return {
    item(value) {
      const text = jsonText({ [key]: [value] });
      pending += `${count++ === 0 ? '\n' : ',\n'}${text.slice(head, text.length - 6)}`;
      if (pending.length >= 65536) flush();
    },
    end(rest = {}) {
      pending += count === 0 ? ']' : '\n  ]';
      // `{\n  "a": …,\n  "b": …\n}`: the fields after the list, indented as in the whole document
      if (Object.keys(rest).length > 0) pending += `,\n${jsonText(rest).slice(2, -2)}`;
      pending += '\n}\n';
      flush();
    },
  };
}

/**
 * Reports an error that ends a command and returns the exit code: a CoordError prints its message
 * (or, with `--json`, `{"error": {"code", "message"}}` on stdout) and, for a UsageError that carries
 * one, the command's usage; anything else is an internal error.
 * The message is passed through displaySafe (newlines kept), whatever it quotes.
 * Stack traces only with `COORD_DEBUG=1`.
 */
export function reportError(err: unknown, json: boolean): number {
  const coord = err instanceof CoordError ? err : null;
  const code = coord?.code ?? 'internal';
  const message = coord?.message ?? `internal error: ${(err as Error)?.message ?? String(err)}`;
  if (json) printJson({ error: { code, message } });
  else {
    writeErr(`${colors.red('git-coord:')} ${displaySafe(message, { lines: true })}\n`);
    if (err instanceof UsageError && err.usage) writeErr(`\n${err.usage.trimEnd()}\n`);
  }
  if (process.env.COORD_DEBUG === '1' && err instanceof Error) writeErr(`${err.stack}\n`);
  return coord?.exitCode ?? ExitCode.error;
}
