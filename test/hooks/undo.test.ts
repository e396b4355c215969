import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../cli/helpers.js';
import { cleanup, makeRepo, sh } from '../fixtures/repo.js';
import { claim, commitAs, initRepo } from './helpers.js';

/** Issue 9 items 1 and 14: undoing `git coord init` leaves the repository as it was, and no check running. */

afterAll(cleanup);

function snapshot(dir: string) {
  const git = join(dir, '.git');
  return {
    config: readFileSync(join(git, 'config'), 'utf8'),
    exclude: readFileSync(join(git, 'info', 'exclude'), 'utf8'),
    hooks: readdirSync(join(git, 'hooks')).sort(),
    coord: existsSync(join(git, 'coord')),
  };
}

describe('hooks uninstall undoes init', () => {
  it('config, info/exclude, hooks directory and .git/coord as before; every line names its hook', async () => {
    const dir = makeRepo();
    const before = snapshot(dir);
    const init = await cli(dir, ['init']);
    expect(init.code, init.stderr).toBe(0);
    expect(snapshot(dir)).not.toEqual(before);
    const un = await cli(dir, ['hooks', 'uninstall']);
    expect(un.code, un.stderr).toBe(0);
    expect(snapshot(dir)).toEqual(before);
    expect(un.stdout).not.toMatch(/^-:/m);
    for (const hook of ['pre-commit', 'commit-msg', 'pre-push', 'reference-transaction'])
      expect(un.stdout).toMatch(new RegExp(`^${hook}: removed`, 'm'));
  });

  it('with records left, the gc setting stays and uninstall says why', async () => {
    const dir = await initRepo();
    await claim(dir, 'k', 'agent-a', ['--no-worktree']);
    expect((await cli(dir, ['renew', 'k'], { COORD_HOLDER: 'agent-a' })).code).toBe(0);
    expect(existsSync(join(dir, '.git', 'coord', 'write-locks'))).toBe(true); // the renew's lock directory
    const un = await cli(dir, ['hooks', 'uninstall']);
    expect(un.code, un.stderr).toBe(0);
    expect(existsSync(join(dir, '.git', 'coord', 'write-locks'))).toBe(false);
    expect(un.stdout).toContain('kept gc.refs/coord/*.reflogExpireUnreachable: records remain');
    expect(sh(dir, 'config', 'gc.refs/coord/*.reflogExpireUnreachable')).toBe('never');
  });
});

const preCommit = spawnSync('pre-commit', ['--version'], { encoding: 'utf8' });

describe('pre-commit (pre-commit.com) in migration mode', () => {
  it.skipIf(preCommit.status !== 0)(
    'after `pre-commit install` keeps ours as pre-commit.legacy, uninstall leaves no coord check running',
    async () => {
      const dir = await initRepo();
      writeFileSync(join(dir, '.pre-commit-config.yaml'), 'repos: []\n');
      sh(dir, 'add', '.pre-commit-config.yaml');
      sh(dir, 'commit', '-q', '--no-verify', '-m', 'pre-commit config');
      const wt = await claim(dir, 'k', 'agent-a');
      execFileSync('pre-commit', ['install'], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, PRE_COMMIT_HOME: join(dir, '.git', 'pc-home') },
      });
      const hooks = join(dir, '.git', 'hooks');
      expect(readFileSync(join(hooks, 'pre-commit.legacy'), 'utf8')).toContain('git-coord-hook');
      const status = JSON.parse((await cli(dir, ['hooks', 'status', '--json'])).stdout);
      expect(status.worktrees.every((w: { runs: boolean }) => w.runs)).toBe(true);
      const env = { PRE_COMMIT_HOME: join(dir, '.git', 'pc-home') };
      expect((await commitAs(wt, 'agent-b', 'refused', env)).code).not.toBe(0);
      const un = await cli(dir, ['hooks', 'uninstall']);
      expect(un.code, un.stderr).toBe(0);
      expect(un.stdout).toContain('pre-commit.legacy');
      expect(existsSync(join(hooks, 'pre-commit.legacy'))).toBe(false);
      expect(readdirSync(hooks).some((f) => /coord/.test(f))).toBe(false);
      const after = await commitAs(wt, 'agent-b', 'no coord check', env);
      expect(after.code, after.stderr).toBe(0);
      expect(after.stderr).not.toContain('git-coord');
    },
  );
});
