import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installHooks } from '../../src/hooks/install.js';
import { discoverRepo } from '../../src/refs/repo.js';
import { cli, record, sleep } from '../cli/helpers.js';
import { cleanup, makeBareRemote, run, sh } from '../fixtures/repo.js';
import { claim, commitAs, commitAs as commitWith, initRepo, pushAs, switchAs, write } from './helpers.js';

afterAll(cleanup);

const lease = (dir: string, key: string) => record(dir, `refs/coord/leases/${key}`)!;

/**
 * The holder's commit is handled by the shell with git plumbing; `COORD_HOOK_NODE=1` sends every
 * decision to node (src/hooks/fast.ts, then src/hooks/run.ts), so both paths are tested the same way.
 */
for (const mode of ['shell', 'node'] as const) {
  describe(`pre-commit through real git commit (${mode} path)`, () => {
    const modeEnv = mode === 'node' ? { COORD_HOOK_NODE: '1' } : {};
    const commitAs = (
      cwd: string,
      holder: string | undefined,
      message?: string,
      extra: Record<string, string | undefined> = {},
      args: string[] = [],
    ) => commitWith(cwd, holder, message, { ...modeEnv, ...extra }, args);

    it("refuses holder B in A's worktree naming A; A's own commit is allowed and renews; B in its own worktree is allowed", async () => {
      const dir = await initRepo();
      const wtA = await claim(dir, '65', 'agent-a');
      const wtB = await claim(dir, '66', 'agent-b');
      expect(wtA).toBe(join(dir, '.coord', 'worktrees', '65'));

      const refused = await commitAs(wtA, 'agent-b');
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('refusing the commit');
      expect(refused.stderr).toContain('agent-a');
      expect(refused.stderr).toContain('lease 65');
      expect(refused.stderr).toMatch(/since \d{4}-\d\d-\d\dT/);
      expect(refused.stderr).toMatch(/last heartbeat \S+ ago/);
      expect(refused.stderr).toContain('git coord takeover 65');
      expect(refused.stderr).toContain('You are agent-b');
      expect(sh(wtA, 'rev-parse', 'HEAD')).toBe(lease(dir, '65').baseRef);

      const before = lease(dir, '65');
      await sleep(20);
      const allowed = await commitAs(wtA, 'agent-a', 'work by A');
      expect(allowed.code, allowed.stderr).toBe(0);
      expect(sh(wtA, 'log', '-1', '--format=%s')).toBe('work by A');
      const after = lease(dir, '65');
      expect(Date.parse(after.renewedAt)).toBeGreaterThan(Date.parse(before.renewedAt));
      expect(after.revision).toBe(before.revision + 1);
      expect(after.token).toBe(before.token);
      // Still canonical: the same bytes the CLI's encoder writes.
      const blob = sh(dir, 'cat-file', 'blob', 'refs/coord/leases/65');
      expect(`${blob}\n`).toBe(`${JSON.stringify(JSON.parse(blob), null, 2)}\n`);
      expect({ ...after, revision: 0, renewedAt: '' }).toEqual({ ...before, revision: 0, renewedAt: '' });
      const reflog = readFileSync(join(dir, '.git', 'logs', 'refs', 'coord', 'leases', '65'), 'utf8')
        .trim()
        .split('\n');
      expect(reflog.at(-1)).toMatch(
        /^[0-9a-f]{40} [0-9a-f]{40} agent-a <agent-a> \d+ [+-]\d{4}\tcoord: renew 65 by agent-a token 1$/,
      );
      const show = await cli(dir, ['show', '65', '--json']);
      expect(show.code, show.stderr).toBe(0);
      expect(JSON.parse(show.stdout).renewedAt).toBe(after.renewedAt);
      expect(sh(dir, 'rev-parse', 'refs/coord/leases/65@{1}')).toBe(
        sh(dir, 'rev-parse', 'refs/coord/leases/65@{1}'),
      );

      const own = await commitAs(wtB, 'agent-b', 'work by B');
      expect(own.code, own.stderr).toBe(0);
      // The main worktree has no record: anyone may commit there.
      expect((await commitAs(dir, 'agent-b')).code).toBe(0);
    });

    it('with identity from git config user.email (no $COORD_HOLDER)', async () => {
      const dir = await initRepo();
      const wt = await claim(dir, '7', 'holder@example.com');
      sh(dir, 'config', 'user.email', 'holder@example.com');
      const before = lease(dir, '7');
      await sleep(20);
      const res = await commitAs(wt, undefined);
      expect(res.code, res.stderr).toBe(0);
      expect(Date.parse(lease(dir, '7').renewedAt)).toBeGreaterThan(Date.parse(before.renewedAt));
      sh(dir, 'config', 'user.email', 'someone-else@example.com');
      const refused = await commitAs(wt, undefined);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('holder@example.com');
    });

    it('refuses a commit on the leased branch checked out elsewhere (the branch index)', async () => {
      const dir = await initRepo();
      await claim(dir, '12', 'agent-a', ['--no-worktree', '--branch', 'feat-12']);
      const branch = lease(dir, '12').branch!;
      await switchAs(dir, 'agent-a', branch);
      const refused = await commitAs(dir, 'agent-b');
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(`branch ${branch}`);
      expect((await commitAs(dir, 'agent-a')).code).toBe(0);
    });

    it('a stale owner is refused with the takeover hint; after takeover the new holder commits', async () => {
      const dir = await initRepo();
      const wt = await claim(dir, '30', 'agent-a', ['--ttl', '1s']);
      await sleep(2300); // ttl 1s + skew 1s
      const refused = await commitAs(wt, 'agent-b');
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('stale');
      expect(refused.stderr).toContain('git coord takeover 30');
      const take = await cli(dir, ['takeover', '30', '--reason', 'agent-a went quiet'], {
        COORD_HOLDER: 'agent-b',
      });
      expect(take.code, take.stderr).toBe(0);
      expect((await commitAs(wt, 'agent-b')).code).toBe(0);
      expect((await commitAs(wt, 'agent-a')).code).not.toBe(0);
    });

    it('COORD=0 skips the check; --no-verify skips pre-commit but the reference-transaction hook still refuses', async () => {
      const dir = await initRepo();
      const wt = await claim(dir, '40', 'agent-a');
      expect((await commitAs(wt, 'agent-b', 'skip', { COORD: '0' })).code).toBe(0);
      const noVerify = await commitAs(wt, 'agent-b', 'skip', {}, ['--no-verify']);
      expect(noVerify.code).not.toBe(0);
      expect(noVerify.stderr).toContain('refusing to update refs/heads/');
    });
  });
}

