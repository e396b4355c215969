/**
 * Parses the output of `git config --list -z` (entries `key\nvalue\0`; a key without `\n` is a
 * boolean `true`) into a map with lower-cased keys; the last value wins, as in git's own lookup.
 */
export function parseConfigList(out: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of out.split('\0')) {
    if (!entry) continue;
    const nl = entry.indexOf('\n');
    if (nl < 0) map.set(entry.toLowerCase(), 'true');
    else map.set(entry.slice(0, nl).toLowerCase(), entry.slice(nl + 1));
  }
  return map;
}
