import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QUARANTINE_PREFIX, quarantineRecord } from '../../src/records/quarantine.js';
import { AuditType, LeaseType } from '../../src/records/schemas.js';
import {
  CorruptRecordError,
  isCorrupt,
  listRecords,
  readRecord,
  writeRecord,
} from '../../src/records/store.js';
import { CasMismatchError, discoverRepo, listRefs, type Repo, readRef } from '../../src/refs/index.js';
import { cleanup, GIT_ENV, makeRepo, sh } from '../fixtures/repo.js';
import { sampleLease } from './sample.js';

afterAll(cleanup);

const P = 'refs/coord/leases/';

/** Writes `content` as a blob with real git and points `ref` at it with real git. */
function gitBlobRef(dir: string, ref: string, content: string | Buffer): string {
  const oid = execFileSync('git', ['hash-object', '-w', '--stdin'], {
    cwd: dir,
    input: content,
    env: { ...process.env, ...GIT_ENV },
    encoding: 'utf8',
  }).trim();
  sh(dir, 'update-ref', ref, oid);
  return oid;
}

/** A repository with one good lease and one ref per corrupt-record kind; returns the kinds' reasons. */
function corruptFixture(): { dir: string; repo: Repo; good: string; kinds: Record<string, RegExp> } {
  const dir = makeRepo();
  const repo = discoverRepo(dir);
  const good = writeRecord(repo, LeaseType, sampleLease({ key: 'good' }));
  sh(dir, 'update-ref', `${P}good`, good);
  gitBlobRef(dir, `${P}notjson`, '{"schema": "coord.lease/v1", oops\n');
  gitBlobRef(dir, `${P}shape`, JSON.stringify({ ...sampleLease({ key: 'shape' }), revision: 'seven' }));
  gitBlobRef(
    dir,
    `${P}version`,
    JSON.stringify({ ...sampleLease({ key: 'version' }), schema: 'coord.lease/v9' }),
  );
  sh(dir, 'update-ref', `${P}commit`, sh(dir, 'rev-parse', 'HEAD'));
  sh(dir, 'update-ref', `${P}tree`, sh(dir, 'rev-parse', 'HEAD^{tree}'));
  gitBlobRef(dir, `${P}large`, Buffer.alloc(1024 * 1024 + 1, 0x20));
  // git refuses to point a ref at a missing object, so write the loose ref file as a crash could leave it
  writeFileSync(join(repo.commonDir, P, 'missing'), `${'ab'.repeat(20)}\n`);
  return {
    dir,
    repo,
    good,
    kinds: {
      notjson: /not JSON/,
      shape: /invalid lease: revision/,
      version: /unknown schema version "coord\.lease\/v9"/,
      commit: /points at a commit, not a blob/,
      tree: /points at a tree, not a blob/,
      large: /1048577 bytes; records are limited to 1048576 bytes/,
      missing: /object missing/,
    },
  };
}

async function expectCorrupt(repo: Repo, ref: string, reason: RegExp): Promise<void> {
  const err = await readRecord(repo, ref, LeaseType).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, ref).toBeInstanceOf(CorruptRecordError);
  const c = err as CorruptRecordError;
  expect(c.code).toBe('corrupt-record');
  expect(c.ref).toBe(ref);
  expect(c.oid).toBe(readRef(repo, ref));
  expect(c.reason).toMatch(reason);
  expect(c.message).toContain(ref);
  expect(c.message).toContain(c.oid.slice(0, 12));
}

describe('corrupt records', () => {
  it('each kind gives CorruptRecordError naming ref, oid and reason; other records still read', async () => {
    const { dir, repo, good, kinds } = corruptFixture();
    for (const [name, reason] of Object.entries(kinds)) await expectCorrupt(repo, `${P}${name}`, reason);
    expect((await readRecord(repo, `${P}good`, LeaseType))?.record).toEqual(sampleLease({ key: 'good' }));

    const listed = await listRecords(repo, P, LeaseType);
    expect(listed.map((e) => e.ref)).toEqual([...Object.keys(kinds), 'good'].sort().map((k) => `${P}${k}`));
    const ok = listed.filter((e) => !isCorrupt(e));
    expect(ok).toEqual([{ ref: `${P}good`, oid: good, record: sampleLease({ key: 'good' }) }]);
    for (const e of listed.filter(isCorrupt)) {
      expect(e.error.reason).toMatch(kinds[e.ref.slice(P.length)]!);
    }

    // Packed objects take the isomorphic-git path: same errors after gc (the missing one cannot be packed).
    sh(dir, 'update-ref', '-d', `${P}missing`);
    sh(dir, 'gc', '-q', '--prune=now');
    expect(sh(dir, 'count-objects', '-v')).toMatch(/^count: 0$/m);
    for (const [name, reason] of Object.entries(kinds)) {
      if (name !== 'missing') await expectCorrupt(repo, `${P}${name}`, reason);
    }
    expect((await readRecord(repo, `${P}good`, LeaseType))?.oid).toBe(good);
  });

  it('quarantine moves the ref under refs/coord/quarantine/, keeps the object, records an audit event', async () => {
    const { dir, repo, kinds } = corruptFixture();
    const ref = `${P}notjson`;
    const oid = readRef(repo, ref)!;
    const content = sh(dir, 'cat-file', '-p', oid);
    const by = { id: 'doctor@example.com', host: 'h1' };

    expect(() => quarantineRecord(repo, ref, 'f'.repeat(40), 'not JSON', by)).toThrow(CasMismatchError);
    expect(readRef(repo, ref)).toBe(oid);

    const target = quarantineRecord(repo, ref, oid, 'not JSON', by);
    expect(target).toMatch(/^refs\/coord\/quarantine\/leases\/notjson\/\d{8}T\d{6}\.\d{3}Z$/);
    expect(target.startsWith(QUARANTINE_PREFIX)).toBe(true);
    expect(readRef(repo, ref)).toBeNull();
    expect(sh(dir, 'rev-parse', target)).toBe(oid);
    expect(sh(dir, 'for-each-ref', '--format=%(refname)', 'refs/coord/quarantine')).toBe(target);
    expect(sh(dir, 'cat-file', '-p', oid)).toBe(content);

    const audit = await listRecords(repo, 'refs/coord/audit/', AuditType);
    expect(audit).toHaveLength(1);
    const event = audit[0]!;
    expect(isCorrupt(event)).toBe(false);
    if (!isCorrupt(event)) {
      expect(event.record).toMatchObject({ action: 'quarantine', ref, by, reason: 'not JSON' });
    }

    // The other records are untouched, and the quarantined object survives gc (it is reachable).
    await expectCorrupt(repo, `${P}shape`, kinds.shape!);
    expect((await readRecord(repo, `${P}good`, LeaseType))?.record.key).toBe('good');
    sh(dir, 'update-ref', '-d', `${P}missing`);
    sh(dir, 'gc', '-q', '--prune=now');
    expect(sh(dir, 'cat-file', '-p', oid)).toBe(content);
    expect(listRefs(repo, QUARANTINE_PREFIX)).toEqual([{ ref: target, oid }]);
    sh(dir, 'fsck', '--no-dangling');
  });
});
