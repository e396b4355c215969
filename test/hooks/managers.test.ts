import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OUTPUT_SCHEMAS } from '../../src/cli/schemas.js';
import { cli, makeCoordRepo } from '../cli/helpers.js';
import { cleanup, run, sh } from '../fixtures/repo.js';
import { as, claim, commitAs, switchAs, TEST_CONFIG, write } from './helpers.js';

afterAll(cleanup);

/**
 * husky and lefthook, really installed from the npm registry into the temporary repository (never
 * into the project). Skipped, saying so, only when the registry cannot be reached.
 */

const NETWORK =
  /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network|socket hang up|getaddrinfo/i;

/** `npm install --no-save <pkg>` in `dir`. Returns null when done, or why the registry was unreachable. */
function npmInstall(dir: string, pkg: string): string | null {
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'fixture', private: true }, null, 2)}\n`,
  );
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\npackage-lock.json\n');
  const res = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', pkg], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 150_000,
  });
  if (res.status === 0) return null;
  const out = `${res.stdout}\n${res.stderr}\n${res.error?.message ?? ''}`;
  if (NETWORK.test(out) || res.error) return out.trim().split('\n').slice(-3).join(' ');
  throw new Error(`npm install ${pkg} failed:\n${out}`);
}

function skipOffline(why: string | null, pkg: string, skip: (note?: string) => void): void {
  if (why === null) return;
  const note = `SKIPPED: the npm registry is unreachable, so ${pkg} cannot be installed for this test (${why})`;
  console.warn(note);
  skip(note);
}

describe('husky (core.hooksPath = .husky/_)', () => {
  it('install appends one line to .husky/<hook>; the hooks work; uninstall restores the files', async (ctx) => {
    const dir = makeCoordRepo(TEST_CONFIG);
    skipOffline(npmInstall(dir, 'husky'), 'husky', ctx.skip);
    execFileSync('node', [join(dir, 'node_modules', 'husky', 'bin.js')], { cwd: dir, encoding: 'utf8' });
    expect(sh(dir, 'config', 'core.hooksPath')).toBe('.husky/_');
    const userHook = 'echo "user pre-commit ran"\n';
    write(dir, '.husky/pre-commit', userHook);
    sh(dir, 'add', '.gitignore', '.husky/pre-commit');
    sh(dir, 'commit', '-q', '--no-verify', '-m', 'husky');

    const res = await cli(dir, ['hooks', 'install', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const report = OUTPUT_SCHEMAS['hooks-install']!.parse(JSON.parse(res.stdout)) as {
      layout: { manager: string };
      actions: Array<{ action: string }>;
    };
    expect(report.layout.manager).toBe('husky');
    expect(report.actions.map((a: { action: string }) => a.action)).toEqual([
      'integrated',
      'integrated',
      'integrated',
      'installed',
    ]);
    const text = readFileSync(join(dir, '.husky/pre-commit'), 'utf8');
    expect(text.startsWith(userHook)).toBe(true);
    expect(text.split('\n').filter((l) => l.includes('git-coord-hook'))).toHaveLength(1);
    expect(existsSync(join(dir, '.husky/commit-msg'))).toBe(true);
    // Idempotent.
    const again = JSON.parse((await cli(dir, ['hooks', 'install', '--json'])).stdout);
    expect(again.actions.map((a: { action: string }) => a.action)).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
    const status = OUTPUT_SCHEMAS['hooks-status']!.parse(
      JSON.parse((await cli(dir, ['hooks', 'status', '--json'])).stdout),
    ) as { hooks: Array<{ state: string }> };
    expect(status).toMatchObject({ husky: true, manager: 'husky', coreHooksPath: '.husky/_' });
    expect(status.hooks.map((h: { state: string }) => h.state)).toEqual([
      'integrated',
      'integrated',
      'integrated',
      'installed',
    ]);

    // husky's hooks directory lives in each worktree, so this uses the main worktree on a leased branch.
    await claim(dir, '65', 'agent-a', ['--no-worktree', '--branch', 'phase-65']);
    await switchAs(dir, 'agent-a', 'phase-65');
    const refused = await commitAs(dir, 'agent-b');
    expect(refused.code).not.toBe(0);
    expect(`${refused.stdout}${refused.stderr}`).toContain('user pre-commit ran');
    expect(refused.stderr).toContain('agent-a');
    const ok = await commitAs(dir, 'agent-a');
    expect(ok.code, ok.stderr).toBe(0);
    write(dir, '.planning/lessons-learned.md', 'l\n');
    write(dir, '.planning/phases/65-a/65-PLAN-CHECK.md', 'p\n');
    const trailer = await commitAs(dir, 'agent-a', 'done\n\nCoord-Done: 65');
    expect(trailer.code).not.toBe(0);
    expect(trailer.stderr).toContain('65-VERIFICATION.md');

    // A worktree made by claim runs the hooks too (issue 9 item 1): husky's hooks directory is
    // relative and untracked, so claim copies it in; status and doctor name a worktree without it.
    sh(dir, 'add', '.husky');
    expect(
      (
        await run('git', ['commit', '-q', '--no-verify', '-m', 'husky hooks'], {
          cwd: dir,
          env: as('agent-a'),
        })
      ).code,
    ).toBe(0);
    const wt = await claim(dir, '66', 'agent-a');
    expect(existsSync(join(wt, '.husky/_/pre-commit'))).toBe(true);
    const inWt = await commitAs(wt, 'agent-b');
    expect(inWt.code).not.toBe(0);
    expect(`${inWt.stdout}${inWt.stderr}`).toContain('user pre-commit ran');
    expect(inWt.stderr).toContain('agent-a');
    expect((await commitAs(wt, 'agent-a')).code).toBe(0);
    const st = JSON.parse((await cli(dir, ['hooks', 'status', '--json'])).stdout);
    expect(st.worktrees.map((w: { runs: boolean }) => w.runs)).toEqual([true, true]);
    rmSync(join(wt, '.husky/_'), { recursive: true });
    const st2 = JSON.parse((await cli(dir, ['hooks', 'status', '--json'])).stdout);
    expect(st2.worktrees.find((w: { path: string }) => w.path === wt).runs).toBe(false);
    const doc = JSON.parse((await cli(dir, ['doctor', '--json'])).stdout);
    expect(doc.problems.map((p: { kind: string; path?: string }) => [p.kind, p.path])).toContainEqual([
      'hooks-not-running',
      wt,
    ]);
    const fix = JSON.parse((await cli(dir, ['doctor', '--fix', '--json'])).stdout);
    expect(fix.problems.find((p: { kind: string }) => p.kind === 'hooks-not-running').fixed).toBe(true);
    expect((await commitAs(wt, 'agent-b')).code).not.toBe(0);
    expect((await cli(dir, ['release', '66'], { COORD_HOLDER: 'agent-a' })).code).toBe(0);

    const un = await cli(dir, ['hooks', 'uninstall']);
    expect(un.code, un.stderr).toBe(0);
    expect(readFileSync(join(dir, '.husky/pre-commit'), 'utf8')).toBe(userHook);
    expect(existsSync(join(dir, '.husky/commit-msg'))).toBe(false);
    expect(existsSync(join(dir, '.husky/pre-push'))).toBe(false);
    expect((await commitAs(dir, 'agent-b')).code).toBe(0);
  });
});

describe('lefthook (lefthook.yml)', () => {
  it('install adds a git-coord command to each hook; lefthook runs it; uninstall restores lefthook.yml', async (ctx) => {
    const dir = makeCoordRepo(TEST_CONFIG);
    skipOffline(npmInstall(dir, 'lefthook'), 'lefthook', ctx.skip);
    const lefthook = join(dir, 'node_modules', '.bin', 'lefthook');
    const original = 'pre-commit:\n  commands:\n    lint:\n      run: echo "user lint ran"\n';
    writeFileSync(join(dir, 'lefthook.yml'), original);
    execFileSync(lefthook, ['install'], { cwd: dir, encoding: 'utf8' });
    const lefthookPreCommit = readFileSync(join(dir, '.git/hooks/pre-commit'), 'utf8');
    expect(lefthookPreCommit).toContain('lefthook');

    const res = await cli(dir, ['hooks', 'install', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout);
    expect(report.layout.manager).toBe('lefthook');
    expect(report.actions.map((a: { action: string }) => a.action)).toEqual([
      'integrated',
      'integrated',
      'integrated',
      'installed',
    ]);
    const yml = readFileSync(join(dir, 'lefthook.yml'), 'utf8');
    expect(yml).toContain('    lint:\n      run: echo "user lint ran"');
    expect(yml).toContain('git-coord:');
    expect(yml).toContain('use_stdin: true');
    // lefthook install ran: git now calls lefthook for commit-msg and pre-push too; its own hook is untouched.
    expect(readFileSync(join(dir, '.git/hooks/commit-msg'), 'utf8')).toContain('lefthook');
    expect(readFileSync(join(dir, '.git/hooks/pre-push'), 'utf8')).toContain('lefthook');
    expect(readFileSync(join(dir, '.git/hooks/pre-commit'), 'utf8')).toBe(lefthookPreCommit);
    const again = JSON.parse((await cli(dir, ['hooks', 'install', '--json'])).stdout);
    expect(again.actions.map((a: { action: string }) => a.action)).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
    expect(readFileSync(join(dir, 'lefthook.yml'), 'utf8')).toBe(yml);
    const status = JSON.parse((await cli(dir, ['hooks', 'status', '--json'])).stdout);
    expect(status.manager).toBe('lefthook');
    expect(status.hooks.map((h: { state: string }) => h.state)).toEqual([
      'integrated',
      'integrated',
      'integrated',
      'installed',
    ]);

    // Commit lefthook.yml so the leased worktree (checked out from main) has the commands too.
    sh(dir, 'add', 'lefthook.yml', '.gitignore');
    sh(dir, 'commit', '-q', '--no-verify', '-m', 'lefthook');
    const wt = await claim(dir, '65', 'agent-a');
    const refused = await commitAs(wt, 'agent-b');
    expect(refused.code).not.toBe(0);
    const out = `${refused.stdout}${refused.stderr}`;
    expect(out).toContain('user lint ran');
    expect(out).toContain('agent-a');
    const ok = await commitAs(wt, 'agent-a');
    expect(ok.code, `${ok.stdout}${ok.stderr}`).toBe(0);
    write(wt, '.planning/lessons-learned.md', 'l\n');
    write(wt, '.planning/phases/65-a/65-PLAN-CHECK.md', 'p\n');
    const trailer = await commitAs(wt, 'agent-a', 'done\n\nCoord-Done: 65');
    expect(trailer.code).not.toBe(0);
    expect(`${trailer.stdout}${trailer.stderr}`).toContain('65-VERIFICATION.md');

    const un = await cli(dir, ['hooks', 'uninstall']);
    expect(un.code, un.stderr).toBe(0);
    expect(readFileSync(join(dir, 'lefthook.yml'), 'utf8')).toBe(original);
    expect(statSync(join(dir, '.git/hooks/pre-commit')).isFile()).toBe(true);
    expect(readFileSync(join(dir, '.git/hooks/pre-commit'), 'utf8')).toBe(lefthookPreCommit);
    // The dispatchers lefthook added only for git-coord's commands are gone too (issue 9 item 14).
    expect(existsSync(join(dir, '.git/hooks/commit-msg'))).toBe(false);
    expect(existsSync(join(dir, '.git/hooks/pre-push'))).toBe(false);
    expect(existsSync(join(dir, '.git/hooks/reference-transaction'))).toBe(false);
    expect(un.stdout).not.toMatch(/^-:/m);
  });
});
