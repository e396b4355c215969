import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LeaseType } from '../../src/records/schemas.js';
import { readRecord, writeRecord } from '../../src/records/store.js';
import { discoverRepo, LockTimeoutError, RefTransaction, type Repo, readRef } from '../../src/refs/index.js';
import { cleanup, GIT_ENV, makeRepo, run, sh } from '../fixtures/repo.js';
import { sampleLease } from '../records/sample.js';
import { CAS_WORKER, findLocks, PROJECT_ROOT } from './helpers.js';

afterAll(cleanup);

const REF = 'refs/coord/leases/65';

/** A repository holding lease 65 at revision 1; returns it and the record's oid. */
function setup(): { dir: string; repo: Repo; oid: string } {
  const dir = makeRepo();
  const repo = discoverRepo(dir);
  const oid = writeRecord(repo, LeaseType, sampleLease({ revision: 1 }));
  new RefTransaction(repo).create(REF, oid, 'coord: claim 65').commit();
  return { dir, repo, oid };
}

/** Runs the worker with a fault point and checks it died of SIGKILL. */
async function killedAt(fault: string, dir: string, mode: 'bump' | 'delete'): Promise<void> {
  const res = await run('node', ['--import', 'tsx', CAS_WORKER, mode, dir, REF], {
    cwd: PROJECT_ROOT,
    env: { GIT_COORD_TEST_FAULT: fault },
  });
  expect(res.signal).toBe('SIGKILL');
  expect(res.stdout).toBe('');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The next writer's error: a LockTimeoutError naming the stale lock and its age. */
function nextWriterError(repo: Repo, tx: (t: RefTransaction) => RefTransaction): LockTimeoutError {
  try {
    tx(new RefTransaction(repo)).commit();
  } catch (err) {
    expect(err).toBeInstanceOf(LockTimeoutError);
    return err as LockTimeoutError;
  }
  throw new Error('expected LockTimeoutError');
}

describe('must show: a writer killed with SIGKILL', () => {
  it.each(['ref-locked', 'ref-written'])(
    'at %s: the previous value still reads; the stale ref lock is reported with its age',
    async (fault) => {
      const { dir, repo, oid } = setup();
      await killedAt(fault, dir, 'bump');
      expect(findLocks(repo.commonDir)).toEqual(['refs/coord/leases/65.lock']);
      if (fault === 'ref-written') {
        // the new value sits in the lock file, never renamed over the ref
        const pending = readFileSync(join(repo.commonDir, `${REF}.lock`), 'utf8').trim();
        expect(pending).toMatch(/^[0-9a-f]{40}$/);
        expect(pending).not.toBe(oid);
      }
      const before = await readRecord(repo, REF, LeaseType);
      expect(before?.oid).toBe(oid);
      expect(before?.record.revision).toBe(1);
      expect(JSON.parse(sh(dir, 'show', REF)).revision).toBe(1);

      await sleep(1200);
      const err = nextWriterError(repo, (t) => t.update(REF, oid, oid));
      expect(err.lockPath).toBe(join(repo.commonDir, `${REF}.lock`));
      expect(err.ageMs).toBeGreaterThanOrEqual(1100);
      expect(err.message).toMatch(/lock \d+\.\ds old/);
      expect(err.message).toMatch(/git coord doctor --fix/);
      // canonical git refuses too, with its own message
      const g = spawnSync('git', ['update-ref', REF, oid], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, ...GIT_ENV },
      });
      expect(g.stderr).toMatch(/65\.lock': File exists/);
      expect(readRef(repo, REF)).toBe(oid);
    },
  );

  it('at packed-locked (a deletion): the record still reads; both stale locks are reported', async () => {
    const { dir, oid } = setup();
    sh(dir, 'config', 'core.packedRefsTimeout', '200');
    const repo = discoverRepo(dir); // Repo.config() is a snapshot: re-discover after changing config
    await killedAt('packed-locked', dir, 'delete');
    expect(findLocks(repo.commonDir)).toEqual(['packed-refs.lock', 'refs/coord/leases/65.lock']);
    expect((await readRecord(repo, REF, LeaseType))?.oid).toBe(oid);
    expect(sh(dir, 'for-each-ref', '--format=%(objectname)', 'refs/coord')).toBe(oid);

    await sleep(300);
    const refErr = nextWriterError(repo, (t) => t.delete(REF, oid));
    expect(refErr.lockPath).toBe(join(repo.commonDir, `${REF}.lock`));
    expect(refErr.ageMs).toBeGreaterThanOrEqual(250);
    // a deletion of any other ref waits for packed-refs.lock (core.packedRefsTimeout), then reports it
    const other = writeRecord(repo, LeaseType, sampleLease({ key: 'other' }));
    new RefTransaction(repo).create('refs/coord/leases/other', other).commit();
    const packedErr = nextWriterError(repo, (t) => t.delete('refs/coord/leases/other', other));
    expect(packedErr.lockPath).toBe(join(repo.commonDir, 'packed-refs.lock'));
    expect(packedErr.message).toMatch(/waited 200 ms/);
    expect(packedErr.ageMs).toBeGreaterThanOrEqual(250);
  });

  it('at blob-temp: no lock is left, the previous value reads, the next writer succeeds', async () => {
    const { dir, repo, oid } = setup();
    await killedAt('blob-temp', dir, 'bump');
    expect(findLocks(repo.commonDir)).toEqual([]);
    const temps = readdirSync(join(repo.commonDir, 'objects')).filter((f) => f.startsWith('tmp_obj_'));
    expect(temps).toHaveLength(1); // git's own crash leftover kind; `git gc` removes old ones
    expect((await readRecord(repo, REF, LeaseType))?.oid).toBe(oid);
    const res = await run('node', ['--import', 'tsx', CAS_WORKER, 'bump', dir, REF], { cwd: PROJECT_ROOT });
    expect(res.code).toBe(0);
    expect((await readRecord(repo, REF, LeaseType))?.record.revision).toBe(2);
    const fsck = await run('git', ['fsck', '--no-progress'], { cwd: dir });
    expect(fsck.code).toBe(0);
  });
});