describe('the holder path does not start node', () => {
  it('with the CLI unreachable, the holder still commits and renews; anyone else fails closed', async () => {
    const dir = await initRepo();
    const wt = await claim(dir, '65', 'agent-a');
    // Point the hooks at a CLI that does not exist, with no git-coord on PATH: any node start fails.
    installHooks(discoverRepo(dir), { node: null, cli: '/nonexistent/git-coord.mjs' });
    const path = (process.env.PATH ?? '')
      .split(':')
      .filter((d) => !existsSync(join(d, 'git-coord')))
      .join(':');
    const before = lease(dir, '65');
    await sleep(20);
    const ok = await commitWith(wt, 'agent-a', 'holder commit', { PATH: path });
    expect(ok.code, ok.stderr).toBe(0);
    expect(Date.parse(lease(dir, '65').renewedAt)).toBeGreaterThan(Date.parse(before.renewedAt));
    const other = await commitWith(wt, 'agent-b', 'other commit', { PATH: path });
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('cannot find the git-coord CLI');
    // An identity the shell does not handle (it would need JSON escapes) goes to node as well.
    const odd = await commitWith(wt, 'agent a', 'odd identity', { PATH: path });
    expect(odd.stderr).toContain('cannot find the git-coord CLI');
  });
});

describe('with a git older than 2.36 (no %(raw))', () => {
  it('the hook lists names only and lets node decide: never fails open', async () => {
    const dir = await initRepo();
    const wt = await claim(dir, '65', 'agent-a');
    installHooks(discoverRepo(dir), { node: null, cli: '/nonexistent/git-coord.mjs' });
    // A git that refuses %(raw), first on PATH (the hook script is run directly, as git would).
    const shim = join(dir, '.git', 'shim');
    mkdirSync(shim);
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(shim, 'git'),
      `#!/bin/sh\ncase "$*" in *'%(raw)'*) echo "fatal: unknown field name: raw" >&2; exit 128 ;; esac\nexec ${real} "$@"\n`,
      { mode: 0o755 },
    );
    const path = [
      shim,
      ...(process.env.PATH ?? '').split(':').filter((d) => !existsSync(join(d, 'git-coord'))),
    ].join(':');
    const hook = join(dir, '.git', 'hooks', 'pre-commit');
    const leased = await run('sh', [hook], { cwd: wt, env: { PATH: path, COORD_HOLDER: 'agent-a' } });
    expect(leased.code).not.toBe(0);
    expect(leased.stderr).toContain('cannot find the git-coord CLI');
    const free = await run('sh', [hook], { cwd: dir, env: { PATH: path, COORD_HOLDER: 'agent-a' } });
    expect(free.code, free.stderr).toBe(0);
  });
});

