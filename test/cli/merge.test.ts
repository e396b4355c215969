import { spawn } from 'node:child_process';
import { readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { snapshotCli } from '../../demo/project.js';
import type { AuditEvent, Lease } from '../../src/records/schemas.js';
import { cleanup, collect, GIT_ENV, type RunResult, sh, tempDir } from '../fixtures/repo.js';
import { findLocks } from '../refs/helpers.js';
import { CLI, cli, makeCoordRepo, record, refs } from './helpers.js';

/**
 * `git coord merge` on real repositories: fast-forward, a real merge commit, a conflict that changes
 * nothing, the refusals, a checked-out target, racing merges in real processes and SIGKILL at the
 * fault points of its write path (the branch CAS, then the lease record).
 */

afterAll(cleanup);

const CONFIG = { protect: ['main'], leases: { ttl: '15m', skew: '0s' } };
const as = (holder: string) => ({ COORD_HOLDER: holder });

function write(dir: string, file: string, text: string): void {
  writeFileSync(join(dir, file), text);
}

/** Commits `files` in `dir` and returns the new HEAD. */
function commit(dir: string, message: string, files: Record<string, string>): string {
  for (const [f, t] of Object.entries(files)) write(dir, f, t);
  sh(dir, 'add', '--', ...Object.keys(files));
  sh(dir, 'commit', '-q', '-m', message);
  return sh(dir, 'rev-parse', 'HEAD');
}

/** A repository with lease `key` claimed by agent-a, one commit on its branch, and (default) done. */
async function doneLease(key: string, files: Record<string, string>, finish = true, config: object = CONFIG) {
  const dir = makeCoordRepo(config);
  const claim = await cli(dir, ['claim', key, '--json'], as('agent-a'));
  expect(claim.code, claim.stderr).toBe(0);
  const lease = JSON.parse(claim.stdout) as Lease;
  const wt = lease.worktree!.path;
  const head = commit(wt, `${key}: work`, files);
  if (finish) {
    const done = await cli(dir, ['done', key], as('agent-a'));
    expect(done.code, done.stderr).toBe(0);
  }
  return { dir, wt, head, branch: lease.branch! };
}

/** What must not change when a merge is refused: the target ref, its reflog, index and files. */
function snapshot(dir: string) {
  return {
    main: sh(dir, 'rev-parse', 'refs/heads/main'),
    reflog: readFileSync(join(dir, '.git', 'logs', 'refs', 'heads', 'main')),
    index: readFileSync(join(dir, '.git', 'index')),
    status: sh(dir, 'status', '--porcelain'),
    packed: (() => {
      try {
        return readFileSync(join(dir, '.git', 'packed-refs'), 'utf8');
      } catch {
        return '';
      }
    })(),
  };
}

function audits(dir: string): AuditEvent[] {
  return refs(dir, 'refs/coord/audit/').map((r) => record<AuditEvent>(dir, r)!);
}

describe('git coord merge', () => {
  it('fast-forwards main to a done lease branch, updates the clean main checkout, records it', async () => {
    const { dir, head, branch } = await doneLease('12', { 'a.txt': 'a\n' });
    const before = sh(dir, 'rev-parse', 'main');
    const res = await cli(dir, ['merge', '12', '--json'], as('orchestrator'));
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ key: '12', branch, into: 'main', method: 'fast-forward', head, before });
    expect(out.commit).toBe(head);
    expect(sh(dir, 'rev-parse', 'main')).toBe(head);
    // The main worktree (main is checked out there) followed: the file is there, nothing is staged.
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('a\n');
    expect(sh(dir, 'status', '--porcelain', '--untracked-files=no')).toBe('');
    const lease = record(dir, 'refs/coord/leases/12')!;
    expect(lease).toMatchObject({ state: 'closed', outcome: 'done' });
    expect(lease.merge).toMatchObject({ into: 'main', method: 'fast-forward', head, before, commit: head });
    expect(lease.merge!.by).toBe('orchestrator');
    const ev = audits(dir).filter((e) => e.action === 'merge');
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ key: '12', commit: head, by: { id: 'orchestrator' } });
    expect(sh(dir, 'reflog', '-1', '--format=%gs', 'refs/heads/main')).toContain('coord: merge 12');
    const shown = await cli(dir, ['show', '12'], as('orchestrator'));
    expect(shown.stdout).toMatch(
      /merged\s+into main \(fast-forward\) \w{12} -> \w{12} at .* by orchestrator/,
    );

    // Again: already merged, nothing moves and nothing is written.
    const lease0 = sh(dir, 'rev-parse', 'refs/coord/leases/12');
    const again = await cli(dir, ['merge', '12'], as('orchestrator'));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('already merged');
    expect(sh(dir, 'rev-parse', 'refs/coord/leases/12')).toBe(lease0);
  });

  it('makes a real merge commit when main moved on (merge-tree, no worktree touched), --into a branch', async () => {
    const { dir, wt, head, branch } = await doneLease('13', { 'b.txt': 'b\n' });
    const main2 = commit(dir, 'main moves on', { 'm.txt': 'm\n' });
    sh(dir, 'branch', 'release', main2);
    const wtStatus = sh(wt, 'status', '--porcelain');
    const res = await cli(dir, ['merge', '13', '--into', 'release', '--json'], as('orchestrator'));
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ method: 'merge', into: 'release', before: main2, head, checkout: null });
    const merged = sh(dir, 'rev-parse', 'release');
    expect(out.commit).toBe(merged);
    expect(sh(dir, 'rev-list', '--parents', '-n1', merged).split(' ').slice(1)).toEqual([main2, head]);
    expect(sh(dir, 'ls-tree', '--name-only', merged).split('\n').sort()).toEqual(
      ['.coord', 'README.md', 'b.txt', 'm.txt'].sort(),
    );
    expect(sh(dir, 'log', '-1', '--format=%s', merged)).toBe(`Merge branch '${branch}' into release`);
    // Nobody's worktree changed: main is where it was, the lease worktree as it was.
    expect(sh(dir, 'rev-parse', 'main')).toBe(main2);
    expect(sh(wt, 'status', '--porcelain')).toBe(wtStatus);
    expect(sh(wt, 'rev-parse', 'HEAD')).toBe(head);
    expect(record(dir, 'refs/coord/leases/13')!.merge).toMatchObject({ method: 'merge', commit: merged });
  });

  it('--squash: one commit with the changes; --no-ff: a merge commit although a fast-forward was possible', async () => {
    const a = await doneLease('14', { 's.txt': 's\n' });
    const main0 = sh(a.dir, 'rev-parse', 'main');
    const sq = await cli(a.dir, ['merge', '14', '--squash', '--json'], as('o'));
    expect(sq.code, sq.stderr).toBe(0);
    const c = sh(a.dir, 'rev-parse', 'main');
    expect(JSON.parse(sq.stdout)).toMatchObject({ method: 'squash', commit: c });
    expect(sh(a.dir, 'rev-list', '--parents', '-n1', c).split(' ').slice(1)).toEqual([main0]);
    expect(sh(a.dir, 'show', `${c}:s.txt`)).toBe('s');
    expect(sh(a.dir, 'log', '-1', '--format=%B', c)).toContain('* 14: work');
    // A squash is not an ancestor relation, but it is remembered: merging again moves nothing.
    const again = await cli(a.dir, ['merge', '14', '--squash', '--json'], as('o'));
    expect(JSON.parse(again.stdout)).toMatchObject({ method: 'already-merged', commit: c });

    const b = await doneLease('15', { 'n.txt': 'n\n' });
    const main1 = sh(b.dir, 'rev-parse', 'main');
    const noff = await cli(b.dir, ['merge', '15', '--no-ff', '--json'], as('o'));
    expect(noff.code, noff.stderr).toBe(0);
    const m = sh(b.dir, 'rev-parse', 'main');
    expect(sh(b.dir, 'rev-list', '--parents', '-n1', m).split(' ').slice(1)).toEqual([main1, b.head]);
    expect((await cli(b.dir, ['merge', '15', '--ff-only', '--no-ff'])).code).toBe(2);
  });

  it('a conflict leaves main unchanged byte for byte, keeps branch and worktree, lists the paths, exit 4', async () => {
    const { dir, wt, head, branch } = await doneLease('16', { 'c.txt': 'agent\n', 'd.txt': 'agent d\n' });
    commit(dir, 'main edits the same files', { 'c.txt': 'main\n', 'd.txt': 'main d\n' });
    const snap = snapshot(dir);
    const leaseOid = sh(dir, 'rev-parse', 'refs/coord/leases/16');
    const res = await cli(dir, ['merge', '16'], as('orchestrator'));
    expect(res.code, res.stderr).toBe(4);
    expect(res.stderr).toContain('conflict: c.txt');
    expect(res.stderr).toContain('conflict: d.txt');
    expect(res.stderr).toContain('main is unchanged');
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(snapshot(dir)).toEqual(snap);
    expect(sh(dir, 'rev-parse', `refs/heads/${branch}`)).toBe(head);
    expect(sh(wt, 'status', '--porcelain')).toBe('');
    expect(readFileSync(join(wt, 'c.txt'), 'utf8')).toBe('agent\n');
    expect(sh(dir, 'rev-parse', 'refs/coord/leases/16')).toBe(leaseOid);
    expect(audits(dir).filter((e) => e.action === 'merge')).toEqual([]);

    const json = await cli(dir, ['merge', '16', '--json'], as('orchestrator'));
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout).error.code).toBe('merge-conflict');
    // --ff-only on a diverged main: refused the same way, before any merge is attempted.
    const ff = await cli(dir, ['merge', '16', '--ff-only'], as('orchestrator'));
    expect(ff.code, ff.stderr).toBe(4);
    expect(ff.stderr).toContain('not possible to fast-forward');
    expect(snapshot(dir)).toEqual(snap);
  });

  it('refuses a lease that is not done (exit 4, nothing moved); --force --reason merges it, audited', async () => {
    const { dir, head } = await doneLease('17', { 'e.txt': 'e\n' }, false);
    const snap = snapshot(dir);
    const res = await cli(dir, ['merge', '17'], as('orchestrator'));
    expect(res.code, res.stderr).toBe(4);
    expect(res.stderr).toContain('lease 17 is open, not done');
    expect(snapshot(dir)).toEqual(snap);
    expect((await cli(dir, ['merge', '17', '--force'], as('orchestrator'))).code).toBe(2);
    const forced = await cli(dir, ['merge', '17', '--force', '--reason', 'hotfix'], as('orchestrator'));
    expect(forced.code, forced.stderr).toBe(0);
    expect(sh(dir, 'rev-parse', 'main')).toBe(head);
    const lease = record(dir, 'refs/coord/leases/17')!;
    expect(lease.state).toBe('open');
    expect(lease.merge).toMatchObject({ reason: 'hotfix', method: 'fast-forward' });
    const ev = audits(dir).filter((e) => e.action === 'merge');
    expect(ev).toHaveLength(1);
    expect(ev[0]!.reason).toContain('forced: hotfix');
  });

  it('refuses when the branch moved after done, and when main is checked out with uncommitted changes', async () => {
    const gated = { ...CONFIG, gates: { done: { require: ['{key}.txt'] } } };
    const { dir, wt } = await doneLease('18', { '18.txt': 'f\n' }, true, gated);
    expect(record(dir, 'refs/coord/leases/18')!.gate).toMatchObject({ result: 'passed' });
    commit(wt, 'after done', { 'g.txt': 'g\n' });
    const moved = await cli(dir, ['merge', '18'], as('o'));
    expect(moved.code, moved.stderr).toBe(4);
    expect(moved.stderr).toContain('commits after done were not gated');

    const b = await doneLease('19', { 'h.txt': 'h\n' });
    write(b.dir, 'README.md', 'local edit\n');
    const snap = snapshot(b.dir);
    const dirty = await cli(b.dir, ['merge', '19'], as('o'));
    expect(dirty.code, dirty.stderr).toBe(4);
    expect(dirty.stderr).toContain('main is checked out in');
    expect(dirty.stderr).toContain('README.md');
    expect(snapshot(b.dir)).toEqual(snap);
    // An untracked file the merge would overwrite: refused too (git read-tree -n said no).
    sh(b.dir, 'checkout', '--', 'README.md');
    write(b.dir, 'h.txt', 'mine\n');
    const blocked = await cli(b.dir, ['merge', '19'], as('o'));
    expect(blocked.code, blocked.stderr).toBe(4);
    expect(readFileSync(join(b.dir, 'h.txt'), 'utf8')).toBe('mine\n');
    expect(sh(b.dir, 'rev-parse', 'main')).toBe(snap.main);
  });

  it('usage errors: no target configured, unknown key, bad --into (exit 2 / 1), no stack trace', async () => {
    const { dir } = await doneLease('20', { 'i.txt': 'i\n' });
    const bad = await cli(dir, ['merge', '20', '--into', 'no..pe'], as('o'));
    expect(bad.code, bad.stderr).toBe(2);
    const none = await cli(dir, ['merge', 'nope'], as('o'));
    expect(none.code, none.stderr).toBe(1);
    expect(none.stderr).toContain('no lease nope');
    const missing = await cli(dir, ['merge', '20', '--into', 'gone'], as('o'));
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toContain('branch gone does not exist');
    for (const r of [bad, none, missing]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

let cliCopy: string | null = null;
/** Real `node git-coord.mjs` processes held at a barrier and released together. */
async function together(dir: string, jobs: string[][], holder = 'orchestrator'): Promise<RunResult[]> {
  cliCopy ??= snapshotCli(CLI, tempDir('coord-cli-'));
  const children = jobs.map((args) =>
    spawn('sh', ['-c', 'read _go; exec "$@"', 'sh', process.execPath, cliCopy!, ...args], {
      cwd: dir,
      env: { ...process.env, ...GIT_ENV, NO_COLOR: '1', COORD_HOLDER: holder, COORD_PID: undefined },
    }),
  );
  const results = children.map(collect);
  await Promise.all(children.map((c) => new Promise((r) => c.once('spawn', r))));
  for (const c of children) c.stdin.end('go\n');
  return Promise.all(results);
}

/** Entries of main's reflog written by merges. */
function mergeMoves(dir: string): string[] {
  return sh(dir, 'reflog', '--format=%gs', 'refs/heads/main')
    .split('\n')
    .filter((l) => l.startsWith('coord: merge'));
}

describe('merge write path under races and SIGKILL', () => {
  it('8 processes merge the same lease at once: main moves once (one merge commit), one audit event, all exit 0', async () => {
    const { dir, head } = await doneLease('30', { 'r.txt': 'r\n' });
    const main1 = commit(dir, 'main moves on', { 'q.txt': 'q\n' });
    const rs = await together(
      dir,
      Array.from({ length: 8 }, () => ['merge', '30', '--json']),
    );
    const show = rs.map((r, i) => `#${i} exit ${r.code} ${r.stderr}`).join('\n');
    expect(
      rs.map((r) => r.code),
      show,
    ).toEqual(Array(8).fill(0));
    expect(mergeMoves(dir), show).toHaveLength(1);
    const m = sh(dir, 'rev-parse', 'main');
    expect(sh(dir, 'rev-list', '--parents', '-n1', m).split(' ').slice(1)).toEqual([main1, head]);
    const methods = rs.map((r) => JSON.parse(r.stdout).method).sort();
    expect(methods.filter((x) => x === 'merge')).toHaveLength(1);
    expect(methods.filter((x) => x === 'already-merged')).toHaveLength(7);
    const lease = record(dir, 'refs/coord/leases/30')!;
    expect(lease.merge).toMatchObject({ method: 'merge', commit: m, head, before: main1 });
    expect(audits(dir).filter((e) => e.action === 'merge')).toHaveLength(1);
    // The main checkout followed the one move.
    expect(sh(dir, 'status', '--porcelain', '--untracked-files=no')).toBe('');
    expect(readFileSync(join(dir, 'r.txt'), 'utf8')).toBe('r\n');
    expect(findLocks(join(dir, '.git'))).toEqual([]);
  });

  it('2 merges into a branch while another writer commits to it in a loop (60 CAS commits, 50 ms apart): no commit of anyone is lost', async () => {
    const dir = makeCoordRepo(CONFIG);
    sh(dir, 'branch', 'release');
    const heads: string[] = [];
    for (const key of ['a', 'b']) {
      const lease = JSON.parse((await cli(dir, ['claim', key, '--json'], as('agent-a'))).stdout) as Lease;
      heads.push(commit(lease.worktree!.path, `${key}: work`, { [`${key}.txt`]: `${key}\n` }));
      expect((await cli(dir, ['done', key], as('agent-a'))).code).toBe(0);
    }
    // Another tool moving release by CAS (commit-tree + update-ref with the old value), 60 times.
    const writer = spawn(
      'sh',
      [
        '-c',
        `n=0; while [ $n -lt 60 ]; do
           old=$(git rev-parse refs/heads/release)
           c=$(git commit-tree -p "$old" -m "writer $n" "$old^{tree}")
           if git update-ref refs/heads/release "$c" "$old" 2>/dev/null; then echo "$c"; n=$((n+1)); fi; sleep 0.05
         done`,
      ],
      { cwd: dir, env: { ...process.env, ...GIT_ENV } },
    );
    const written = collect(writer);
    const rs = await together(dir, [
      ['merge', 'a', '--into', 'release'],
      ['merge', 'b', '--into', 'release'],
    ]);
    const w = await written;
    // Each merge lands, or (on a loaded machine a merge can keep losing the CAS to a fast writer) gives
    // up with exit 3 after its retry budget, having changed nothing; it is then simply run again.
    const show = rs.map((r) => `exit ${r.code} ${r.stderr}`).join('\n');
    for (const r of rs) expect([0, 3], show).toContain(r.code);
    for (const r of rs.filter((x) => x.code === 3)) expect(r.stderr).toContain('gave up after');
    for (const [i, key] of ['a', 'b'].entries()) {
      if (rs[i]!.code === 3)
        expect((await cli(dir, ['merge', key, '--into', 'release'], as('o'))).code).toBe(0);
    }
    expect(w.code, w.stderr).toBe(0);
    const commits = w.stdout.split('\n').filter(Boolean);
    expect(commits).toHaveLength(60);
    for (const c of [...heads, ...commits]) {
      expect(sh(dir, 'merge-base', '--is-ancestor', c, 'release'), c).toBe('');
    }
    const moves = sh(dir, 'reflog', '--format=%gs', 'refs/heads/release')
      .split('\n')
      .filter((l) => l.startsWith('coord: merge'));
    expect(moves).toHaveLength(2);
  });

  it.concurrent.each(['merge-moved', 'blob-temp', 'ref-locked', 'ref-written'])(
    'SIGKILL at %s: main and the lease stay consistent; after removing the named locks a re-run records the merge',
    async (fault) => {
      const { dir, head } = await doneLease('40', { 'k.txt': 'k\n' });
      commit(dir, 'main moves on', { 'p.txt': 'p\n' });
      const leaseOid = sh(dir, 'rev-parse', 'refs/coord/leases/40');
      const killed = await cli(dir, ['merge', '40'], { ...as('o'), GIT_COORD_TEST_FAULT: fault });
      expect(killed.signal, `${killed.code} ${killed.stderr}`).toBe('SIGKILL');
      // Every fault point comes after main moved (one CAS, complete) and before the lease record landed.
      const m = sh(dir, 'rev-parse', 'main');
      expect(sh(dir, 'merge-base', '--is-ancestor', head, m)).toBe('');
      expect(mergeMoves(dir)).toHaveLength(1);
      expect(sh(dir, 'rev-parse', 'refs/coord/leases/40')).toBe(leaseOid);
      expect(record(dir, 'refs/coord/leases/40')!.merge ?? null).toBeNull();
      expect(sh(dir, 'status', '--porcelain', '--untracked-files=no')).toBe('');

      const gitDir = join(dir, '.git');
      const old = new Date(Date.now() - 120_000);
      for (const p of findLocks(gitDir)) utimesSync(join(gitDir, p), old, old);
      let res = await cli(dir, ['merge', '40', '--json'], as('o'));
      for (let i = 0; res.code !== 0 && i < 4; i++) {
        expect(res.code, res.stderr).toBe(1);
        const named = [...new Set(res.stdout.match(/\/[^\s'`"]+\.lock/g) ?? [])];
        expect(named, res.stdout).toHaveLength(1);
        rmSync(named[0]!);
        res = await cli(dir, ['merge', '40', '--json'], as('o'));
      }
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout)).toMatchObject({ method: 'already-merged', commit: m });
      expect(sh(dir, 'rev-parse', 'main')).toBe(m);
      expect(mergeMoves(dir)).toHaveLength(1);
      expect(record(dir, 'refs/coord/leases/40')!.merge).toMatchObject({ head, commit: m, into: 'main' });
    },
  );
});
