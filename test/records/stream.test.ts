import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LeaseType } from '../../src/records/schemas.js';
import { isCorrupt, listRecords, writeRecord } from '../../src/records/store.js';
import { discoverRepo, writeBlob } from '../../src/refs/index.js';
import { cleanup, GIT_ENV, makeRepo, sh } from '../fixtures/repo.js';
import { sampleLease } from './sample.js';

afterAll(cleanup);

const P = 'refs/coord/leases/';

/**
 * Long listings are read by one `git for-each-ref` process (src/refs/stream.ts) instead of ref by ref:
 * the result must be the same entries, in the same order, with the same corrupt-record reasons,
 * including where git itself stops (a missing object) and the rest is read in-process, and without
 * the symbolic refs that in-process listing skips.
 */
describe('listing 300 records through git for-each-ref', () => {
  it('gives every record in order, corrupt ones in place, loose and packed, past a missing object', async () => {
    const dir = makeRepo();
    const repo = discoverRepo(dir);
    const lines: string[] = [];
    const keys: string[] = [];
    for (let i = 0; i < 300; i++) {
      const key = `k${String(i).padStart(3, '0')}`;
      keys.push(key);
      let oid: string;
      if (i === 10) oid = writeBlob(repo, Buffer.from('{ not json\n'));
      else if (i === 20) oid = sh(dir, 'rev-parse', 'HEAD^{tree}');
      else if (i === 150)
        continue; // written below: a ref at a missing object, where git stops
      else oid = writeRecord(repo, LeaseType, sampleLease({ key, revision: i + 1 }));
      lines.push(`create ${P}${key} ${oid}`);
    }
    execFileSync('git', ['update-ref', '--stdin'], {
      cwd: dir,
      input: `${lines.join('\n')}\n`,
      env: { ...process.env, ...GIT_ENV },
    });
    sh(dir, 'symbolic-ref', `${P}zz-link`, `${P}k001`); // never a record: not listed
    mkdirSync(join(dir, '.git', P), { recursive: true });
    writeFileSync(join(dir, '.git', P, 'k150'), `${'f'.repeat(40)}\n`);
    const check = async () => {
      const listed = await listRecords(repo, P, LeaseType);
      expect(listed.map((e) => e.ref)).toEqual(keys.map((k) => `${P}${k}`));
      const reasons = listed.flatMap((e, i) => (isCorrupt(e) ? [[i, e.error.reason]] : []));
      expect(reasons).toEqual([
        [10, expect.stringMatching(/^not JSON/)],
        [20, 'points at a tree, not a blob'],
        [150, 'object missing'],
      ]);
      for (const [i, e] of listed.entries()) if (!isCorrupt(e)) expect(e.record.revision).toBe(i + 1);
    };
    await check();
    // packed (git pack-refs refuses the ref at a missing object: it stays loose beside the pack)
    rmSync(join(dir, '.git', P, 'k150'));
    sh(dir, 'pack-refs', '--all');
    mkdirSync(join(dir, '.git', P), { recursive: true });
    writeFileSync(join(dir, '.git', P, 'k150'), `${'f'.repeat(40)}\n`);
    await check();
  });
});
