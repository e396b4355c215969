import { hostname } from 'node:os';
import { basename } from 'node:path';

// Pure naming rules, kept free of child_process so the hook fast path (src/hooks/fast.ts) can load them.
// node:crypto is loaded on first use (process.getBuiltinModule): it costs ~2 ms of start-up, and most
// commands that load this module never compute a worktree id.

/** Host name of the caller: `$COORD_HOST` > `os.hostname()` (DESIGN §2). */
export function currentHost(): string {
  return process.env.COORD_HOST || hostname();
}

/**
 * Computes the worktree id (DESIGN §1): the directory's basename lower-cased, every run of characters
 * outside `[a-z0-9_]` turned into one `-`, leading `-`/`_` dropped, cut to 80 characters; then `-` and
 * the first 8 hex digits of sha256(`<host>:<realpath>`). Pure and O(1); the shell hooks compute the
 * same value with `printf %s "$(basename "$top")" | tr A-Z a-z | tr -cs a-z0-9_ -`.
 */
export function worktreeId(realPath: string, host: string = currentHost()): string {
  const slug =
    basename(realPath)
      .replace(/[A-Z]+/g, (m) => m.toLowerCase())
      .replace(/[^a-z0-9_]+/g, '-')
      .replace(/^[-_]+/, '')
      .slice(0, 80) || 'wt';
  const hash = process
    .getBuiltinModule('node:crypto')
    .createHash('sha256')
    .update(`${host}:${realPath}`)
    .digest('hex')
    .slice(0, 8);
  return `${slug}-${hash}`;
}