describe('commit-msg: Coord-Done trailer', () => {
  it('Coord-Done: 65 with 65-VERIFICATION.md missing is refused; after adding it, allowed', async () => {
    const dir = await initRepo();
    const wt = await claim(dir, '65', 'agent-a');
    write(wt, '.planning/lessons-learned.md', '# lessons\n');
    write(wt, '.planning/phases/65-auth/65-PLAN-CHECK.md', 'plan checked\n');
    const msg = 'Finish phase 65\n\nCoord-Done: 65\n';
    const refused = await commitAs(wt, 'agent-a', msg);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('Coord-Done: 65');
    expect(refused.stderr).toContain('65-VERIFICATION.md');
    expect(refused.stderr).not.toContain('65-PLAN-CHECK.md —');
    write(wt, '.planning/phases/65-auth/65-VERIFICATION.md', 'verified\n');
    const ok = await commitAs(wt, 'agent-a', msg);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('gate done passed');
    expect(sh(wt, 'log', '-1', '--format=%(trailers:key=Coord-Done,valueonly)')).toBe('65');
  });

  it('uses the tree being committed (git commit <path> leaves other staged files out)', async () => {
    const dir = await initRepo();
    write(dir, '.planning/lessons-learned.md', '# lessons\n');
    write(dir, '.planning/phases/9-x/9-PLAN-CHECK.md', 'ok\n');
    sh(dir, 'add', '-A');
    sh(dir, 'commit', '-q', '-m', 'plan');
    write(dir, '.planning/phases/9-x/9-VERIFICATION.md', 'ok\n');
    sh(dir, 'add', '-A');
    // Only the lessons file goes into this commit: the verification stays staged, not committed.
    write(dir, '.planning/lessons-learned.md', '# more lessons\n');
    const { run } = await import('../fixtures/repo.js');
    const res = await run(
      'git',
      ['commit', '-m', 'x\n\nCoord-Done: 9', '--', '.planning/lessons-learned.md'],
      {
        cwd: dir,
        env: { COORD_HOLDER: 'x' },
      },
    );
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('9-VERIFICATION.md');
  });

  it('a message without the trailer, or a key whose gate does not apply, passes', async () => {
    const dir = await initRepo();
    expect((await commitAs(dir, 'a', 'plain message')).code).toBe(0);
    const res = await commitAs(dir, 'a', 'x\n\nCoord-Done: 99');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain('skipped');
    const bad = await commitAs(dir, 'a', 'x\n\nCoord-Done: ../etc');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('not a lease key');
  });
});

