import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installHooks } from '../../src/hooks/index.js';
import type { Lease } from '../../src/records/schemas.js';
import { discoverRepo } from '../../src/refs/repo.js';
import { cli, record } from '../cli/helpers.js';
import { cleanup, collect, GIT_ENV, makeBareRemote, type RunResult, run, sh } from '../fixtures/repo.js';
import { as, claim, commitAs, initRepo, TEST_CONFIG } from './helpers.js';

/**
 * The reference-transaction hook (DESIGN §8, issue 10): git runs it for every ref transaction, also
 * under `--no-verify`, and a non-zero exit at `prepared` aborts the whole transaction. Real git
 * commands on real repositories; the branch is checked with `git rev-parse` afterwards.
 */

afterAll(cleanup);

function lease(dir: string, key: string): Lease {
  return record(dir, `refs/coord/leases/${key}`)!;
}

function gitAs(cwd: string, holder: string, args: string[], extra: Record<string, string> = {}) {
  return run('git', args, { cwd, env: as(holder, extra) });
}

function head(cwd: string, ref = 'HEAD'): string {
  return sh(cwd, 'rev-parse', ref);
}

/** Puts the holder's worktree back at `commit` with nothing staged or untracked (as the holder). */
async function restore(wt: string, commit: string): Promise<void> {
  for (const args of [
    ['reset', '-q', '--hard', commit],
    ['clean', '-fdq'],
  ]) {
    const res = await gitAs(wt, 'agent-a', args);
    expect(res.code, res.stderr).toBe(0);
  }
}

function expectRefused(res: RunResult, branch: string, holder: string): void {
  expect(res.code, res.stderr).not.toBe(0);
  expect(res.stderr).toContain(`refusing to update refs/heads/${branch}`);
  expect(res.stderr).toContain(`held by ${holder}`);
  expect(res.stderr).toContain('--no-verify does not skip this check');
}

/** A repository with lease `k` held by agent-a in its worktree, a commit on it, and a side branch. */
async function leasedRepo(): Promise<{ dir: string; wt: string; branch: string }> {
  const dir = await initRepo();
  const wt = await claim(dir, 'k', 'agent-a');
  const branch = lease(dir, 'k').branch!;
  expect((await commitAs(wt, 'agent-a', 'first on the lease')).code).toBe(0);
  sh(dir, 'switch', '-q', '-c', 'side');
  writeFileSync(join(dir, 'side.txt'), 'side\n');
  sh(dir, 'add', 'side.txt');
  sh(dir, 'commit', '-q', '-m', 'side work');
  sh(dir, 'switch', '-q', 'main');
  return { dir, wt, branch };
}

