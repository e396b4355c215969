import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DoctorOutput } from '../../src/doctor/index.js';
import { cli, makeCoordRepo, record, refs } from '../cli/helpers.js';
import { cleanup, type RunResult, run, sh } from '../fixtures/repo.js';

afterAll(cleanup);

/**
 * Issue 9 item 2: a ref that points at a missing object is removed by `doctor --fix` (with an audit
 * event naming the oid), never copied into quarantine; after any `doctor --fix`, `git gc`,
 * `git fsck` and `git for-each-ref` are clean. Also item 13: no "inspect with git cat-file" for a
 * missing object.
 */

const MISSING = 'ab'.repeat(20);
const MISSING_Q = 'cd'.repeat(20);

function gitRun(dir: string, ...args: string[]): Promise<RunResult> {
  return run('git', args, { cwd: dir });
}

async function expectGitClean(dir: string): Promise<void> {
  const gc = await gitRun(dir, 'gc', '--quiet');
  expect(gc.code, `git gc: ${gc.stderr}`).toBe(0);
  expect(gc.stderr).not.toMatch(/fatal|error/);
  const fsck = await gitRun(dir, 'fsck', '--no-dangling');
  expect(fsck.code, `git fsck: ${fsck.stdout}${fsck.stderr}`).toBe(0);
  expect(`${fsck.stdout}${fsck.stderr}`).not.toMatch(/error|fatal|invalid/);
  const fer = await gitRun(dir, 'for-each-ref', 'refs/coord');
  expect(fer.code, `git for-each-ref: ${fer.stderr}`).toBe(0);
  expect(fer.stderr).toBe('');
}

describe('doctor --fix and refs whose object is missing (issue 9 item 2)', () => {
  it('removes a lease ref at a missing object (and a quarantine ref left so by older versions), records the oid, leaves git gc and fsck clean', async () => {
    const dir = makeCoordRepo();
    const env = { COORD_HOLDER: 'agent-1' };
    expect((await cli(dir, ['init'])).code).toBe(0);
    const claimed = await cli(dir, ['claim', '7', '--no-worktree', '--branch', 'coord/7', '--json'], env);
    expect(claimed.code, claimed.stderr).toBe(0);
    expect((await cli(dir, ['renew', '7'], env)).code).toBe(0); // a reflog with two entries
    const common = join(dir, '.git');
    // As a crash or a lost object could leave them: git itself refuses to point a ref at a missing object.
    writeFileSync(join(common, 'refs/coord/leases/7'), `${MISSING}\n`);
    const qdir = join(common, 'refs/coord/quarantine/leases/old');
    mkdirSync(qdir, { recursive: true });
    writeFileSync(join(qdir, '20260101T000000.000Z'), `${MISSING_Q}\n`);
    writeFileSync(join(common, 'refs/coord/leases/junk'), 'not an oid\n');

    // Before: the readers say what it is, and do not offer to inspect an object that is not there.
    const show = await cli(dir, ['show', '7'], env);
    expect(show.code).toBe(1);
    expect(show.stderr).toContain(MISSING);
    expect(show.stderr).toContain('missing from the object database');
    expect(show.stderr).not.toContain('cat-file');
    expect(show.stderr).toContain('doctor --fix` removes the ref');
    const before = DoctorOutput.parse(JSON.parse((await cli(dir, ['doctor', '--json'], env)).stdout));
    expect(before.problems.map((p) => `${p.kind} ${p.ref ?? p.path}`)).toEqual(
      expect.arrayContaining([
        'broken-ref refs/coord/leases/junk',
        'missing-object refs/coord/leases/7',
        'missing-object refs/coord/quarantine/leases/old/20260101T000000.000Z',
      ]),
    );

    const fix = await cli(dir, ['doctor', '--fix', '--json'], env);
    expect(fix.code, fix.stdout).toBe(0);
    const fixed = DoctorOutput.parse(JSON.parse(fix.stdout));
    expect(fixed.problems.every((p) => p.fixed)).toBe(true);
    expect(fixed.problems.map((p) => p.kind)).not.toContain('corrupt-record');

    // Removed, not quarantined; its index entries went as orphans; the oids are in audit events.
    expect(refs(dir, 'refs/coord/leases')).toEqual([]);
    expect(refs(dir, 'refs/coord/quarantine')).toEqual([]);
    expect(refs(dir, 'refs/coord/branches')).toEqual([]);
    const events = refs(dir, 'refs/coord/audit').map(
      (r) => record<{ action: string; ref: string; reason: string }>(dir, r)!,
    );
    const removals = events.filter((e) => e.action === 'remove');
    expect(removals.map((e) => e.ref).sort()).toEqual([
      'refs/coord/leases/7',
      'refs/coord/leases/junk',
      'refs/coord/quarantine/leases/old/20260101T000000.000Z',
    ]);
    expect(removals.find((e) => e.ref === 'refs/coord/leases/7')!.reason).toContain(MISSING);
    expect(removals.find((e) => e.ref.startsWith('refs/coord/quarantine/'))!.reason).toContain(MISSING_Q);
    expect(removals.find((e) => e.ref === 'refs/coord/leases/junk')!.reason).toContain('not an oid');

    await expectGitClean(dir);
    const again = await cli(dir, ['doctor'], env);
    expect(again.code, again.stdout).toBe(0);
    // and the key can be claimed again
    expect((await cli(dir, ['claim', '7', '--no-worktree'], env)).code).toBe(0);
    await expectGitClean(dir);
  });

  it('a packed ref at a missing object is removed from packed-refs too', async () => {
    const dir = makeCoordRepo();
    const env = { COORD_HOLDER: 'agent-1' };
    expect((await cli(dir, ['claim', '8', '--no-worktree'], env)).code).toBe(0);
    sh(dir, 'pack-refs', '--all');
    const packed = join(dir, '.git', 'packed-refs');
    const text = readFileSync(packed, 'utf8');
    const lease = sh(dir, 'rev-parse', 'refs/coord/leases/8');
    writeFileSync(packed, text.replace(`${lease} refs/coord/leases/8`, `${MISSING} refs/coord/leases/8`));
    const fix = await cli(dir, ['doctor', '--fix'], env);
    expect(fix.code, fix.stdout).toBe(0);
    expect(fix.stdout).toContain('missing-object refs/coord/leases/8');
    expect(refs(dir, 'refs/coord/leases')).toEqual([]);
    await expectGitClean(dir);
  });
});
