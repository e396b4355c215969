import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CasMismatchError,
  discoverRepo,
  listRefs,
  RefTransaction,
  readRef,
  writeBlob,
} from '../../src/refs/index.js';
import { cleanup, makeRepo, sh } from '../fixtures/repo.js';

afterAll(cleanup);

describe('RefTransaction', () => {
  it('creates, updates, verifies and deletes refs that git reads', () => {
    const dir = makeRepo();
    const repo = discoverRepo(dir);
    const a = writeBlob(repo, Buffer.from('{"a":1}\n'));
    const b = writeBlob(repo, Buffer.from('{"a":2}\n'));
    new RefTransaction(repo).create('refs/coord/leases/x', a, 'coord: claim x').commit();
    expect(sh(dir, 'rev-parse', 'refs/coord/leases/x')).toBe(a);
    expect(sh(dir, 'show', 'refs/coord/leases/x')).toBe('{"a":1}');
    expect(() => new RefTransaction(repo).create('refs/coord/leases/x', b).commit()).toThrow(
      CasMismatchError,
    );
    new RefTransaction(repo)
      .update('refs/coord/leases/x', b, a, 'coord: renew x')
      .verify('refs/coord/leases/y', null)
      .commit();
    expect(readRef(repo, 'refs/coord/leases/x')).toBe(b);
    // git reads our reflog: @{1} is the previous value. (`git reflog show` walks commits only and
    // prints nothing for blob-valued refs, in git 2.39 as for any canonical git ref.)
    expect(sh(dir, 'rev-parse', 'refs/coord/leases/x@{1}')).toBe(a);
    expect(sh(dir, 'show', 'refs/coord/leases/x@{1}')).toBe('{"a":1}');
    const log = readFileSync(join(repo.commonDir, 'logs/refs/coord/leases/x'), 'utf8').trim().split('\n');
    expect(log).toHaveLength(2);
    expect(log[1]).toMatch(
      new RegExp(`^${a} ${b} Test User <user@example.com> \\d+ [+-]\\d{4}\tcoord: renew x$`),
    );
    sh(dir, 'pack-refs', '--all');
    expect(readRef(repo, 'refs/coord/leases/x')).toBe(b);
    expect(listRefs(repo, 'refs/coord/')).toEqual([{ ref: 'refs/coord/leases/x', oid: b }]);
    expect(() => new RefTransaction(repo).delete('refs/coord/leases/x', a).commit()).toThrow(
      CasMismatchError,
    );
    new RefTransaction(repo).delete('refs/coord/leases/x', b).commit();
    expect(readRef(repo, 'refs/coord/leases/x')).toBeNull();
    expect(sh(dir, 'for-each-ref', 'refs/coord')).toBe('');
    sh(dir, 'fsck', '--no-dangling');
  });
});
