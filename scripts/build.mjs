// Builds the CLI: dist/git-coord-<hash>.cjs (the whole CLI, one CommonJS script), the V8 code cache
// dist/git-coord-<hash>.cache made by running typical commands, and dist/git-coord.cjs (the executable
// that package.json `bin` names: src/cli/loader.ts, which runs the bundle with that cache), with
// dist/git-coord.mjs, the same as an ES module.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Start-up work yargs does for nothing in this bundle: (1) it imports node:assert (which sets up
 * process.stderr) for two invariant checks: they get a stand-in that loads node:assert only when a
 * check fails; (2) it looks for "the app's" package.json from the directory before `node_modules` in
 * its own path, which in a bundle is empty, so it walks from the cwd up to `/` (reading every
 * directory) and then fails an assertion: it starts from the bundle's directory instead and finds
 * git-coord's own package.json (yargs reads it only to guess a --version, which is switched off);
 * (3) yargs' ESM build uses cliui's ESM entry, whose stand-in `wrap` cuts help text every N characters,
 * mid-word ("worktre / e"): it gets cliui's CommonJS build instead, which wraps at word boundaries with
 * wrap-ansi and measures with string-width (what `require('cliui')` resolves to, as under yargs' CommonJS build);
 * (4) the same shim reads `process.stdout.columns` when it loads, which makes node build the stdout
 * stream (for a pipe or a terminal that loads `net` and `stream`, ~5 ms, issue 12): it is read when
 * yargs asks for it instead (only to wrap help without `.wrap()`, which git-coord always sets);
 * (5) `yargs()` guesses a default --version by reading the package.json found from (2) (two directory
 * listings and a file read) before git-coord switches --version off: the guess is skipped.
 */
const yargsStartup = {
  name: 'yargs-startup',
  setup(b) {
    const shim = fileURLToPath(new URL('./yargs-assert.mjs', import.meta.url));
    const fromYargs = (args) => /[\\/]node_modules[\\/]yargs[\\/]/.test(args.importer);
    b.onResolve({ filter: /^assert$/ }, (args) => (fromYargs(args) ? { path: shim } : undefined));
    b.onResolve({ filter: /^cliui$/ }, (args) =>
      fromYargs(args) ? { path: createRequire(args.importer).resolve('cliui') } : undefined,
    );
    b.onLoad({ filter: /[\\/]node_modules[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, (args) =>
      patched(args.path, [
        [
          "const mainFilename = __dirname.substring(0, __dirname.lastIndexOf('node_modules'));",
          'const mainFilename = __dirname;',
        ],
        [
          "stdColumns: typeof process.stdout.columns !== 'undefined' ? process.stdout.columns : null",
          "get stdColumns() { return typeof process.stdout.columns !== 'undefined' ? process.stdout.columns : null; }",
        ],
      ]),
    );
    b.onLoad({ filter: /[\\/]node_modules[\\/]yargs[\\/]build[\\/]lib[\\/]yargs-factory\.js$/ }, (args) =>
      patched(args.path, [['ver = this[kGuessVersion]();', "ver = 'unknown';"]]),
    );
  },
};

/** `path`'s source with each `[from, to]` replaced; throws when a `from` is not there (the package changed). */
function patched(path, replacements) {
  let source = readFileSync(path, 'utf8');
  for (const [from, to] of replacements) {
    if (!source.includes(from)) throw new Error(`build: ${path} changed (no \`${from}\`); review its plugin`);
    source = source.replace(from, to);
  }
  return { contents: source, loader: 'js' };
}

/**
 * picocolors works out a default colour setting when it is imported, reading `process.stdout.isTTY`:
 * that makes node build the stdout stream, which for a pipe or a terminal loads `net` and `stream`
 * (~5 ms of a command's start-up, issue 12). git-coord never uses that default (src/cli/output.ts
 * makes its own colours with `createColors` from src/cli/stdio.ts's `isTerminal`), so the stdout
 * test is taken out of it.
 */
const picocolorsStartup = {
  name: 'picocolors-startup',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]picocolors[\\/]picocolors\.js$/ }, (args) =>
      patched(args.path, [['((p.stdout || {}).isTTY && env.TERM !== "dumb")', 'false']]),
    );
  },
};

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');

