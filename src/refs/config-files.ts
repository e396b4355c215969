import { accessSync, constants, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * `git config --list` without starting git (~5 ms of every command that reads a setting, issue 12):
 * the files git 2.39 reads, in its order (system, global `$XDG_CONFIG_HOME/git/config` then
 * `~/.gitconfig`, the repository's `config`), parsed by the rules of git's config.c (sections and
 * quoted subsections, valueless keys, quotes, `\\` escapes, line continuations, comments; keys
 * lower-cased as {@link parseConfigList} does), last value winning.
 *
 * Returns `null`, meaning "ask git", whenever it would not give exactly git's answer: `-c` options
 * passed down (`GIT_CONFIG_PARAMETERS`, `GIT_CONFIG_COUNT`), `GIT_CONFIG`, an `[include]` or
 * `[includeIf]`, `extensions.worktreeConfig` (or any `[extensions]`), a file git would refuse to
 * parse, an unreadable file, or a `git` on `PATH` other than `/usr/bin/git` while `GIT_CONFIG_SYSTEM`
 * is unset (the system file's place is compiled into git; /usr/bin/git reads `/etc/gitconfig`).
 *
 * @param commonDir the repository's common git dir (real path).
 * @param extra entries git reports after the files: the `-c` options of our own git calls.
 */
export function readConfigFiles(
  commonDir: string,
  extra: ReadonlyArray<[string, string]>,
): Map<string, string> | null {
  const env = process.env;
  if (env.GIT_CONFIG_PARAMETERS || env.GIT_CONFIG_COUNT || env.GIT_CONFIG) return null;
  const files: string[] = [];
  if (!truthy(env.GIT_CONFIG_NOSYSTEM)) {
    const system = env.GIT_CONFIG_SYSTEM ?? (gitOnPath() === '/usr/bin/git' ? '/etc/gitconfig' : null);
    if (system === null) return null;
    files.push(system);
  }
  if (env.GIT_CONFIG_GLOBAL !== undefined) files.push(env.GIT_CONFIG_GLOBAL);
  else {
    const home = env.HOME ?? homedir();
    files.push(join(env.XDG_CONFIG_HOME || join(home, '.config'), 'git', 'config'), join(home, '.gitconfig'));
  }
  files.push(join(commonDir, 'config'));
  const map = new Map<string, string>();
  for (const file of files) {
    if (file === '' || file === '/dev/null') continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      return null;
    }
    if (!parseConfigText(text, map)) return null;
  }
  for (const [k, v] of extra) map.set(k.toLowerCase(), v);
  return map;
}

/** git's boolean for an environment variable. */
function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

/** The real path of the `git` that a spawn by name would run (the first executable on `PATH`). */
function gitOnPath(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, 'git');
    try {
      accessSync(path, constants.X_OK);
      return realpathSync(path);
    } catch {
      // not here
    }
  }
  return null;
}

const isSpace = (c: string) =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
const isAlpha = (c: string) => /^[A-Za-z]$/.test(c);
const isKeyChar = (c: string) => /^[A-Za-z0-9-]$/.test(c);

/**
 * Parses one config file into `map` as git's config.c does; `false` for anything git would reject
 * and for the constructs {@link readConfigFiles} leaves to git (includes, extensions).
 */
export function parseConfigText(input: string, map: Map<string, string>): boolean {
  const text = input.startsWith('\ufeff') ? input.slice(1) : input;
  let i = 0;
  /** git's get_next_char: `\r\n` reads as `\n`, the end of the file as a final `\n`. */
  const next = (): string | null => {
    if (i >= text.length) {
      i++;
      return i === text.length + 1 ? '\n' : null;
    }
    let c = text[i++]!;
    if (c === '\r' && text[i] === '\n') c = text[i++]!;
    return c;
  };
  const eof = () => i > text.length;
  let section: string | null = null;
  for (;;) {
    const c = next();
    if (c === null || (c === '\n' && eof())) return true;
    if (c === '\n' || isSpace(c)) continue;
    if (c === '#' || c === ';') {
      let d: string | null;
      do d = next();
      while (d !== null && d !== '\n');
      if (d === null || eof()) return true;
      continue;
    }
    if (c === '[') {
      section = parseSection(next);
      if (section === null) return false;
      const base = section.split('.')[0]!;
      if (base === 'include' || base === 'includeif' || base === 'extensions') return false;
      continue;
    }
    if (!isAlpha(c) || section === null) return false;
    let name = c.toLowerCase();
    let d = next();
    while (d !== null && !eof() && isKeyChar(d)) {
      name += d.toLowerCase();
      d = next();
    }
    while (d === ' ' || d === '\t') d = next();
    const key = `${section}.${name}`;
    if (d === '\n' || d === null) map.set(key, 'true');
    else if (d !== '=') return false;
    else {
      const value = parseValue(next);
      if (value === null) return false;
      map.set(key, value);
    }
    if (eof()) return true;
  }
}

/** git's get_base_var / get_extended_base_var, after the `[`: `section` or `section.subsection`. */
function parseSection(next: () => string | null): string | null {
  let name = '';
  for (;;) {
    let c = next();
    if (c === null || c === '\n') return null;
    if (c === ']') return name === '' ? null : name;
    if (isSpace(c)) {
      while (c !== null && c !== '\n' && isSpace(c)) c = next();
      if (c !== '"') return null;
      name += '.';
      for (;;) {
        c = next();
        if (c === null || c === '\n') return null;
        if (c === '"') break;
        if (c === '\\') {
          c = next();
          if (c === null || c === '\n') return null;
        }
        name += c.toLowerCase();
      }
      return next() === ']' ? name : null;
    }
    if (!isKeyChar(c) && c !== '.') return null;
    name += c.toLowerCase();
  }
}

/** git's parse_value, after the `=`: quotes, escapes, continuations, inner spaces kept, comments cut. */
function parseValue(next: () => string | null): string | null {
  let value = '';
  let quote = false;
  let comment = false;
  let space = 0;
  for (;;) {
    let c = next();
    if (c === null || c === '\n') return quote ? null : value;
    if (comment) continue;
    if (isSpace(c) && !quote) {
      if (value.length) space++;
      continue;
    }
    if (!quote && (c === ';' || c === '#')) {
      comment = true;
      continue;
    }
    value += ' '.repeat(space);
    space = 0;
    if (c === '\\') {
      c = next();
      if (c === '\n') continue;
      if (c === 't') value += '\t';
      else if (c === 'b') value += '\b';
      else if (c === 'n') value += '\n';
      else if (c === '\\' || c === '"') value += c;
      else return null;
      continue;
    }
    if (c === '"') {
      quote = !quote;
      continue;
    }
    value += c;
  }
}
