import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  CasMismatchError,
  discoverRepo,
  InvalidRefnameError,
  listRefs,
  RefNameConflictError,
  RefTransaction,
  readRef,
  writeBlob,
} from '../../src/refs/index.js';
import { cleanup, makeRepo, sh } from '../fixtures/repo.js';
import { findLocks } from './helpers.js';

afterAll(cleanup);

function setup() {
  const dir = makeRepo();
  const repo = discoverRepo(dir);
  const [a, b, c] = ['a', 'b', 'c'].map((v) => writeBlob(repo, Buffer.from(`{"v":"${v}"}\n`))) as [
    string,
    string,
    string,
  ];
  return { dir, repo, a, b, c };
}

describe('RefTransaction: all or nothing', () => {
  it('a multi-ref transaction with one stale expectation writes nothing and carries the current oid', () => {
    const { dir, repo, a, b, c } = setup();
    new RefTransaction(repo).create('refs/coord/leases/x', a).create('refs/coord/branches/x', a).commit();
    let err: unknown;
    try {
      new RefTransaction(repo)
        .update('refs/coord/leases/x', b, a)
        .update('refs/coord/branches/x', b, c) // stale
        .create('refs/coord/worktrees/w', b)
        .commit();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CasMismatchError);
    expect((err as CasMismatchError).ref).toBe('refs/coord/branches/x');
    expect((err as CasMismatchError).expected).toBe(c);
    expect((err as CasMismatchError).actual).toBe(a);
    expect((err as CasMismatchError).exitCode).toBe(3);
    expect(sh(dir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/coord')).toBe(
      `refs/coord/branches/x ${a}\nrefs/coord/leases/x ${a}`,
    );
    expect(findLocks(repo.commonDir)).toEqual([]);
    expect(readFileSync(join(repo.commonDir, 'logs/refs/coord/leases/x'), 'utf8').split('\n')).toHaveLength(
      2,
    );
  });

  it('verify() fails the whole transaction when a checked ref changed', () => {
    const { repo, a, b } = setup();
    new RefTransaction(repo).create('refs/coord/leases/x', a).commit();
    const tx = new RefTransaction(repo)
      .create('refs/coord/branches/x', b)
      .verify('refs/coord/leases/x', null);
    expect(() => tx.commit()).toThrow(CasMismatchError);
    expect(readRef(repo, 'refs/coord/branches/x')).toBeNull();
  });

  it('refuses bad input before anything is written', () => {
    const { repo, a } = setup();
    expect(() => new RefTransaction(repo).create('refs/coord/leases/a..b', a)).toThrow(InvalidRefnameError);
    expect(() => new RefTransaction(repo).create('HEAD', a)).toThrow(UsageError);
    expect(() => new RefTransaction(repo).create('refs/coord/leases/x', 'HEAD')).toThrow(/not an object id/);
    expect(() => new RefTransaction(repo).create('refs/coord/x/y', a).delete('refs/coord/x/y', a)).toThrow(
      /multiple updates/,
    );
    expect(listRefs(repo, 'refs/coord/')).toEqual([]);
  });

  it('refuses to update a symbolic ref', () => {
    const { dir, repo, a } = setup();
    sh(dir, 'symbolic-ref', 'refs/coord/sym', 'refs/heads/main');
    expect(() => new RefTransaction(repo).update('refs/coord/sym', a, undefined).commit()).toThrow(
      /symbolic ref/,
    );
    expect(sh(dir, 'symbolic-ref', 'refs/coord/sym')).toBe('refs/heads/main');
  });
});

describe('RefTransaction: names that clash as file and directory', () => {
  it('loose: refs/coord/a exists, so refs/coord/a/b cannot, and the reverse', () => {
    const { repo, a } = setup();
    new RefTransaction(repo).create('refs/coord/leases/a', a).commit();
    expect(() => new RefTransaction(repo).create('refs/coord/leases/a/b', a).commit()).toThrow(
      RefNameConflictError,
    );
    new RefTransaction(repo).create('refs/coord/branches/x/y', a).commit();
    expect(() => new RefTransaction(repo).create('refs/coord/branches/x', a).commit()).toThrow(
      RefNameConflictError,
    );
    expect(findLocks(repo.commonDir)).toEqual([]);
  });

  it('packed: the same conflicts are found in packed-refs', () => {
    const { dir, repo, a } = setup();
    new RefTransaction(repo).create('refs/coord/leases/a', a).create('refs/coord/branches/x/y', a).commit();
    sh(dir, 'pack-refs', '--all');
    expect(existsSync(join(repo.commonDir, 'refs/coord/leases/a'))).toBe(false);
    expect(() => new RefTransaction(repo).create('refs/coord/leases/a/b', a).commit()).toThrow(
      RefNameConflictError,
    );
    expect(() => new RefTransaction(repo).create('refs/coord/branches/x', a).commit()).toThrow(
      RefNameConflictError,
    );
  });

  it('an empty directory where the ref goes is removed, as git does', () => {
    const { repo, a } = setup();
    mkdirSync(join(repo.commonDir, 'refs/coord/leases/x/empty'), { recursive: true });
    new RefTransaction(repo).create('refs/coord/leases/x', a).commit();
    expect(readRef(repo, 'refs/coord/leases/x')).toBe(a);
  });
});

describe('reads and deletes against packed-refs', () => {
  it('loose values override packed ones; deleting rewrites packed-refs so git no longer sees the ref', () => {
    const { dir, repo, a, b } = setup();
    new RefTransaction(repo).create('refs/coord/leases/x', a).create('refs/coord/leases/y', a).commit();
    sh(dir, 'pack-refs', '--all');
    new RefTransaction(repo).update('refs/coord/leases/x', b, a).commit(); // loose b over packed a
    expect(readRef(repo, 'refs/coord/leases/x')).toBe(b);
    expect(listRefs(repo, 'refs/coord/leases/')).toEqual([
      { ref: 'refs/coord/leases/x', oid: b },
      { ref: 'refs/coord/leases/y', oid: a },
    ]);
    new RefTransaction(repo).delete('refs/coord/leases/x', b).delete('refs/coord/leases/y', a).commit();
    expect(sh(dir, 'for-each-ref', 'refs/coord')).toBe('');
    expect(readFileSync(join(repo.commonDir, 'packed-refs'), 'utf8')).not.toContain('refs/coord/');
    expect(existsSync(join(repo.commonDir, 'logs/refs/coord/leases/x'))).toBe(false);
    sh(dir, 'fsck', '--no-dangling');
  });

  it('listing skips lock files and broken loose refs, as git for-each-ref does', () => {
    const { dir, repo, a } = setup();
    new RefTransaction(repo).create('refs/coord/leases/ok', a).commit();
    writeFileSync(join(repo.commonDir, 'refs/coord/leases/ok.lock'), `${a}\n`);
    writeFileSync(join(repo.commonDir, 'refs/coord/leases/broken'), 'garbage\n');
    expect(listRefs(repo, 'refs/coord/')).toEqual([{ ref: 'refs/coord/leases/ok', oid: a }]);
    expect(sh(dir, 'for-each-ref', '--format=%(refname)', 'refs/coord')).toBe('refs/coord/leases/ok');
  });
});
