// Bundles the CLI into one ESM file (dist/git-coord.mjs) for fast start-up.
// Heavy modules (isomorphic-git) stay behind dynamic import() and land in their own chunks.

import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
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
 * wrap-ansi and measures with string-width (what `require('cliui')` resolves to, as under yargs' CommonJS build).
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
    b.onLoad({ filter: /[\\/]node_modules[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, (args) => {
      const from = "const mainFilename = __dirname.substring(0, __dirname.lastIndexOf('node_modules'));";
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(from)) throw new Error(`yargs-startup: ${args.path} changed; review this plugin`);
      return { contents: source.replace(from, 'const mainFilename = __dirname;'), loader: 'js' };
    });
  },
};

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: { 'git-coord': 'src/cli/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: false,
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  plugins: [yargsStartup],
  logLevel: 'warning',
});
chmodSync('dist/git-coord.mjs', 0o755);
