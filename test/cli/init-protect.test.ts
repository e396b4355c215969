import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OUTPUT_SCHEMAS } from '../../src/cli/schemas.js';
import { STARTER_CONFIG } from '../../src/config/config.js';
import { cleanup, makeBareRemote, run, sh, tempDir } from '../fixtures/repo.js';
import { as, write } from '../hooks/helpers.js';
import { cli, cliJson } from './helpers.js';

afterAll(cleanup);

/** A repository whose first branch is `branch` (no commit yet when `commit` is false). */
function repoOn(branch: string, commit = true): string {
  const dir = tempDir();
  sh(dir, 'init', '-q', '-b', branch);
  sh(dir, 'config', 'user.name', 'Test User');
  sh(dir, 'config', 'user.email', 'user@example.com');
  if (commit) {
    writeFileSync(join(dir, 'README.md'), '# fixture\n');
    sh(dir, 'add', 'README.md');
    sh(dir, 'commit', '-q', '-m', 'initial');
  }
  return dir;
}

interface InitJson {
  configWritten: string | null;
  protect: { branch: string; source: string; why: string } | null;
}

const protectOf = (dir: string) =>
  (JSON.parse(readFileSync(join(dir, '.coord', 'config.json'), 'utf8')) as { protect: string[] }).protect;

describe('init protects the repository’s real default branch (issue 9 item 8)', () => {
  it('a repository on master gets "protect": ["master"], and a leased branch pushed to master is checked', async () => {
    const dir = repoOn('master');
    const out = await cliJson<InitJson>(dir, ['init']);
    OUTPUT_SCHEMAS.init!.parse(out);
    expect(protectOf(dir)).toEqual(['master']);
    expect(out.protect).toMatchObject({ branch: 'master', source: 'branch' });
    // The rest of the starter config is DESIGN §6's.
    const written = JSON.parse(readFileSync(join(dir, '.coord', 'config.json'), 'utf8'));
    expect({ ...written, protect: STARTER_CONFIG.protect }).toEqual(STARTER_CONFIG);
    const human = await cli(join(dir), ['init']);
    expect(human.code).toBe(0);

    // What the wrong default let through: leased, ungated work pushed onto master.
    sh(dir, 'add', '.coord/config.json');
    write(dir, '.planning/phases/12-login/12-PLAN.md', '# plan\n');
    sh(dir, 'add', '.planning');
    sh(dir, 'commit', '-q', '-m', 'coord config, phase 12');
    const remote = makeBareRemote();
    sh(dir, 'remote', 'add', 'origin', remote);
    sh(dir, 'push', '-q', '--no-verify', 'origin', 'master');
    const lease = await cliJson<{ worktree: { path: string }; branch: string }>(dir, ['claim', '12'], 0, {
      COORD_HOLDER: 'agent-1',
    });
    const wt = lease.worktree.path;
    write(wt, 'login.js', 'export const login = () => true;\n');
    sh(wt, 'add', 'login.js');
    const commit = await run('git', ['commit', '-q', '-m', 'login'], { cwd: wt, env: as('agent-1') });
    expect(commit.code, commit.stderr).toBe(0);
    const push = await run('git', ['push', 'origin', `${lease.branch}:master`], {
      cwd: wt,
      env: as('agent-1'),
    });
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain('protected branch master');
    expect(push.stderr).toContain('git coord done 12');
    expect(sh(remote, 'rev-parse', 'master')).toBe(sh(dir, 'rev-parse', 'master'));
  });

  it("a clone protects its remote's default branch (refs/remotes/origin/HEAD), whatever is checked out", async () => {
    const upstream = repoOn('trunk');
    const clone = join(tempDir(), 'clone');
    sh(upstream, 'clone', '-q', upstream, clone);
    sh(clone, 'checkout', '-q', '-b', 'feature');
    const out = await cliJson<InitJson>(clone, ['init']);
    expect(protectOf(clone)).toEqual(['trunk']);
    expect(out.protect).toMatchObject({ branch: 'trunk', source: 'remote' });
    expect(out.protect!.why).toContain('refs/remotes/origin/HEAD');
  });

  it('main when it exists, even with the main worktree on another branch; an unborn branch as it is', async () => {
    const dir = repoOn('main');
    sh(dir, 'checkout', '-q', '-b', 'wip');
    await cliJson(dir, ['init']);
    expect(protectOf(dir)).toEqual(['main']);

    const fresh = repoOn('develop', false);
    const out = await cliJson<InitJson>(fresh, ['init']);
    expect(protectOf(fresh)).toEqual(['develop']);
    expect(out.protect).toMatchObject({ source: 'head' });
  });

  it('an existing config is kept as it is (protect: null in the output)', async () => {
    const dir = repoOn('master');
    write(dir, '.coord/config.json', '{ "protect": ["release"] }\n');
    const out = await cliJson<InitJson>(dir, ['init']);
    expect(out.protect).toBeNull();
    expect(protectOf(dir)).toEqual(['release']);
  });
});
