import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { snapshotCli } from '../../demo/project.js';
import { OUTPUT_SCHEMAS } from '../../src/cli/schemas.js';
import type { Lease } from '../../src/records/schemas.js';
import { cleanup, collect, GIT_ENV, type RunResult, sh, tempDir } from '../fixtures/repo.js';
import { CLI, cli, makeCoordRepo, record, worktrees } from './helpers.js';

/**
 * `git coord cleanup` on a real repository with real worktrees: it removes a closed lease's clean,
 * merged worktree (and with --branches its branch), and keeps a dirty one, an unmerged one, a live
 * lease's and a crashed one's, saying why. `doctor` no longer calls a released lease's kept worktree a
 * problem.
 */

afterAll(cleanup);

const CONFIG = { protect: ['main'], leases: { ttl: '15m', skew: '0s' } };
const as = (holder: string) => ({ COORD_HOLDER: holder });

async function ok(dir: string, args: string[], holder = 'agent-a') {
  const res = await cli(dir, args, as(holder));
  expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(0);
  return res;
}

async function claim(dir: string, key: string): Promise<Lease> {
  return JSON.parse((await ok(dir, ['claim', key, '--json'])).stdout) as Lease;
}

function commitIn(wt: string, file: string): void {
  writeFileSync(join(wt, file), `${file}\n`);
  sh(wt, 'add', file);
  sh(wt, 'commit', '-q', '-m', `add ${file}`);
}

interface Item {
  key: string;
  path: string | null;
  branch: string | null;
  action: string;
  removed: string[];
  reason: string;
}

async function run(dir: string, ...args: string[]): Promise<{ dryRun: boolean; items: Item[] }> {
  const res = await ok(dir, ['cleanup', '--json', ...args], 'orchestrator');
  return OUTPUT_SCHEMAS.cleanup!.parse(JSON.parse(res.stdout)) as { dryRun: boolean; items: Item[] };
}

