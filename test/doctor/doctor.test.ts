import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DoctorOutput, GC_CONFIG_KEY } from '../../src/doctor/index.js';
import {
  branchIndexFor as expectedBranchIndex,
  worktreeRecordFor as expectedWorktreeRecord,
} from '../../src/leases/model.js';
import { BranchIndexType, type Lease, LeaseType, WorktreeType } from '../../src/records/schemas.js';
import { writeRecord } from '../../src/records/store.js';
import { discoverRepo, listRefs, RefTransaction, type Repo, readRef } from '../../src/refs/index.js';
import { cleanup, GIT_ENV, makeRepo, run, sh } from '../fixtures/repo.js';
import { sampleLease } from '../records/sample.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'git-coord.mjs');

beforeAll(() => {
  if (!existsSync(CLI)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
});
afterAll(cleanup);

async function doctor(dir: string, ...args: string[]) {
  const res = await run('node', [CLI, 'doctor', ...args], {
    cwd: dir,
    env: { COORD_HOLDER: 'ops@example.com' },
  });
  return { ...res, report: args.includes('--json') ? DoctorOutput.parse(JSON.parse(res.stdout)) : null };
}

function put(repo: Repo, ref: string, oid: string): void {
  new RefTransaction(repo).update(ref, oid, undefined, 'test').commit();
}

/** Writes a lease and (unless `indexes` is false) the index entries it implies. */
function writeLease(repo: Repo, lease: Lease, indexes = true): void {
  put(repo, `refs/coord/leases/${lease.key}`, writeRecord(repo, LeaseType, lease));
  if (!indexes) return;
  const b = expectedBranchIndex(lease);
  if (b) put(repo, `refs/coord/branches/${b.branch}`, writeRecord(repo, BranchIndexType, b));
  const w = expectedWorktreeRecord(lease);
  if (w) put(repo, `refs/coord/worktrees/${w.id}`, writeRecord(repo, WorktreeType, w));
}

const wt = (id: string) => ({ id, path: `/r/.coord/worktrees/${id}`, host: 'h1' });
const lease65 = sampleLease({ key: '65', branch: 'coord/65', worktree: wt('wt65-00000065') });
const lease66 = sampleLease({
  key: '66',
  branch: 'coord/66',
  worktree: null,
  state: 'closed',
  outcome: 'done',
});
const lease67 = sampleLease({ key: '67', branch: 'coord/67', worktree: wt('wt67-00000067') });
const crashed = sampleLease({ key: '68', branch: 'coord/68', worktree: null, state: 'crashed' });

/** A repository with the gc config doctor wants (so only the damage under test is reported). */
function coordRepo(): { dir: string; repo: Repo } {
  const dir = makeRepo();
  sh(dir, 'config', GC_CONFIG_KEY, 'never');
  return { dir, repo: discoverRepo(dir) };
}

function oldLock(path: string, ageMs: number): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '');
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(path, t, t);
}

