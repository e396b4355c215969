import { mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { CasLostError, optimistic, STALE_LOCK_AGE_MS } from '../../src/records/optimistic.js';
import {
  CasMismatchError,
  discoverRepo,
  LockTimeoutError,
  RefTransaction,
  readRef,
  writeBlob,
} from '../../src/refs/index.js';
import { cleanup, makeRepo } from '../fixtures/repo.js';

afterAll(cleanup);

describe('optimistic()', () => {
  it('re-runs the attempt after a lost CAS and returns its result', async () => {
    const repo = discoverRepo(makeRepo());
    const ref = 'refs/coord/leases/x';
    const a = writeBlob(repo, Buffer.from('a\n'));
    const b = writeBlob(repo, Buffer.from('b\n'));
    new RefTransaction(repo).create(ref, a).commit();
    let calls = 0;
    const result = await optimistic(async (n) => {
      calls++;
      const cur = readRef(repo, ref)!;
      // the first attempt loses: someone else writes between our read and our CAS
      if (n === 1) new RefTransaction(repo).update(ref, b, cur).commit();
      new RefTransaction(repo).update(ref, cur === a ? b : a, cur).commit();
      return n;
    });
    expect(result).toBe(2);
    expect(calls).toBe(2);
    expect(readRef(repo, ref)).toBe(a);
  });

  it('gives up with CasLostError (exit 3) when the budget runs out', async () => {
    let calls = 0;
    const err = await optimistic(
      async () => {
        calls++;
        throw new CasMismatchError('refs/coord/leases/x', 'a'.repeat(40), 'b'.repeat(40));
      },
      { budgetMs: 50 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CasLostError);
    expect((err as CasLostError).exitCode).toBe(ExitCode.conflict);
    expect((err as CasLostError).ref).toBe('refs/coord/leases/x');
    expect((err as CasLostError).attempts).toBe(calls);
    expect(calls).toBeGreaterThan(1);
  });

  it('reports a crash-left lock (older than 60 s) at once, with its age, instead of retrying', async () => {
    const dir = makeRepo();
    const repo = discoverRepo(dir);
    const ref = 'refs/coord/leases/x';
    const lock = join(repo.commonDir, `${ref}.lock`);
    mkdirSync(dirname(lock), { recursive: true });
    writeFileSync(lock, '');
    const old = (Date.now() - STALE_LOCK_AGE_MS - 5000) / 1000;
    utimesSync(lock, old, old);
    const a = writeBlob(repo, Buffer.from('a\n'));
    const t0 = performance.now();
    const err = await optimistic(async () => new RefTransaction(repo).create(ref, a).commit()).catch(
      (e) => e,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as LockTimeoutError).ageMs).toBeGreaterThanOrEqual(STALE_LOCK_AGE_MS);
    expect((err as LockTimeoutError).message).toMatch(/lock \d\d+\.\ds old/);
  });

  it('any other error ends at once', async () => {
    let calls = 0;
    await expect(
      optimistic(async () => {
        calls++;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(calls).toBe(1);
  });
});

describe('writeBlob', () => {
  it('freshens an existing loose object (so a concurrent gc --prune keeps it), as git does', () => {
    const repo = discoverRepo(makeRepo());
    const oid = writeBlob(repo, Buffer.from('{"same":true}\n'));
    const path = join(repo.commonDir, 'objects', oid.slice(0, 2), oid.slice(2));
    utimesSync(path, new Date('2020-01-01'), new Date('2020-01-01'));
    expect(writeBlob(repo, Buffer.from('{"same":true}\n'))).toBe(oid);
    expect(Date.now() - statSync(path).mtimeMs).toBeLessThan(60_000);
  });
});