for (const path of ['sh', 'node'] as const) {
  const viaNode: Record<string, string> = path === 'node' ? { COORD_HOOK_NODE: '1' } : {};
  describe(`reference-transaction (${path} path for the holder)`, () => {
    it("refuses another holder's commit --no-verify, reset, merge, rebase, cherry-pick; the branch is unchanged", async () => {
      const { dir, wt, branch } = await leasedRepo();
      const before = head(wt);

      expectRefused(await commitAs(wt, 'agent-b', 'sneaky', viaNode, ['--no-verify']), branch, 'agent-a');
      expect(head(wt)).toBe(before);
      await restore(wt, before);

      expectRefused(await gitAs(wt, 'agent-b', ['reset', '--hard', 'HEAD~1'], viaNode), branch, 'agent-a');
      expect(head(wt)).toBe(before);
      await restore(wt, before);

      expectRefused(await gitAs(wt, 'agent-b', ['merge', '--no-edit', 'side'], viaNode), branch, 'agent-a');
      expect(head(wt, `refs/heads/${branch}`)).toBe(before);
      await gitAs(wt, 'agent-b', ['merge', '--abort']);
      await restore(wt, before);

      const rebase = await gitAs(wt, 'agent-b', ['rebase', 'side'], viaNode);
      expectRefused(rebase, branch, 'agent-a');
      expect(head(wt, `refs/heads/${branch}`)).toBe(before);
      await gitAs(wt, 'agent-b', ['rebase', '--abort']);
      expect(head(wt)).toBe(before);
      await restore(wt, before);

      const pick = await gitAs(wt, 'agent-b', ['cherry-pick', 'side'], viaNode);
      expectRefused(pick, branch, 'agent-a');
      expect(head(wt, `refs/heads/${branch}`)).toBe(before);
      await gitAs(wt, 'agent-b', ['cherry-pick', '--abort']);
      await restore(wt, before);

      // From the main worktree too (git itself refuses branch -f/-D of a checked-out branch).
      expectRefused(
        await gitAs(dir, 'agent-b', ['update-ref', `refs/heads/${branch}`, 'side'], viaNode),
        branch,
        'agent-a',
      );
      expect(head(dir, `refs/heads/${branch}`)).toBe(before);
      // The lease record was not touched by any of it.
      expect(lease(dir, 'k').holder.id).toBe('agent-a');
    });

    it("the holder's own commit --no-verify, reset, merge, rebase and cherry-pick are allowed", async () => {
      const { dir, wt, branch } = await leasedRepo();
      const first = head(wt);
      expect((await commitAs(wt, 'agent-a', 'own', viaNode, ['--no-verify'])).code).toBe(0);
      const r = await gitAs(wt, 'agent-a', ['reset', '-q', '--hard', 'HEAD~1'], viaNode);
      expect(r.code, r.stderr).toBe(0);
      expect(head(wt)).toBe(first);
      const m = await gitAs(wt, 'agent-a', ['merge', '-q', '--no-edit', 'side'], viaNode);
      expect(m.code, m.stderr).toBe(0);
      await restore(wt, first);
      const rb = await gitAs(wt, 'agent-a', ['rebase', '-q', 'side'], viaNode);
      expect(rb.code, rb.stderr).toBe(0);
      expect(head(wt, 'HEAD~1')).toBe(head(dir, 'side'));
      await restore(wt, first);
      const cp = await gitAs(wt, 'agent-a', ['cherry-pick', 'side'], viaNode);
      expect(cp.code, cp.stderr).toBe(0);
      expect(head(dir, `refs/heads/${branch}`)).toBe(head(wt));
    });
  });
}

