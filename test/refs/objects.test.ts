import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeRecord } from '../../src/records/codec.js';
import { LeaseType } from '../../src/records/schemas.js';
import {
  discoverRepo,
  hashBlob,
  MAX_RECORD_BYTES,
  ObjectMissingError,
  RecordTooLargeError,
  type Repo,
  readObject,
  writeBlob,
} from '../../src/refs/index.js';
import { missingObjects } from '../../src/refs/objects.js';
import { cleanup, GIT_ENV, makeRepo, sh } from '../fixtures/repo.js';
import { sampleLease } from '../records/sample.js';

afterAll(cleanup);

/** Every object in the repository with its type and content, as real git reports them. */
function allObjects(dir: string): Map<string, { type: string; content: Buffer }> {
  const env = { ...process.env, ...GIT_ENV };
  const oids = execFileSync('git', ['cat-file', '--batch-all-objects', '--batch-check=%(objectname)'], {
    cwd: dir,
    env,
    encoding: 'utf8',
  })
    .trim()
    .split('\n');
  const out = execFileSync('git', ['cat-file', '--batch'], { cwd: dir, env, input: `${oids.join('\n')}\n` });
  const objects = new Map<string, { type: string; content: Buffer }>();
  let pos = 0;
  while (pos < out.length) {
    const nl = out.indexOf(0x0a, pos);
    const [oid, type, size] = out.toString('latin1', pos, nl).split(' ');
    const start = nl + 1;
    objects.set(oid!, { type: type!, content: out.subarray(start, start + Number(size)) });
    pos = start + Number(size) + 1;
  }
  return objects;
}

/** A repository with 120 revisions of similar records and a few commits: good delta material. */
function recordHistory(): { dir: string; repo: Repo } {
  const dir = makeRepo();
  const repo = discoverRepo(dir);
  for (let revision = 1; revision <= 120; revision++) {
    const oid = writeBlob(
      repo,
      encodeRecord(
        LeaseType,
        sampleLease({ revision, note: `step ${revision} ${'x'.repeat(revision * 7)}` }),
      ),
    );
    sh(dir, 'update-ref', `refs/coord/leases/k${revision}`, oid);
    if (revision % 30 === 0) {
      writeFileSync(join(dir, `f${revision}.txt`), `${'line\n'.repeat(revision * 20)}`);
      sh(dir, 'add', '.');
      sh(dir, 'commit', '-q', '-m', `c${revision}`);
    }
  }
  return { dir, repo };
}

async function expectAllReadable(dir: string, repo: Repo): Promise<number> {
  const objects = allObjects(dir);
  expect(objects.size).toBeGreaterThan(100);
  for (const [oid, want] of objects) {
    const got = await readObject(repo, oid);
    expect(got.type, oid).toBe(want.type);
    expect(got.content.equals(want.content), oid).toBe(true);
  }
  return objects.size;
}

/** Counts deltified objects in the packs (`git verify-pack -v`: lines with a depth and base). */
function deltaCount(dir: string, repo: Repo): number {
  const packDir = join(repo.commonDir, 'objects', 'pack');
  let n = 0;
  for (const idx of readdirSync(packDir).filter((f) => f.endsWith('.idx'))) {
    const out = sh(dir, 'verify-pack', '-v', join(packDir, idx));
    n += out.split('\n').filter((l) => /^[0-9a-f]{40} \w+ +\d+ \d+ \d+ \d+ [0-9a-f]{40}$/.test(l)).length;
  }
  return n;
}

