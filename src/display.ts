/**
 * Text that reaches a terminal. Records come from other clones and remotes, configuration from
 * commits, so any of it may be hostile: a stored ESC sequence could repaint the screen, a bidi
 * override could make `rm a` read as something else (Trojan Source, CVE-2021-42574). Every message
 * that quotes stored or configured text goes through {@link displaySafe}, and the record schemas
 * refuse the same characters in identity fields ({@link UNSAFE_CHARS}): one rule for every reader.
 */

/** Longest free text a record holds (`note`, `reason`, `crashReason`…), in characters. */
export const FREE_TEXT_MAX = 4096;

/**
 * The characters never shown raw, as a regex character-class body: C0 controls (U+0000–U+001F), DEL
 * (U+007F), C1 controls (U+0080–U+009F; U+009B is a one-character CSI on many terminals), the bidi
 * embeddings and overrides U+202A–U+202E and the bidi isolates U+2066–U+2069 (Unicode UAX #9).
 */
export const UNSAFE_CHARS = '\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069';

const UNSAFE = new RegExp(`[${UNSAFE_CHARS}]`, 'g');
const UNSAFE_BUT_LINES = new RegExp(
  `[${UNSAFE_CHARS.replace('\\x00-\\x1f', '\\x00-\\x09\\x0b-\\x1f')}]`,
  'g',
);

function escapeChar(c: string): string {
  const n = c.charCodeAt(0);
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

/**
 * Makes text safe for a terminal: every character of {@link UNSAFE_CHARS} is shown as a `\xNN` (or
 * `\uNNNN`) escape, everything else is kept. Idempotent (an escape contains no unsafe character).
 *
 * @param opts.lines keep newlines (a whole message of several lines); default false: a value from a
 *   record is one line, so a newline in it is escaped too and cannot fake a line of output.
 */
export function displaySafe(text: string, opts: { lines?: boolean } = {}): string {
  return text.replace(opts.lines ? UNSAFE_BUT_LINES : UNSAFE, escapeChar);
}

/**
 * Quotes stored or configured text for a message: `"…"`, shortened to `max` characters (with `…`),
 * then made safe by {@link displaySafe}.
 */
export function quote(text: string, max = 200): string {
  const short = text.length > max ? `${text.slice(0, max)}…` : text;
  return `"${displaySafe(short)}"`;
}

/** True when `text` holds a character of {@link UNSAFE_CHARS} other than those in `allow` (e.g. `'\t\n'`). */
export function hasUnsafeChars(text: string, allow = ''): boolean {
  for (const m of text.matchAll(UNSAFE)) if (!allow.includes(m[0])) return true;
  return false;
}