// 1. The CLI as one CommonJS script (vm.Script takes a code cache; ES modules cannot in node 20).
// Dynamic import() of its own modules stays lazy: esbuild turns each into an init function run on
// first use. `import.meta.url` (yargs' platform shim) is the bundle's URL, passed in by the loader.
const cli = await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  write: false,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  define: { 'import.meta.url': '__coordMetaUrl' },
  plugins: [yargsStartup, picocolorsStartup],
  logLevel: 'warning',
});
// esbuild escapes every non-ASCII character (charset: ascii, its default); the loader relies on it
// (it reads the bundle as latin1).
if (cli.outputFiles[0].contents.some((byte) => byte > 0x7f))
  throw new Error('build: the CLI bundle is not ASCII');
// Wrapped here as node wraps a CommonJS module (plus `import.meta.url`): the loader compiles the file's
// text as it is read, without building a second copy of it.
const code = Buffer.concat([
  Buffer.from('(function (exports, require, module, __filename, __dirname, __coordMetaUrl) {'),
  cli.outputFiles[0].contents,
  Buffer.from('\n})'),
]);
const name = `git-coord-${createHash('sha256').update(code).digest('hex').slice(0, 12)}.cjs`;
writeFileSync(join('dist', name), code);

// 2. The executable (package.json `bin`), and the same as an ES module for the paths that name it.
await build({
  entryPoints: ['src/cli/loader.ts'],
  outfile: 'dist/git-coord.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  define: { __COORD_BUNDLE__: JSON.stringify(name) },
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
writeFileSync('dist/git-coord.mjs', "#!/usr/bin/env node\nimport './git-coord.cjs';\n");
chmodSync('dist/git-coord.cjs', 0o755);
// 3. The code cache: typical commands run one after another in a scratch repository, each adding the
// functions it compiled (COORD_CODE_CACHE_UPDATE=1, see src/cli/loader.ts).
const scratch = mkdtempSync(join(tmpdir(), 'coord-build-'));
try {
  const env = {
    ...process.env,
    COORD_CODE_CACHE_UPDATE: '1',
    COORD_HOLDER: 'build',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'build',
    GIT_AUTHOR_EMAIL: 'build@localhost',
    GIT_COMMITTER_NAME: 'build',
    GIT_COMMITTER_EMAIL: 'build@localhost',
  };
  const run = (cmd, args, ok = [0]) => {
    try {
      execFileSync(cmd, args, { cwd: scratch, env, stdio: 'ignore' });
    } catch (err) {
      if (!ok.includes(err.status)) throw new Error(`build: ${cmd} ${args.join(' ')} exited ${err.status}`);
    }
  };
  const coord = (args, ok) => run(process.execPath, [join(process.cwd(), 'dist/git-coord.cjs'), ...args], ok);
  run('git', ['init', '-q', '-b', 'main']);
  run('git', ['commit', '-q', '--allow-empty', '-m', 'init']);
  coord(['claim', 't1', '--no-worktree']);
  for (const args of [
    ['show', 't1'],
    ['show', 't1', '--json'],
    ['status'],
    ['status', '--json'],
    ['list'],
    ['list', '--json'],
    ['renew', 't1'],
    ['report', '--key', 't1'],
    ['report', '--json'],
    ['gate', 't1'],
    ['doctor', '--json'],
    ['release', 't1'],
    ['claim', 't2', '--no-worktree', '--json'],
    ['show', 'missing'],
    ['--help'],
  ])
    coord(args, [0, 1, 2, 3, 4]);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
