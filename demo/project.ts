/**
 * The demo's sample project: a small real Node project ("shop") with gsd-style planning folders and a
 * committed `.coord/config.json` whose `done` gate is the one in DESIGN §6. Shared by the demo, the docs
 * example generator and the docs tests, so all of them run against the same layout.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { STARTER_CONFIG } from '../src/config/config.js';

/** Files of the sample project, by path relative to the repository root. */
export const PROJECT_FILES: Readonly<Record<string, string>> = {
  'package.json': `${JSON.stringify(
    { name: 'shop', version: '1.0.0', type: 'module', scripts: { test: 'node --test' } },
    null,
    2,
  )}\n`,
  'README.md': '# shop\n\nA tiny storefront API: accounts (auth) and invoices (billing).\n',
  'src/index.js': "export { login } from './auth.js';\nexport { invoiceTotal } from './billing.js';\n",
  'src/auth.js':
    '/** Checks a password against the stored one (placeholder until phase 65). */\n' +
    'export function login(user, password) {\n  return user.password === password;\n}\n',
  'src/billing.js':
    '/** Sums invoice lines, in cents. */\n' +
    'export function invoiceTotal(lines) {\n  return lines.reduce((sum, l) => sum + l.cents * l.qty, 0);\n}\n',
  'test/billing.test.js':
    "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\n" +
    "import { invoiceTotal } from '../src/billing.js';\n\n" +
    "test('sums lines', () => assert.equal(invoiceTotal([{ cents: 250, qty: 2 }]), 500));\n",
  '.planning/ROADMAP.md':
    '# Roadmap\n\n- 65-auth: hash passwords, add sessions\n- 66-billing: invoice PDFs\n' +
    '- 67-webhooks: payment provider webhooks\n',
  '.planning/lessons-learned.md':
    '# Lessons learned\n\n- Keep phases small enough to verify in one sitting.\n',
  '.planning/phases/65-auth/65-PLAN.md': '# 65 auth — plan\n\n1. Hash passwords with scrypt.\n2. Sessions.\n',
  '.planning/phases/66-billing/66-PLAN.md': '# 66 billing — plan\n\n1. Render invoices as PDF.\n',
  '.planning/phases/67-webhooks/67-PLAN.md': '# 67 webhooks — plan\n\n1. Verify provider signatures.\n',
  // The gate of DESIGN §6, exactly what `git coord init` writes as a starter.
  '.coord/config.json': `${JSON.stringify(STARTER_CONFIG, null, 2)}\n`,
};

/** Environment that isolates git from the user's configuration (no system config, fixed identity). */
export const PROJECT_GIT_ENV: Readonly<Record<string, string>> = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Demo',
  GIT_AUTHOR_EMAIL: 'demo@example.com',
  GIT_COMMITTER_NAME: 'Demo',
  GIT_COMMITTER_EMAIL: 'demo@example.com',
};

/**
 * Creates the sample project as a git repository at `dir` (created if missing) with one commit on
 * `main` holding every file of {@link PROJECT_FILES}.
 *
 * @throws Error from `git` when the repository cannot be made.
 */
export function makeProject(dir: string): void {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: dir, env: { ...process.env, ...PROJECT_GIT_ENV }, stdio: 'pipe' });
  mkdirSync(dir, { recursive: true });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Demo');
  git('config', 'user.email', 'demo@example.com');
  for (const [path, content] of Object.entries(PROJECT_FILES)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  git('add', '-A');
  git('commit', '-q', '-m', 'shop: auth and billing skeleton, roadmap for phases 65-67');
}

/**
 * Writes an executable `git-coord` shim into `binDir` that runs `node <cli>`, so `git coord …` works
 * as a git subcommand once `binDir` is on PATH (git runs `git-<name>` found on PATH).
 */
export function writeShim(binDir: string, cli: string): string {
  mkdirSync(binDir, { recursive: true });
  const shim = join(binDir, 'git-coord');
  writeFileSync(shim, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} "$@"\n`, {
    mode: 0o755,
  });
  return shim;
}

/**
 * Copies the directory holding the built CLI (`dist/`) to `<workDir>/cli` and returns the copied entry
 * point, so a rebuild of `dist/` while the commands run (its build starts by deleting it) cannot break
 * them. The bundle has no runtime dependencies outside that directory.
 */
export function snapshotCli(cli: string, workDir: string): string {
  const copy = join(workDir, 'cli');
  cpSync(dirname(cli), copy, { recursive: true });
  return join(copy, basename(cli));
}