describe('readObject: packed objects read at their offset', () => {
  it('reads every object of an aggressively deltified pack (OFS_DELTA) exactly as git does', async () => {
    const { dir, repo } = recordHistory();
    sh(dir, 'repack', '-adfq', '--window=250', '--depth=50');
    expect(sh(dir, 'count-objects', '-v')).toMatch(/^count: 0$/m);
    expect(deltaCount(dir, repo)).toBeGreaterThan(50);
    await expectAllReadable(dir, repo);
  });

  it('reads REF_DELTA packs (repack.useDeltaBaseOffset=false), several packs and loose objects together', async () => {
    const { dir, repo } = recordHistory();
    sh(dir, '-c', 'repack.useDeltaBaseOffset=false', 'repack', '-adfq', '--window=250');
    expect(deltaCount(dir, repo)).toBeGreaterThan(50);
    // a second pack on top, and some loose objects
    for (let i = 0; i < 5; i++)
      sh(dir, 'update-ref', `refs/coord/leases/extra${i}`, writeBlob(repo, Buffer.from(`{"extra":${i}}\n`)));
    sh(dir, 'repack', '-dq');
    writeBlob(repo, Buffer.from('{"loose":true}\n'));
    expect(
      readdirSync(join(repo.commonDir, 'objects', 'pack')).filter((f) => f.endsWith('.pack')),
    ).toHaveLength(2);
    await expectAllReadable(dir, repo);
  });

  it('reads objects through version 1 pack indexes (pack.indexVersion=1)', async () => {
    const { dir, repo } = recordHistory();
    sh(dir, '-c', 'pack.indexVersion=1', 'repack', '-adq');
    const idx = readdirSync(join(repo.commonDir, 'objects', 'pack')).find((f) => f.endsWith('.idx'))!;
    expect(readFileSync(join(repo.commonDir, 'objects', 'pack', idx)).readUInt32BE(0)).not.toBe(0xff744f63);
    await expectAllReadable(dir, repo);
  });

  it('refuses packed objects over the limit from their header, and reports missing objects', async () => {
    const dir = makeRepo();
    const repo = discoverRepo(dir);
    const big = Buffer.alloc(MAX_RECORD_BYTES + 10, 0x61);
    writeFileSync(join(dir, 'big.bin'), big);
    const bigOid = sh(dir, 'hash-object', '-w', 'big.bin');
    sh(dir, 'update-ref', 'refs/coord/leases/big', bigOid);
    sh(dir, 'gc', '-q', '--prune=now');
    await expect(readObject(repo, bigOid)).rejects.toBeInstanceOf(RecordTooLargeError);
    await expect(readObject(repo, bigOid)).rejects.toThrow(`${MAX_RECORD_BYTES + 10} bytes`);
    expect((await readObject(repo, bigOid, 2 * MAX_RECORD_BYTES)).content.equals(big)).toBe(true);
    const absent = hashBlob(Buffer.from('never written'));
    await expect(readObject(repo, absent)).rejects.toBeInstanceOf(ObjectMissingError);
  });
});

describe('missingObjects: which of many oids the object database lacks', () => {
  it('finds exactly the absent ones among packed (index v2 and v1, two packs) and loose objects', () => {
    for (const indexVersion of ['2', '1']) {
      const { dir, repo } = recordHistory();
      sh(dir, '-c', `pack.indexVersion=${indexVersion}`, 'repack', '-adq');
      for (let i = 0; i < 5; i++)
        sh(
          dir,
          'update-ref',
          `refs/coord/leases/extra${i}`,
          writeBlob(repo, Buffer.from(`{"extra":${i}}\n`)),
        );
      sh(dir, '-c', `pack.indexVersion=${indexVersion}`, 'repack', '-dq');
      const loose = writeBlob(repo, Buffer.from('{"loose":true}\n'));
      const present = [...allObjects(dir).keys()];
      expect(present).toContain(loose);
      const absent = ['never', 'written', 'anywhere'].map((s) => hashBlob(Buffer.from(s)));
      expect(missingObjects(repo, [...present, ...absent, absent[0]!])).toEqual(new Set(absent));
      expect(missingObjects(repo, present).size).toBe(0);
    }
  });
});

describe('writeBlob: loose objects as git reads them', () => {
  it('writes blobs of every size up to the limit that git inflates byte for byte and fsck accepts', async () => {
    const dir = makeRepo();
    const repo = discoverRepo(dir);
    const sizes = [0, 1, 250, 700, 4_000, 40_000, 300_000, MAX_RECORD_BYTES];
    // Incompressible and repetitive contents: the window must see the whole object either way.
    const contents = sizes.flatMap((n) => [
      Buffer.from(Array.from({ length: n }, (_, i) => (i * 7919 + (i >> 3)) % 251)),
      Buffer.alloc(n, 'abc'),
    ]);
    for (const content of contents) {
      const oid = writeBlob(repo, content);
      expect(oid).toBe(
        execFileSync('git', ['hash-object', '--stdin'], { cwd: dir, input: content }).toString().trim(),
      );
      expect(
        execFileSync('git', ['cat-file', 'blob', oid], { cwd: dir, maxBuffer: 1 << 22 }).equals(content),
      ).toBe(true);
      expect((await readObject(repo, oid)).content.equals(content)).toBe(true);
    }
    expect(execFileSync('git', ['fsck', '--strict', '--no-dangling'], { cwd: dir, encoding: 'utf8' })).toBe(
      '',
    );
  });
});
