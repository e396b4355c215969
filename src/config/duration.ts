import ms from 'ms';
import { UsageError } from '../errors.js';

/**
 * Parses a duration such as `90s`, `15m`, `2h`, `7d` (DESIGN §4) into whole seconds, using the `ms`
 * package's grammar. A bare number is seconds.
 *
 * @throws UsageError (code `invalid-duration`, exit 2) for anything else, zero or negative values.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const trimmed = String(text).trim();
  // ms() throws on an empty string (and on over-long input): both are the caller's usage error here.
  let millis: number | undefined;
  try {
    millis = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : ms(trimmed as ms.StringValue);
  } catch {
    millis = undefined;
  }
  if (typeof millis === 'number' && millis < 0) {
    throw new UsageError(
      `invalid ${what} ${JSON.stringify(text)}: a duration cannot be negative (e.g. 90s, 15m, 2h, 7d)`,
      'invalid-duration',
    );
  }
  if (typeof millis !== 'number' || !Number.isFinite(millis)) {
    throw new UsageError(
      `invalid ${what} ${JSON.stringify(text)}: use e.g. 90s, 15m, 2h, 7d`,
      'invalid-duration',
    );
  }
  return Math.round(millis / 1000);
}
