import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hookStatus, installHooks, uninstallHooks } from '../../src/hooks/install.js';
import { discoverRepo, worktreeId } from '../../src/refs/repo.js';
import { cleanup, makeRepo, run, sh } from '../fixtures/repo.js';

afterAll(cleanup);

const NOWHERE = { node: null, cli: '/nonexistent/dist/git-coord.mjs' };
/** PATH without any git-coord on it. */
const PATH_NO_CLI = (process.env.PATH ?? '')
  .split(':')
  .filter((d) => !existsSync(join(d, 'git-coord')))
  .join(':');

function commit(dir: string, env: Record<string, string> = {}) {
  writeFileSync(join(dir, `f-${Math.random()}`), 'x\n');
  sh(dir, 'add', '-A');
  return run('git', ['commit', '-m', 'change'], { cwd: dir, env: { PATH: PATH_NO_CLI, ...env } });
}

describe('hooks install / uninstall (plain repository)', () => {
  it('installs all three hooks, idempotently, and reports them', () => {
    const dir = makeRepo();
    const repo = discoverRepo(dir);
    const first = installHooks(repo, NOWHERE);
    expect(first.actions.map((a) => [a.hook, a.action])).toEqual([
      ['pre-commit', 'installed'],
      ['commit-msg', 'installed'],
      ['pre-push', 'installed'],
      ['reference-transaction', 'installed'],
    ]);
    const hooks = join(repo.commonDir, 'hooks');
    const before = readFileSync(join(hooks, 'pre-commit'));
    expect(statSync(join(hooks, 'pre-commit')).mode & 0o777).toBe(0o755);
    const again = installHooks(repo, NOWHERE);
    expect(again.actions.every((a) => a.action === 'unchanged')).toBe(true);
    expect(readFileSync(join(hooks, 'pre-commit'))).toEqual(before);
    const status = hookStatus(repo, NOWHERE);
    expect(status.hooks.map((h) => h.state)).toEqual(['installed', 'installed', 'installed', 'installed']);
    expect(status.manager).toBeNull();
    expect(status.coreHooksPath).toBeNull();
    // A different CLI path makes them outdated; install rewrites them.
    const other = { node: null, cli: '/elsewhere/git-coord.mjs' };
    expect(hookStatus(repo, other).hooks[0]!.state).toBe('outdated');
    expect(installHooks(repo, other).actions[0]!.action).toBe('updated');
  });

  it('with hooks installed and no leases a commit is allowed without starting node', async () => {
    const dir = makeRepo();
    installHooks(discoverRepo(dir), NOWHERE); // the CLI path does not exist: node would fail closed
    const res = await commit(dir);
    expect(res.stderr).not.toContain('git-coord');
    expect(res.code).toBe(0);
  });

  it('fails closed when it must run node and cannot find the CLI; COORD=0 skips', async () => {
    const dir = makeRepo();
    const repo = discoverRepo(dir);
    installHooks(repo, NOWHERE);
    // A lease and index records for this worktree and branch, held by someone else: node must decide.
    const record = (fields: object) => {
      writeFileSync(join(dir, 'rec.json'), `${JSON.stringify(fields, null, 2)}\n`);
      return sh(dir, 'hash-object', '-w', 'rec.json');
    };
    const wt = worktreeId(dir);
    const fields = { key: '65', holder: 'someone-else', token: 1 };
    const wtRec = record({
      schema: 'coord.worktree/v1',
      id: wt,
      path: dir,
      host: hostname(),
      branch: 'main',
      ...fields,
    });
    sh(dir, 'update-ref', 'refs/coord/leases/65', record({ schema: 'coord.lease/v1', key: '65' }));
    sh(dir, 'update-ref', `refs/coord/worktrees/${wt}`, wtRec);
    rmSync(join(dir, 'rec.json'));
    const res = await commit(dir);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('cannot find the git-coord CLI');
    expect(res.stderr).toContain('COORD=0');
    expect((await commit(dir, { COORD: '0' })).code).toBe(0);
    // A record of another worktree with the same name (slug) but another path: no owner, no node.
    const other = record({
      schema: 'coord.worktree/v1',
      id: wt,
      path: '/elsewhere/x',
      host: hostname(),
      branch: null,
      ...fields,
    });
    sh(dir, 'update-ref', `refs/coord/worktrees/${wt}`, other);
    expect((await commit(dir)).code).toBe(0);
    // The branch index counts too.
    const brRec = record({ schema: 'coord.branch/v1', branch: 'main', ...fields });
    sh(dir, 'update-ref', 'refs/coord/branches/main', brRec);
    expect((await commit(dir)).code).not.toBe(0);
  });

  it('keeps an existing pre-commit hook, runs it first (its failure blocks), and restores it byte for byte', async () => {
    const dir = makeRepo();
    const repo = discoverRepo(dir);
    const path = join(repo.commonDir, 'hooks', 'pre-commit');
    const original = '#!/bin/sh\n# the user\'s own hook\necho "user hook says no" >&2\nexit 1\n';
    writeFileSync(path, original);
    chmodSync(path, 0o750);
    expect((await commit(dir)).code).toBe(1);
    const report = installHooks(repo, NOWHERE);
    expect(report.actions[0]).toMatchObject({ hook: 'pre-commit', action: 'chained' });
    expect(hookStatus(repo, NOWHERE).hooks[0]).toMatchObject({ state: 'installed', chained: true });
    const res = await commit(dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('user hook says no');
    // Idempotent: the chained hook is not chained twice.
    expect(installHooks(repo, NOWHERE).actions[0]!.action).toBe('unchanged');
    const un = uninstallHooks(repo);
    expect(un.actions[0]).toMatchObject({ hook: 'pre-commit', action: 'restored' });
    expect(readFileSync(path, 'utf8')).toBe(original);
    expect(statSync(path).mode & 0o7777).toBe(0o750);
    expect(existsSync(`${path}.coord-chained`)).toBe(false);
    expect(existsSync(join(repo.commonDir, 'hooks', 'commit-msg'))).toBe(false);
    expect((await commit(dir)).code).toBe(1);
  });

  it('a passing chained hook lets the commit through and gets its arguments', async () => {
    const dir = makeRepo();
    const repo = discoverRepo(dir);
    const path = join(repo.commonDir, 'hooks', 'commit-msg');
    writeFileSync(path, '#!/bin/sh\necho "chained got $(basename "$1")" >&2\n');
    chmodSync(path, 0o755);
    installHooks(repo, NOWHERE);
    const res = await commit(dir);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('chained got COMMIT_EDITMSG');
  });

  it('uninstall in a repository without coord hooks changes nothing', () => {
    const dir = makeRepo();
    const res = uninstallHooks(discoverRepo(dir));
    expect(res.actions.map((a) => a.action)).toEqual(['absent']);
  });

  it('installs into a linked worktree the shared hooks directory', () => {
    const dir = makeRepo();
    sh(dir, 'worktree', 'add', '-q', '-b', 'side', join(dir, '.coord', 'worktrees', 'side'));
    const wt = discoverRepo(join(dir, '.coord', 'worktrees', 'side'));
    const res = installHooks(wt, NOWHERE);
    expect(res.layout.hooksDir).toBe(join(wt.commonDir, 'hooks'));
    expect(existsSync(join(wt.commonDir, 'hooks', 'pre-push'))).toBe(true);
  });
});
