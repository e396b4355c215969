import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LeaseType } from '../../src/records/schemas.js';
import { readRecord, writeRecord } from '../../src/records/store.js';
import {
  discoverRepo,
  Lockfile,
  LockTimeoutError,
  RefTransaction,
  readRef,
  writeBlob,
} from '../../src/refs/index.js';
import { cleanup, GIT_ENV, makeRepo, run, sh } from '../fixtures/repo.js';
import { sampleLease } from '../records/sample.js';
import { CAS_WORKER, findLocks, PROJECT_ROOT } from './helpers.js';

afterAll(cleanup);

/** Runs a bash loop until `stop` exists; resolves with the number of iterations and failures. */
function loop(cwd: string, body: string, stop: string): Promise<{ runs: number; failures: number }> {
  const script = `runs=0; fails=0; while [ ! -e "${stop}" ]; do runs=$((runs+1)); { ${body}; } >/dev/null 2>&1 || fails=$((fails+1)); done; echo "$runs $fails"`;
  return run('bash', ['-c', script], { cwd }).then((r) => {
    const [runs, failures] = r.stdout.trim().split(' ').map(Number);
    return { runs: runs!, failures: failures! };
  });
}

describe('must show: CAS under contention, with git racing', () => {
  it('8 processes x 100 read-modify-CAS increments while pack-refs and update-ref loop: none lost', async () => {
    const dir = makeRepo();
    const repo = discoverRepo(dir);
    const ref = 'refs/coord/leases/counter';
    const first = sampleLease({ key: 'counter', revision: 1 });
    new RefTransaction(repo)
      .create(ref, writeRecord(repo, LeaseType, first), 'coord: claim counter')
      .commit();
    const noise = sh(dir, 'rev-parse', 'HEAD');
    const stop = join(dir, '..', `stop-${Date.now()}`);

    const packLoop = loop(dir, 'git -c core.warnAmbiguousRefs=false pack-refs --all', stop);
    const updateLoop = loop(
      dir,
      `n=$((runs % 10)); if [ $((runs % 3)) = 0 ]; then git -c core.warnAmbiguousRefs=false update-ref -d refs/coord/leases/noise-$n; else git -c core.warnAmbiguousRefs=false update-ref refs/coord/leases/noise-$n ${noise}; fi`,
      stop,
    );
    const workers = Array.from({ length: 8 }, () =>
      run('node', ['--import', 'tsx', CAS_WORKER, 'increment', dir, ref, '100'], { cwd: PROJECT_ROOT }),
    );
    const results = await Promise.all(workers);
    writeFileSync(stop, '');
    const [pack, update] = await Promise.all([packLoop, updateLoop]);

    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const attempts = results.reduce((n, r) => n + Number(r.stdout.trim().split(' ')[1]), 0);
    const final = await readRecord(repo, ref, LeaseType);
    // revision starts at 1 (the claim; the schema requires >= 1): 800 increments make it 801.
    expect(final?.record.revision).toBe(first.revision + 800);
    expect(final?.record).toEqual({ ...first, revision: 801 });
    expect(attempts).toBeGreaterThanOrEqual(800);
    // git agrees, and every update is in the reflog (1 create + 800 updates)
    expect(JSON.parse(sh(dir, 'show', ref)).revision).toBe(801);
    expect(
      readFileSync(join(repo.commonDir, 'logs', ref), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(801);
    expect(pack.runs).toBeGreaterThan(2);
    expect(update.runs).toBeGreaterThan(2);
    const fsck = await run('git', ['fsck', '--no-progress'], { cwd: dir });
    expect(fsck.code).toBe(0);
    expect(fsck.stderr + fsck.stdout).not.toMatch(/error|missing|broken|bad/i);
    expect(findLocks(repo.commonDir)).toEqual([]);
    console.log(
      `8x100 increments: ${attempts} attempts; pack-refs ran ${pack.runs}x (${pack.failures} failed), ` +
        `update-ref ran ${update.runs}x (${update.failures} failed)`,
    );
  });
});

describe('must show: lock interoperability with canonical git', () => {
  it('git respects our lock: update-ref fails with "File exists" while we hold it', () => {
    const dir = makeRepo();
    const repo = discoverRepo(dir);
    const ref = 'refs/coord/leases/x';
    const oid = writeBlob(repo, Buffer.from('{}\n'));
    mkdirSync(join(repo.commonDir, 'refs/coord/leases'), { recursive: true });
    const lock = Lockfile.acquire(join(repo.commonDir, ref), 0);
    try {
      const res = sh_(dir, ['update-ref', ref, oid]);
      expect(res.status).not.toBe(0);
      expect(res.stderr).toMatch(/Unable to create '.*refs\/coord\/leases\/x\.lock': File exists/);
      expect(readRef(repo, ref)).toBeNull();
    } finally {
      lock.rollback();
    }
    expect(existsSync(join(repo.commonDir, `${ref}.lock`))).toBe(false);
    expect(sh_(dir, ['update-ref', ref, oid]).status).toBe(0);
    expect(readRef(repo, ref)).toBe(oid);
  });

  it("we respect git's lock: LockTimeoutError after core.filesRefLockTimeout, success once git lets go", async () => {
    const dir = makeRepo();
    const repo = discoverRepo(dir);
    const ref = 'refs/coord/leases/y';
    const a = writeBlob(repo, Buffer.from('{"a":1}\n'));
    const b = writeBlob(repo, Buffer.from('{"a":2}\n'));
    new RefTransaction(repo).create(ref, a).commit();
    // Real git holds the ref lock: an `update-ref --stdin` transaction stopped after `prepare`.
    const gitTx = spawn('git', ['update-ref', '--stdin'], { cwd: dir, env: { ...process.env, ...GIT_ENV } });
    gitTx.stdin.write(`start\nupdate ${ref} ${b} ${a}\nprepare\n`);
    await waitForLine(gitTx, 'prepare: ok');
    expect(existsSync(join(repo.commonDir, `${ref}.lock`))).toBe(true);

    const timed = (r = repo) => {
      const t0 = performance.now();
      try {
        new RefTransaction(r).update(ref, b, a).commit();
      } catch (err) {
        return { err, ms: performance.now() - t0 };
      }
      return { err: null, ms: performance.now() - t0 };
    };
    const dflt = timed();
    expect(dflt.err).toBeInstanceOf(LockTimeoutError);
    expect(dflt.ms).toBeGreaterThanOrEqual(90); // git's default: 100 ms
    expect(dflt.ms).toBeLessThan(2000);
    const e = dflt.err as LockTimeoutError;
    expect(e.lockPath).toBe(join(repo.commonDir, `${ref}.lock`));
    expect(e.ageMs).toBeGreaterThanOrEqual(0);
    expect(e.message).toMatch(
      /unable to create '.*\.lock': File exists \(lock \d+\.\ds old; waited 100 ms\)/,
    );

    sh(dir, 'config', 'core.filesRefLockTimeout', '600');
    const longer = timed(discoverRepo(dir));
    expect(longer.err).toBeInstanceOf(LockTimeoutError);
    expect(longer.ms).toBeGreaterThanOrEqual(550);
    expect(longer.ms).toBeLessThan(3000);
    expect(readRef(repo, ref)).toBe(a);

    gitTx.stdin.end('abort\n');
    await new Promise((resolve) => gitTx.on('close', resolve));
    expect(timed().err).toBeNull();
    expect(readRef(repo, ref)).toBe(b);
  });

  it('a held packed-refs.lock delays deletions for core.packedRefsTimeout, then LockTimeoutError', () => {
    const dir = makeRepo();
    sh(dir, 'config', 'core.packedRefsTimeout', '300');
    const repo = discoverRepo(dir);
    const ref = 'refs/coord/leases/z';
    const a = writeBlob(repo, Buffer.from('{}\n'));
    new RefTransaction(repo).create(ref, a).commit();
    const held = Lockfile.acquire(join(repo.commonDir, 'packed-refs'), 0);
    try {
      expect(sh_(dir, ['update-ref', '-d', ref]).stderr).toMatch(/packed-refs\.lock': File exists/);
      const t0 = performance.now();
      expect(() => new RefTransaction(repo).delete(ref, a).commit()).toThrow(
        /packed-refs\.lock': File exists/,
      );
      expect(performance.now() - t0).toBeGreaterThanOrEqual(280);
      expect(readRef(repo, ref)).toBe(a);
      expect(findLocks(repo.commonDir)).toEqual(['packed-refs.lock']);
    } finally {
      held.rollback();
    }
    new RefTransaction(repo).delete(ref, a).commit();
    expect(readRef(repo, ref)).toBeNull();
  });
});

/** Runs real git and returns status and output without throwing. */
function sh_(cwd: string, args: string[]) {
  return spawnSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' });
}

function waitForLine(child: ChildProcessWithoutNullStreams, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.stdout.on('data', (d) => {
      out += d;
      if (out.split('\n').includes(line)) resolve();
    });
    child.on('close', (code) => reject(new Error(`git exited ${code} before "${line}": ${err}`)));
  });
}