describe('git coord cleanup', () => {
  it('removes a clean merged worktree; keeps a dirty one, an unmerged one, a live and a crashed lease’s', async () => {
    const dir = makeCoordRepo(CONFIG);
    const merged = await claim(dir, 'merged');
    commitIn(merged.worktree!.path, 'm.txt');
    await ok(dir, ['done', 'merged']);
    await ok(dir, ['merge', 'merged'], 'orchestrator');

    const dirty = await claim(dir, 'dirty');
    commitIn(dirty.worktree!.path, 'd.txt');
    await ok(dir, ['done', 'dirty']);
    await ok(dir, ['merge', 'dirty'], 'orchestrator');
    writeFileSync(join(dirty.worktree!.path, 'unsaved.txt'), 'not committed\n');

    const unmerged = await claim(dir, 'unmerged');
    commitIn(unmerged.worktree!.path, 'u.txt');
    await ok(dir, ['done', 'unmerged']);

    const released = await claim(dir, 'released'); // no commits: nothing to lose
    await ok(dir, ['release', 'released']);

    const live = await claim(dir, 'live');
    const crashed = await claim(dir, 'crashed');
    await ok(dir, ['crash', 'crashed', '--reason', 'agent died']);

    const dry = await run(dir, '--dry-run', '--branches');
    expect(dry.dryRun).toBe(true);
    const byKey = (items: Item[]) => Object.fromEntries(items.map((i) => [i.key, i]));
    const d = byKey(dry.items);
    expect(Object.keys(d).sort()).toEqual(['crashed', 'dirty', 'live', 'merged', 'released', 'unmerged']);
    expect(d.merged).toMatchObject({ action: 'would-remove', removed: ['worktree', 'branch'] });
    expect(d.released).toMatchObject({ action: 'would-remove', removed: ['worktree', 'branch'] });
    expect(d.dirty).toMatchObject({ action: 'kept', removed: [] });
    expect(d.dirty!.reason).toContain('1 uncommitted change(s) (unsaved.txt)');
    expect(d.unmerged!.reason).toBe('branch coord/unmerged has 1 commit(s) not in main');
    expect(d.live!.reason).toContain('lease is open (held by agent-a');
    expect(d.crashed!.reason).toContain('lease crashed (agent died)');
    for (const l of [merged, dirty, unmerged, released, live, crashed])
      expect(existsSync(l.worktree!.path), l.key).toBe(true);

    // Without --branches: worktrees only.
    const real = byKey((await run(dir)).items);
    expect(real.merged).toMatchObject({
      action: 'removed',
      removed: ['worktree'],
      reason: 'merged into main, clean',
    });
    expect(real.released).toMatchObject({ action: 'removed', removed: ['worktree'] });
    for (const k of ['dirty', 'unmerged', 'live', 'crashed']) expect(real[k]!.action, k).toBe('kept');
    expect(existsSync(merged.worktree!.path)).toBe(false);
    expect(existsSync(released.worktree!.path)).toBe(false);
    for (const l of [dirty, unmerged, live, crashed]) expect(existsSync(l.worktree!.path), l.key).toBe(true);
    expect(existsSync(join(dirty.worktree!.path, 'unsaved.txt'))).toBe(true);
    expect(worktrees(dir).map((w) => w.path)).not.toContain(merged.worktree!.path);
    // The branches stay (and their commits are in main).
    expect(sh(dir, 'rev-parse', '--verify', '-q', 'refs/heads/coord/merged')).not.toBe('');

    // --branches now deletes the merged branches whose worktree is gone; the kept ones stay.
    const br = byKey((await run(dir, '--branches')).items);
    expect(br.merged).toMatchObject({ action: 'removed', removed: ['branch'], path: null });
    expect(br.released).toMatchObject({ action: 'removed', removed: ['branch'] });
    const branches = sh(dir, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/').split('\n');
    expect(branches).not.toContain('coord/merged');
    expect(branches).not.toContain('coord/released');
    for (const b of ['coord/dirty', 'coord/unmerged', 'coord/live', 'coord/crashed'])
      expect(branches).toContain(b);
    // Lease records are history: unchanged by cleanup.
    expect(JSON.parse(sh(dir, 'show', 'refs/coord/leases/merged')).state).toBe('closed');

    // Human output names each decision.
    const human = await ok(dir, ['cleanup', '--dry-run'], 'orchestrator');
    expect(human.stdout).toMatch(/kept\s+dirty .*uncommitted/);
    expect(human.stdout).toMatch(/kept\s+live .*lease is open/);
  });

  it('doctor after a plain release: exit 0, the kept worktree is a note pointing to cleanup', async () => {
    const dir = makeCoordRepo(CONFIG);
    sh(dir, 'config', 'gc.refs/coord/*.reflogExpireUnreachable', 'never'); // as `git coord init` sets it
    const lease = await claim(dir, '7');
    await ok(dir, ['release', '7']);
    const res = await cli(dir, ['doctor'], as('agent-a'));
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain('kept-worktree');
    expect(res.stdout).toContain('git coord cleanup');
    expect(res.stdout).toContain('ok: no problems found');
    const json = await cli(dir, ['doctor', '--json'], as('agent-a'));
    const report = OUTPUT_SCHEMAS.doctor!.parse(JSON.parse(json.stdout)) as {
      problems: unknown[];
      notes?: Array<{ kind: string; path: string }>;
    };
    expect(report.problems).toEqual([]);
    expect(report.notes).toEqual([
      { kind: 'kept-worktree', path: lease.worktree!.path, message: expect.any(String) },
    ]);
    await ok(dir, ['cleanup'], 'orchestrator');
    expect(existsSync(lease.worktree!.path)).toBe(false);
    expect(JSON.parse((await cli(dir, ['doctor', '--json'])).stdout)).toEqual({ problems: [] });
  });
});

let cliCopy: string | null = null;
/** Real `node git-coord.mjs` processes held at a barrier and released together. */
async function together(dir: string, jobs: Array<{ args: string[]; holder: string }>): Promise<RunResult[]> {
  cliCopy ??= snapshotCli(CLI, tempDir('coord-cli-'));
  const children = jobs.map((j) =>
    spawn('sh', ['-c', 'read _go; exec "$@"', 'sh', process.execPath, cliCopy!, ...j.args], {
      cwd: dir,
      env: { ...process.env, ...GIT_ENV, NO_COLOR: '1', COORD_HOLDER: j.holder, COORD_PID: undefined },
    }),
  );
  const results = children.map(collect);
  await Promise.all(children.map((c) => new Promise((r) => c.once('spawn', r))));
  for (const c of children) c.stdin.end('go\n');
  return Promise.all(results);
}

describe('cleanup under races and SIGKILL', () => {
  it('4 cleanups and a re-claim of one of the leases at once: all exit 0, each worktree removed once, the re-claimed lease has its worktree', async () => {
    const dir = makeCoordRepo(CONFIG);
    const paths: Record<string, string> = {};
    for (const key of ['a', 'b', 'c']) {
      paths[key] = (await claim(dir, key)).worktree!.path;
      await ok(dir, ['release', key]);
    }
    const rs = await together(dir, [
      ...Array.from({ length: 4 }, () => ({ args: ['cleanup', '--json'], holder: 'orchestrator' })),
      { args: ['claim', 'b', '--json'], holder: 'agent-a' },
    ]);
    const show = rs.map((r, i) => `#${i} exit ${r.code} ${r.stderr}`).join('\n');
    expect(
      rs.map((r) => r.code),
      show,
    ).toEqual([0, 0, 0, 0, 0]);
    const removals = rs
      .slice(0, 4)
      .flatMap((r) => (JSON.parse(r.stdout).items as Item[]).filter((i) => i.action === 'removed'))
      .map((i) => i.key)
      .sort();
    // a and c exactly once; b once or not at all (the claim may have come first).
    expect(removals.filter((k) => k === 'a')).toHaveLength(1);
    expect(removals.filter((k) => k === 'c')).toHaveLength(1);
    expect(removals.filter((k) => k === 'b').length).toBeLessThanOrEqual(1);
    expect(existsSync(paths.a!)).toBe(false);
    expect(existsSync(paths.c!)).toBe(false);
    const b = record(dir, 'refs/coord/leases/b')!;
    expect(b).toMatchObject({ state: 'open', holder: { id: 'agent-a' } });
    expect(existsSync(b.worktree!.path)).toBe(true);
    expect(worktrees(dir).map((w) => w.path)).toContain(b.worktree!.path);
  });

  it.each(['cleanup-removed'])(
    'SIGKILL at %s (between removing a worktree and deleting its branch): the dead lock is broken, a re-run finishes the job',
    async (fault) => {
      const dir = makeCoordRepo(CONFIG);
      const lease = await claim(dir, 'k');
      await ok(dir, ['release', 'k']);
      const killed = await cli(dir, ['cleanup', '--branches'], { ...as('o'), GIT_COORD_TEST_FAULT: fault });
      expect(killed.signal).toBe('SIGKILL');
      expect(existsSync(lease.worktree!.path)).toBe(false);
      expect(sh(dir, 'for-each-ref', '--format=%(refname)', 'refs/heads/coord/')).toBe('refs/heads/coord/k');
      // The worktree lock it held names a dead process on this host: the next run breaks it.
      expect(existsSync(join(dir, '.git', 'coord-provision.lock'))).toBe(true);
      const res = await cli(dir, ['cleanup', '--branches', '--json'], as('o'));
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout).items).toEqual([
        expect.objectContaining({ key: 'k', action: 'removed', removed: ['branch'] }),
      ]);
      expect(sh(dir, 'for-each-ref', '--format=%(refname)', 'refs/heads/coord/')).toBe('');
      expect(record(dir, 'refs/coord/leases/k')).toMatchObject({ state: 'closed', outcome: 'released' });
    },
  );
});
