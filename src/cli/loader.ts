import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

/**
 * The `git-coord` executable, `dist/git-coord.cjs` (package.json `bin`; built by scripts/build.mjs
 * from this file), and `dist/git-coord.mjs`, the same as an ES module for the paths that name it
 * (installed hooks, docs). The CommonJS entry is the quick one: node sets up its ES module loader only
 * for an ES module entry, ~6 ms of CPU (measured: `node empty.mjs` 1.10x `node -e 0`, `node empty.cjs`
 * 1.03x).
 *
 * The CLI itself (src/cli/main.ts and everything it loads) is one CommonJS script,
 * `dist/git-coord-<hash>.cjs`, run here through `vm.Script` with a V8 code cache,
 * `dist/git-coord-<hash>.cache`: bytecode of the functions a set of typical commands ran, made by the
 * build (scripts/build.mjs runs them with `COORD_CODE_CACHE_UPDATE=1`). With the cache V8 neither
 * parses nor compiles those functions again, which is most of git-coord's own start-up (issue 12:
 * ~25 ms of a ~150 ms `show`). `<hash>` is the bundle's content hash, so a cache always belongs to
 * the bytes it was made from; V8 itself rejects a cache from another V8 version or other flags
 * (`cachedDataRejected`), and the CLI then runs exactly as without one, only slower.
 *
 * With `COORD_CODE_CACHE_UPDATE=1` the cache is rewritten at exit (temp file + rename) with every
 * function compiled so far, the cached ones included: the build runs its training commands one after
 * another with it, each adding its own functions.
 */

/** File name of the bundle next to this file; replaced by the build (esbuild `define`). */
declare const __COORD_BUNDLE__: string;

const file = join(__dirname, __COORD_BUNDLE__);
const cacheFile = file.replace(/\.cjs$/, '.cache');
let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // no cache (or unreadable): compile from source
}
// The bundle is already wrapped as node's own CommonJS loader wraps a module (plus the bundle's
// `import.meta.url`) by the build, so its text is compiled as read, without a copy; it is ASCII (the
// build checks), so read as latin1: byte for byte, without UTF-8 decoding.
const script = new Script(readFileSync(file, 'latin1'), { filename: file, cachedData });
if (process.env.COORD_CODE_CACHE_UPDATE === '1') {
  process.once('exit', () => {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, cacheFile);
  });
}
const module = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(
  module.exports,
  createRequire(file),
  module,
  file,
  dirname(file),
  pathToFileURL(file).href,
);