describe('pre-push to a real bare remote', () => {
  async function setup() {
    const dir = await initRepo();
    const remote = makeBareRemote();
    sh(dir, 'remote', 'add', 'origin', remote);
    sh(dir, 'push', '-q', '--no-verify', 'origin', 'main');
    return { dir, remote };
  }

  it("refuses A pushing B's leased branch; B may push it; --no-verify bypasses", async () => {
    const { dir, remote } = await setup();
    const wtB = await claim(dir, '70', 'agent-b');
    expect((await commitAs(wtB, 'agent-b', 'B work')).code).toBe(0);
    const branch = lease(dir, '70').branch!;
    const refused = await pushAs(dir, 'agent-a', ['origin', branch]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`branch ${branch}`);
    expect(refused.stderr).toContain('agent-b');
    expect(sh(remote, 'for-each-ref', '--format=%(refname)', 'refs/heads')).toBe('refs/heads/main');
    // Pushing something else onto that remote branch name is refused too.
    const onto = await pushAs(dir, 'agent-a', ['origin', `main:refs/heads/${branch}`]);
    expect(onto.code).not.toBe(0);
    const own = await pushAs(wtB, 'agent-b', ['origin', branch]);
    expect(own.code, own.stderr).toBe(0);
    const bypass = await pushAs(dir, 'agent-a', ['--no-verify', 'origin', `${branch}:refs/heads/copy`]);
    expect(bypass.code).toBe(0);
  });

  it('refuses a protected-branch push carrying an ungated leased branch; allows it once the lease is done', async () => {
    const { dir, remote } = await setup();
    const wt = await claim(dir, '80', 'agent-a');
    const branch = lease(dir, '80').branch!;
    write(wt, '.planning/lessons-learned.md', '# lessons\n');
    write(wt, '.planning/phases/80-feature/80-PLAN-CHECK.md', 'plan\n');
    expect((await commitAs(wt, 'agent-a', 'phase 80 work')).code).toBe(0);
    sh(dir, 'merge', '-q', '--no-ff', '--no-verify', '-m', 'merge 80', branch);
    const refused = await pushAs(dir, 'agent-a', ['origin', 'main']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('protected branch main');
    expect(refused.stderr).toContain(branch);
    expect(refused.stderr).toContain('80-VERIFICATION.md');
    expect(refused.stderr).toContain('git coord done 80');
    const mainRemote = sh(remote, 'rev-parse', 'main');
    expect(mainRemote).not.toBe(sh(dir, 'rev-parse', 'main'));

    // A push to an unprotected branch is not checked for leased commits.
    expect((await pushAs(dir, 'agent-a', ['origin', 'main:refs/heads/integration'])).code).toBe(0);

    // Finish phase 80 (artifacts on its branch, gate passes, lease done), merge again: allowed.
    write(wt, '.planning/phases/80-feature/80-VERIFICATION.md', 'verified\n');
    expect((await commitAs(wt, 'agent-a', 'verify 80')).code).toBe(0);
    const done = await cli(dir, ['done', '80'], { COORD_HOLDER: 'agent-a' });
    expect(done.code, done.stderr).toBe(0);
    sh(dir, 'merge', '-q', '--no-ff', '--no-verify', '-m', 'merge 80 again', branch);
    const ok = await pushAs(dir, 'agent-a', ['origin', 'main']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(sh(remote, 'rev-parse', 'main')).toBe(sh(dir, 'rev-parse', 'main'));
  });

  it('a protected push passes while the lease is open when its gate passes on the pushed commit', async () => {
    const { dir } = await setup();
    const wt = await claim(dir, '81', 'agent-a');
    const branch = lease(dir, '81').branch!;
    write(wt, '.planning/lessons-learned.md', '# lessons\n');
    write(wt, '.planning/phases/81-x/81-PLAN-CHECK.md', 'plan\n');
    write(wt, '.planning/phases/81-x/81-VERIFICATION.md', 'verified\n');
    expect((await commitAs(wt, 'agent-a', 'phase 81')).code).toBe(0);
    sh(dir, 'merge', '-q', '--no-ff', '--no-verify', '-m', 'merge 81', branch);
    const ok = await pushAs(dir, 'agent-a', ['origin', 'main']);
    expect(ok.code, ok.stderr).toBe(0);
    // A protected-branch push with --no-verify is git's own bypass.
    expect(existsSync(join(dir, '.git', 'hooks', 'pre-push'))).toBe(true);
  });

  it('without leases pre-push does not start node', async () => {
    const { dir } = await setup();
    // Point the hook at a CLI that does not exist: it would fail closed if node were needed.
    sh(dir, 'commit', '-q', '--allow-empty', '--no-verify', '-m', 'more');
    const hook = join(dir, '.git', 'hooks', 'pre-push');
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(hook, readFileSync(hook, 'utf8').replace(/^coord_cli=.*$/m, "coord_cli='/nonexistent'"));
    const res = await pushAs(dir, 'a', ['origin', 'main'], { PATH: '/usr/bin:/bin' });
    expect(res.code, res.stderr).toBe(0);
  });
});