describe('git coord doctor', () => {
  it('reports nothing (exit 0) on a healthy repository, including a crashed lease that keeps its index', async () => {
    const { dir, repo } = coordRepo();
    for (const l of [lease65, lease66, crashed]) writeLease(repo, l);
    const res = await doctor(dir, '--json');
    expect(res.report).toEqual({ problems: [] });
    expect(res.code).toBe(0);
    const human = await doctor(dir);
    expect(human.stdout).toMatch(/no problems found/);
  });

  it('finds every kind of damage without changing anything; --fix repairs all of it; exit 0 after', async () => {
    const { dir, repo } = coordRepo();
    for (const l of [lease65, lease66, crashed]) writeLease(repo, l);
    writeLease(repo, lease67, false); // missing both index entries
    // orphan: an index entry for the closed lease 66
    const orphan = writeRecord(repo, BranchIndexType, {
      ...expectedBranchIndex({ ...lease66, state: 'open' })!,
    });
    put(repo, 'refs/coord/branches/coord/66', orphan);
    // mismatch: worktree entry with a stale token
    const wt65 = expectedWorktreeRecord(lease65)!;
    put(repo, `refs/coord/worktrees/${wt65.id}`, writeRecord(repo, WorktreeType, { ...wt65, token: 9 }));
    // corrupt: a lease that is not JSON, a branch entry that is garbage, a lease under the wrong name
    put(repo, 'refs/coord/leases/bad', writeBlobText(dir, 'not json\n'));
    put(repo, 'refs/coord/branches/coord/65', writeBlobText(dir, '{"schema":"coord.branch/v7"}\n'));
    put(
      repo,
      'refs/coord/leases/alias',
      writeRecord(repo, LeaseType, sampleLease({ key: 'other', branch: null, worktree: null })),
    );
    // stale locks left by crashed writers
    oldLock(join(repo.commonDir, 'refs/coord/leases/65.lock'), 120_000);
    oldLock(join(repo.commonDir, 'packed-refs.lock'), 90_000);
    const before = listRefs(repo, 'refs/coord/');

    const check = await doctor(dir, '--json');
    expect(check.code).toBe(1);
    const kinds = check.report!.problems.map(
      (p) => `${p.kind} ${p.ref ?? p.path!.slice(repo.commonDir.length + 1)}`,
    );
    expect(kinds).toEqual([
      'stale-lock packed-refs.lock',
      'stale-lock refs/coord/leases/65.lock',
      'corrupt-record refs/coord/leases/alias',
      'corrupt-record refs/coord/leases/bad',
      'corrupt-record refs/coord/branches/coord/65',
      'orphan-index refs/coord/branches/coord/66',
      'missing-index refs/coord/branches/coord/67',
      `index-mismatch refs/coord/worktrees/${wt65.id}`,
      'missing-index refs/coord/worktrees/wt67-00000067',
    ]);
    expect(check.report!.problems.every((p) => !p.fixed)).toBe(true);
    expect(check.report!.problems[1]!.message).toMatch(/refs\/coord\/leases\/65\.lock is 1\d\d\.\ds old/);
    expect(check.report!.problems[3]!.message).toMatch(/not JSON/);
    expect(check.report!.problems[2]!.message).toMatch(/lease key "other" does not match its ref name/);
    expect(listRefs(repo, 'refs/coord/')).toEqual(before);
    expect(existsSync(join(repo.commonDir, 'packed-refs.lock'))).toBe(true);
    const human = await doctor(dir);
    expect(human.stdout).toMatch(/9 problem\(s\), 9 remaining: run `git coord doctor --fix`/);

    const fixed = await doctor(dir, '--fix', '--json');
    expect(fixed.stderr).toBe('');
    expect(fixed.report!.problems.filter((p) => !p.fixed)).toEqual([]);
    expect(fixed.code).toBe(0);
    expect(existsSync(join(repo.commonDir, 'packed-refs.lock'))).toBe(false);
    expect(existsSync(join(repo.commonDir, 'refs/coord/leases/65.lock'))).toBe(false);
    // corrupt records moved aside with their objects; the garbage branch entry rebuilt from lease 65
    const quarantined = listRefs(repo, 'refs/coord/quarantine/').map((r) => r.ref);
    expect(quarantined).toHaveLength(3);
    expect(quarantined.some((r) => r.startsWith('refs/coord/quarantine/leases/bad/'))).toBe(true);
    // A quarantined lease leaves a tombstone (its token never goes back), not a hole.
    expect(JSON.parse(sh(dir, 'show', 'refs/coord/leases/bad'))).toMatchObject({
      key: 'bad',
      state: 'closed',
      outcome: 'cleared',
    });
    expect(sh(dir, 'cat-file', '-p', listRefs(repo, 'refs/coord/quarantine/leases/bad/')[0]!.oid)).toBe(
      'not json',
    );
    expect(readRef(repo, 'refs/coord/branches/coord/66')).toBeNull();
    for (const l of [lease65, lease67]) {
      const b = expectedBranchIndex(l)!;
      const w = expectedWorktreeRecord(l)!;
      expect(JSON.parse(sh(dir, 'show', `refs/coord/branches/${b.branch}`))).toEqual(b);
      expect(JSON.parse(sh(dir, 'show', `refs/coord/worktrees/${w.id}`))).toEqual(w);
    }
    expect(readRef(repo, 'refs/coord/branches/coord/68')).not.toBeNull(); // crashed lease keeps its entry
    expect(sh(dir, 'for-each-ref', '--format=%(refname)', 'refs/coord/audit')).toMatch(
      /audit\/\d{4}-\d\d-\d\d\//,
    );
    expect(readFileSync(join(repo.commonDir, 'logs/refs/coord/branches/coord/67'), 'utf8')).toMatch(
      /ops@example\.com <ops@example\.com> \d+ [+-]\d{4}\tcoord: doctor rebuild index for 67\n$/,
    );
    sh(dir, 'fsck', '--no-dangling');

    const again = await doctor(dir, '--json');
    expect(again.report).toEqual({ problems: [] });
    expect(again.code).toBe(0);
  });

  it('sets the gc config that keeps git gc quiet about coord reflogs', async () => {
    const dir = makeRepo();
    const repo = discoverRepo(dir);
    const empty = await doctor(dir, '--json');
    expect(empty.report).toEqual({ problems: [] }); // no coord reflogs yet: nothing to say
    writeLease(repo, lease65);
    writeLease(repo, { ...lease65, revision: 2 });
    const noisy = await run('git', ['gc', '--prune=now'], { cwd: dir });
    expect(noisy.stderr).toMatch(/error: Object [0-9a-f]{40} not a commit/);
    const res = await doctor(dir, '--json');
    expect(res.code).toBe(1);
    expect(res.report!.problems).toEqual([
      expect.objectContaining({ kind: 'gc-config', path: join(repo.commonDir, 'config'), fixed: false }),
    ]);
    const fixed = await doctor(dir, '--fix', '--json');
    expect(fixed.code).toBe(0);
    expect(fixed.report!.problems.map((p) => [p.kind, p.fixed])).toEqual([['gc-config', true]]);
    expect(sh(dir, 'config', GC_CONFIG_KEY)).toBe('never');
    writeLease(repo, { ...lease65, revision: 3 });
    const quiet = await run('git', ['gc', '--prune=now'], { cwd: dir });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(JSON.parse(sh(dir, 'show', 'refs/coord/leases/65@{1}')).revision).toBe(2);
    expect((await doctor(dir, '--json')).report).toEqual({ problems: [] });
  });

  it('leaves a young lock alone even with --fix (exit 1) and removes broken ref files', async () => {
    const { dir, repo } = coordRepo();
    writeLease(repo, lease65);
    oldLock(join(repo.commonDir, 'refs/coord/leases/65.lock'), 5_000);
    writeFileSync(join(repo.commonDir, 'refs/coord/leases/broken'), 'garbage\n');
    const res = await doctor(dir, '--fix', '--json');
    expect(res.code).toBe(1);
    expect(res.report!.problems.map((p) => [p.kind, p.fixed])).toEqual([
      ['lock-held', false],
      ['broken-ref', true],
    ]);
    expect(existsSync(join(repo.commonDir, 'refs/coord/leases/broken'))).toBe(false);
    expect(res.report!.problems[0]!.message).toMatch(/65\.lock is \d\d?\.\ds old: probably a running git/);
    expect(existsSync(join(repo.commonDir, 'refs/coord/leases/65.lock'))).toBe(true);
    const human = await doctor(dir, '--fix');
    expect(human.stdout).toMatch(/problem lock-held/);
    expect(human.code).toBe(1);
  });
});

function writeBlobText(dir: string, text: string): string {
  return execFileSync('git', ['hash-object', '-w', '--stdin'], {
    cwd: dir,
    input: text,
    env: { ...process.env, ...GIT_ENV },
    encoding: 'utf8',
  }).trim();
}
