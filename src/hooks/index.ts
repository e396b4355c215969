import { realpathSync } from 'node:fs';
import type { CliLocation } from './scripts.js';

export {
  addLefthookCommand,
  detectLayout,
  type HookAction,
  type HookLayout,
  type HookManager,
  type HookReport,
  type HookState,
  type HookStatus,
  hookStatus,
  huskyLine,
  installHooks,
  uninstallHooks,
  type WorktreeHooks,
  worktreeHooks,
} from './install.js';
export {
  CHAINED_SUFFIX,
  type CliLocation,
  HOOK_MARKER,
  HOOK_NAMES,
  type HookName,
  hookScript,
  isCoordHook,
} from './scripts.js';

/**
 * Where the running CLI is, to embed into the hook scripts: the real path of the script node runs
 * (`dist/git-coord.cjs` or `.mjs`, also through an npm bin symlink) and this node binary. `cli` is null
 * when not running from a built `.cjs`/`.mjs`/`.js` file (the hooks then look for `git-coord` on PATH).
 */
export function cliLocation(): CliLocation {
  let cli: string | null = null;
  const script = process.argv[1];
  if (script) {
    try {
      const real = realpathSync(script);
      if (/\.[cm]?js$/.test(real)) cli = real;
    } catch {
      cli = null;
    }
  }
  return { node: process.execPath, cli };
}
