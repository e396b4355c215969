import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeRecord } from '../../src/records/codec.js';
import { LeaseType } from '../../src/records/schemas.js';
import { listRecords, readRecord, writeRecord } from '../../src/records/store.js';
import { discoverRepo, listRefs, RefTransaction } from '../../src/refs/index.js';
import { addWorktree, cleanup, makeRepo, sh } from '../fixtures/repo.js';
import { sampleLease } from '../records/sample.js';

afterAll(cleanup);

const L = 'refs/coord/leases/';

describe('must show: plain git sees our records', () => {
  it('refs written in a linked worktree and in the main one are listed by git for-each-ref in both', async () => {
    const main = makeRepo();
    const wt = addWorktree(main, 'coord/65');
    const fromWt = discoverRepo(wt);
    const fromMain = discoverRepo(main);
    const leaseWt = sampleLease({ key: '65' });
    const leaseMain = sampleLease({ key: '66', branch: 'coord/66' });
    const oidWt = writeRecord(fromWt, LeaseType, leaseWt);
    new RefTransaction(fromWt).create(`${L}65`, oidWt, 'coord: claim 65 by agent-7 token 1').commit();
    const oidMain = writeRecord(fromMain, LeaseType, leaseMain);
    new RefTransaction(fromMain).create(`${L}66`, oidMain, 'coord: claim 66 by agent-7 token 1').commit();

    const expected = `${oidWt} blob\t${L}65\n${oidMain} blob\t${L}66`;
    for (const cwd of [main, wt]) {
      expect(sh(cwd, 'for-each-ref', '--format=%(objectname) %(objecttype)\t%(refname)', 'refs/coord')).toBe(
        expected,
      );
    }
    // git show prints the canonical JSON, byte for byte (sh trims the trailing newline)
    const canonical = encodeRecord(LeaseType, leaseWt).toString('utf8');
    expect(`${sh(main, 'show', `${L}65`)}\n`).toBe(canonical);
    expect(`${sh(wt, 'show', `${L}65`)}\n`).toBe(canonical);
    expect(`${sh(wt, 'cat-file', 'blob', `${L}66`)}\n`).toBe(
      encodeRecord(LeaseType, leaseMain).toString('utf8'),
    );
    expect((await readRecord(fromMain, `${L}65`, LeaseType))?.record).toEqual(leaseWt);
    expect((await readRecord(fromWt, `${L}66`, LeaseType))?.record).toEqual(leaseMain);
  });

  it('after git gc --prune=now every current record reads (packed objects), history included', async () => {
    const dir = makeRepo();
    const repo = discoverRepo(dir);
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    for (const key of keys) {
      const v1 = sampleLease({ key });
      const o1 = writeRecord(repo, LeaseType, v1);
      new RefTransaction(repo).create(`${L}${key}`, o1, `coord: claim ${key}`).commit();
      const o2 = writeRecord(repo, LeaseType, { ...v1, revision: 2 });
      new RefTransaction(repo).update(`${L}${key}`, o2, o1, `coord: renew ${key}`).commit();
    }
    sh(dir, 'gc', '-q', '--prune=now');
    expect(sh(dir, 'count-objects', '-v')).toMatch(/^count: 0$/m);
    expect(readFileSync(join(repo.commonDir, 'packed-refs'), 'utf8')).toContain(`${L}k0\n`);
    const listed = await listRecords(repo, L, LeaseType);
    expect(listed).toHaveLength(20);
    for (const e of listed) {
      expect('record' in e && e.record.revision).toBe(2);
    }
    expect((await readRecord(repo, `${L}k7`, LeaseType))?.record).toEqual(
      sampleLease({ key: 'k7', revision: 2 }),
    );
    // gc keeps what the reflogs reach: the previous record is still there
    expect(JSON.parse(sh(dir, 'show', `${L}k7@{1}`)).revision).toBe(1);
    // and an update after gc (ref packed, no loose file) works and is seen by git
    const cur = (await readRecord(repo, `${L}k7`, LeaseType))!;
    const o3 = writeRecord(repo, LeaseType, { ...cur.record, revision: 3 });
    new RefTransaction(repo).update(`${L}k7`, o3, cur.oid, 'coord: renew k7').commit();
    expect(JSON.parse(sh(dir, 'show', `${L}k7`)).revision).toBe(3);
    expect(listRefs(repo, L)).toHaveLength(20);
    sh(dir, 'fsck', '--no-dangling');
  });

  it('reflog: one entry per update in git format; <ref>@{n} gives previous records', async () => {
    const dir = makeRepo();
    const repo = discoverRepo(dir);
    const ref = `${L}65`;
    const oids: string[] = [];
    for (let revision = 1; revision <= 3; revision++) {
      oids.push(writeRecord(repo, LeaseType, sampleLease({ revision })));
      new RefTransaction(repo)
        .update(ref, oids.at(-1)!, oids.at(-2) ?? null, `coord: renew 65 by agent-7 token ${revision}`)
        .commit({ ident: { name: 'agent-7', email: 'agent-7@example.com' } });
    }
    const log = readFileSync(join(repo.commonDir, 'logs', ref), 'utf8')
      .split('\n')
      .filter(Boolean);
    expect(log).toHaveLength(3);
    expect(log[0]).toMatch(
      new RegExp(
        `^0{40} ${oids[0]} agent-7 <agent-7@example\\.com> \\d+ [+-]\\d{4}\tcoord: renew 65 by agent-7 token 1$`,
      ),
    );
    expect(log[2]).toMatch(new RegExp(`^${oids[1]} ${oids[2]} .*\tcoord: renew 65 by agent-7 token 3$`));

    // What git offers for blob-valued refs: <ref>@{n}, reflog exists, @{n} with a date
    expect(sh(dir, 'rev-parse', `${ref}@{0}`)).toBe(oids[2]);
    expect(sh(dir, 'rev-parse', `${ref}@{2}`)).toBe(oids[0]);
    expect(JSON.parse(sh(dir, 'show', `${ref}@{1}`)).revision).toBe(2);
    expect(JSON.parse(sh(dir, 'show', `${ref}@{2}`)).revision).toBe(1);
    sh(dir, 'reflog', 'exists', ref);
    // A measured reality of git 2.39: `git reflog show` / `git log -g` walk commits only and print
    // nothing for refs that point at blobs (exit 0). The entries are there; git just does not list them.
    expect(sh(dir, 'reflog', 'show', ref)).toBe('');
  });
});