describe('reference-transaction: who and when', () => {
  it('only COORD=0 skips it; a closed lease restricts no one', async () => {
    const { dir, wt } = await leasedRepo();
    const res = await commitAs(wt, 'agent-b', 'skip', { COORD: '0' }, ['--no-verify']);
    expect(res.code, res.stderr).toBe(0);
    const rel = await cli(dir, ['release', 'k'], { COORD_HOLDER: 'agent-a' });
    expect(rel.code, rel.stderr).toBe(0);
    const after = await commitAs(wt, 'agent-b', 'after release', {}, ['--no-verify']);
    expect(after.code, after.stderr).toBe(0);
  });

  it('the holder with a $COORD_TOKEN that is not the lease token (a process of an earlier tenure) is refused', async () => {
    const { wt } = await leasedRepo();
    const before = head(wt);
    const old = await commitAs(wt, 'agent-a', 'stale process', { COORD_TOKEN: '7' }, ['--no-verify']);
    expect(old.code).not.toBe(0);
    expect(old.stderr).toContain('you lost lease k: this process runs with token 7, the lease is at token 1');
    expect(head(wt)).toBe(before);
    expect((await commitAs(wt, 'agent-a', 'current', { COORD_TOKEN: '1' })).code).toBe(0);
  });

  it("the holder's own crashed lease is refused until it is claimed again", async () => {
    const { dir, wt } = await leasedRepo();
    const crash = await cli(dir, ['crash', 'k', '--reason', 'test'], { COORD_HOLDER: 'agent-a' });
    expect(crash.code, crash.stderr).toBe(0);
    const before = head(wt);
    const res = await commitAs(wt, 'agent-a', 'on a crashed lease', {}, ['--no-verify']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('your lease k on branch');
    expect(res.stderr).toContain('is crashed');
    expect(head(wt)).toBe(before);
    expect((await cli(dir, ['claim', 'k'], { COORD_HOLDER: 'agent-a' })).code).toBe(0);
    expect((await commitAs(wt, 'agent-a', 'new tenure')).code).toBe(0);
  });

  it('with the CLI unreachable, the holder still commits (sh path); another holder fails closed', async () => {
    const { dir, wt } = await leasedRepo();
    installHooks(discoverRepo(dir), { node: null, cli: '/nonexistent/git-coord.mjs' });
    const path = (process.env.PATH ?? '')
      .split(':')
      .filter((d) => !existsSync(join(d, 'git-coord')))
      .join(':');
    expect((await commitAs(wt, 'agent-a', 'holder', { PATH: path }, ['--no-verify'])).code).toBe(0);
    const other = await commitAs(wt, 'agent-b', 'other', { PATH: path }, ['--no-verify']);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('the reference-transaction hook cannot find the git-coord CLI');
    expect(other.stderr).toContain('npm link');
    expect(other.stderr).not.toContain('npm install -g');
  });
});

describe('reference-transaction: git keeps working with the hook installed', () => {
  it('git fetch of 1,000 refs, git gc, pack-refs, worktree add/remove, branch -D of a free branch', async () => {
    const { dir, wt, branch } = await leasedRepo();
    const leasedHead = head(wt);
    const remote = makeBareRemote();
    sh(dir, 'push', '-q', remote, 'main');
    const lines = Array.from({ length: 1000 }, (_, i) => `create refs/heads/many/b${i} ${head(dir, 'main')}`);
    await run('git', ['update-ref', '--stdin'], { cwd: remote, input: `${lines.join('\n')}\n` });
    sh(dir, 'remote', 'add', 'origin', remote);
    // As someone who holds nothing: none of these touch the leased branch.
    const env = as('agent-b');
    for (const args of [
      ['fetch', '-q', 'origin'],
      ['fetch', '-q', '--atomic', 'origin', '+refs/heads/many/*:refs/heads/imported/*'],
      ['worktree', 'add', '-q', '-b', 'scratch', join(dir, '..', 'scratch-wt')],
      ['worktree', 'remove', join(dir, '..', 'scratch-wt')],
      ['branch', '-D', 'scratch'],
      ['gc', '-q'],
      ['pack-refs', '--all'],
    ]) {
      const res = await run('git', args, { cwd: dir, env });
      expect(res.code, `git ${args.join(' ')}\n${res.stderr}`).toBe(0);
    }
    expect(sh(dir, 'for-each-ref', '--format=x', 'refs/remotes/origin/many').split('\n')).toHaveLength(1000);
    expect(sh(dir, 'for-each-ref', '--format=x', 'refs/heads/imported').split('\n')).toHaveLength(1000);
    expect(head(dir, `refs/heads/${branch}`)).toBe(leasedHead);
    // The leased branch is packed now; deleting it is still refused (a packed ref's deletion).
    expect(readFileSync(join(dir, '.git', 'packed-refs'), 'utf8')).toContain(`refs/heads/${branch}`);
    expectRefused(
      await gitAs(dir, 'agent-b', ['update-ref', '-d', `refs/heads/${branch}`]),
      branch,
      'agent-a',
    );
    expect(head(dir, `refs/heads/${branch}`)).toBe(leasedHead);
    // And the holder still commits, and git-coord's own writes (renew, release) work.
    expect((await commitAs(wt, 'agent-a', 'after gc')).code).toBe(0);
    expect((await cli(dir, ['release', 'k'], { COORD_HOLDER: 'agent-a' })).code).toBe(0);
  });

  it('an existing reference-transaction hook is chained: it sees every state with the same stdin', async () => {
    const dir = await initRepo();
    const hooks = join(dir, '.git', 'hooks');
    const res0 = await cli(dir, ['hooks', 'uninstall']);
    expect(res0.code, res0.stderr).toBe(0);
    writeFileSync(
      join(hooks, 'reference-transaction'),
      `#!/bin/sh\n{ echo "state $1"; cat; } >> "${join(dir, '.git', 'rtx.log')}"\n`,
      { mode: 0o755 },
    );
    const inst = await cli(dir, ['hooks', 'install', '--json']);
    expect(inst.code, inst.stderr).toBe(0);
    const actions = JSON.parse(inst.stdout).actions as Array<{ hook: string; action: string }>;
    expect(actions.find((a) => a.hook === 'reference-transaction')?.action).toBe('chained');
    sh(dir, 'commit', '-q', '--allow-empty', '-m', 'logged');
    const log = readFileSync(join(dir, '.git', 'rtx.log'), 'utf8');
    expect(log).toContain('state prepared');
    expect(log).toContain('state committed');
    expect(log).toMatch(/[0-9a-f]{40} [0-9a-f]{40} refs\/heads\/main/);
    const un = await cli(dir, ['hooks', 'uninstall']);
    expect(un.code, un.stderr).toBe(0);
    expect(readFileSync(join(hooks, 'reference-transaction'), 'utf8')).toContain('rtx.log');
  });
});

/** A child held at a barrier file: `git commit` whose commit-msg hook waits for `go`. */
function heldCommit(wt: string, holder: string, barrier: string) {
  const child = spawn('git', ['commit', '-q', '-m', 'held commit'], {
    cwd: wt,
    env: { ...process.env, ...GIT_ENV, ...as(holder), COORD_TEST_BARRIER: barrier },
  });
  child.stdin.end();
  return collect(child);
}

async function waitFor(path: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${path}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the race of race.test.ts is closed: a takeover between pre-commit and the branch update', () => {
  it('10 trials: the takeover lands after pre-commit renewed; the old holder’s commit never lands', async () => {
    const dir = await initRepo({ ...TEST_CONFIG, leases: { ttl: '15m', skew: '0s' } });
    // commit-msg runs after pre-commit and before git moves the branch: a chained commit-msg hook
    // holds the commit there until the test says go.
    writeFileSync(
      join(dir, '.git', 'hooks', 'commit-msg.coord-chained'),
      '#!/bin/sh\n[ -n "$COORD_TEST_BARRIER" ] || exit 0\n: > "$COORD_TEST_BARRIER.ready"\n' +
        'i=0; while [ ! -e "$COORD_TEST_BARRIER.go" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\n',
      { mode: 0o755 },
    );
    for (let i = 0; i < 10; i++) {
      const key = `t${i}`;
      // The holder's agent process dies right after its claim (claim --pid refuses a pid that is gone).
      const agent = spawn('sleep', ['300'], { stdio: 'ignore' });
      const gone = new Promise((r) => agent.once('exit', r));
      const wt = await claim(dir, key, 'agent-old', ['--pid', String(agent.pid)]);
      agent.kill('SIGKILL');
      await gone;
      const branch = lease(dir, key).branch!;
      const before = head(dir, `refs/heads/${branch}`);
      writeFileSync(join(wt, 'work.txt'), `${i}\n`);
      sh(wt, 'add', 'work.txt');
      const barrier = join(dir, '.git', `barrier-${i}`);
      const commit = heldCommit(wt, 'agent-old', barrier);
      await waitFor(`${barrier}.ready`);
      // pre-commit has run (and renewed: the holder is alive by the record, but its pid is gone).
      expect(lease(dir, key).revision).toBeGreaterThan(1);
      const tk = await cli(dir, ['takeover', key], { COORD_HOLDER: `agent-new-${i}` });
      expect(tk.code, tk.stderr).toBe(0);
      writeFileSync(`${barrier}.go`, '');
      const res = await commit;
      expect(res.code, `trial ${i}: ${res.stderr}`).not.toBe(0);
      expect(res.stderr).toContain(`held by agent-new-${i}`);
      expect(head(dir, `refs/heads/${branch}`)).toBe(before);
      expect(lease(dir, key).holder.id).toBe(`agent-new-${i}`);
    }
  });
});
