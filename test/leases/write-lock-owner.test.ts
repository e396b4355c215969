import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withWriteLock, writeLockPath } from '../../src/leases/write-lock.js';
import { LeaseType } from '../../src/records/schemas.js';
import { readRecord, writeRecord } from '../../src/records/store.js';
import { discoverRepo, RefTransaction } from '../../src/refs/index.js';
import { cleanup, collect, GIT_ENV, makeRepo, type RunResult } from '../fixtures/repo.js';
import { sampleLease } from '../records/sample.js';
import { PROJECT_ROOT } from '../refs/helpers.js';

/**
 * The lease write lock taken as a hard link to a per-process owner file (src/leases/write-lock.ts):
 * long-lived writers that take it again and again, real processes started together, some killed with
 * SIGKILL at the fault points `write-locked` (holding a lock linked to their owner file) and
 * `write-owner` (owner file written, no lock yet). Nothing is lost, nobody is stuck, nothing is left.
 */

afterAll(cleanup);

const WORKER = join(import.meta.dirname, 'workers', 'locked-writer.ts');
const HOST = 'host-w';
const KEY = '65';
const REF = `refs/coord/leases/${KEY}`;
const locksDir = (dir: string) => join(dir, '.git', 'coord', 'write-locks');
const left = (dir: string) => (existsSync(locksDir(dir)) ? readdirSync(locksDir(dir)).sort() : []);

/** A repository holding lease 65 at revision 1. */
function setup(): string {
  const dir = makeRepo();
  const repo = discoverRepo(dir);
  new RefTransaction(repo).create(REF, writeRecord(repo, LeaseType, sampleLease({ revision: 1 }))).commit();
  return dir;
}

/** Starts one writer per entry of `faults` (`undefined`: none), all released together once ready. */
async function writers(dir: string, n: number, faults: Array<string | undefined>): Promise<RunResult[]> {
  const children = faults.map((fault) =>
    spawn(process.execPath, ['--import', 'tsx', WORKER, dir, KEY, String(n), HOST], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...GIT_ENV, GIT_COORD_TEST_FAULT: fault },
    }),
  );
  const done = children.map(collect);
  await Promise.all(
    children.map((c) => new Promise((resolve) => c.stdout.once('data', resolve))), // `ready`
  );
  for (const c of children) c.stdin.end('go\n');
  return Promise.all(done);
}

const revision = async (dir: string) =>
  (await readRecord(discoverRepo(dir), REF, LeaseType))!.record.revision;

describe('lease write lock: owner file and links', () => {
  it('the lock is a link to the owner file, which is written once per process and removed at exit', async () => {
    const dir = setup();
    const repo = discoverRepo(dir);
    const seen: Array<{ nlink: number; ino: number; owners: string[] }> = [];
    for (let i = 0; i < 3; i++) {
      await withWriteLock(repo, KEY, HOST, async () => {
        const st = lstatSync(writeLockPath(repo, KEY));
        seen.push({ nlink: st.nlink, ino: st.ino, owners: left(dir).filter((f) => f.endsWith('.owner')) });
      });
    }
    expect(seen.map((s) => s.nlink)).toEqual([2, 2, 2]);
    expect(new Set(seen.map((s) => s.ino)).size).toBe(1);
    expect(seen.map((s) => s.owners)).toEqual(
      Array(3).fill([`${process.pid}-${seen[0]!.owners[0]!.split('-')[1]}`]),
    );
    const owner = join(locksDir(dir), seen[0]!.owners[0]!);
    expect(readFileSync(owner, 'utf8')).toMatch(
      new RegExp(`^${process.pid} ${HOST} (\\d+|-) [0-9a-f]{12}\\n$`),
    );
    expect(left(dir)).toEqual([seen[0]!.owners[0]]); // the lock is gone, the owner file stays until exit
  });

  it('6 long-lived processes × 25 locked updates started together: the revision rises by exactly 150, nothing left', async () => {
    const dir = setup();
    const res = await writers(dir, 25, Array(6).fill(undefined));
    for (const r of res) expect(r.code, r.stderr).toBe(0);
    for (const r of res) expect(r.stdout).toMatch(/^ready\nok \d+\n$/);
    expect(await revision(dir)).toBe(1 + 150);
    expect(left(dir)).toEqual([]);
  });

  it('a writer SIGKILLed holding a lock linked to its owner file at its 11th update: 3 writers break it at once and finish, nothing lost or left', async () => {
    const dir = setup();
    const [killed] = await writers(dir, 20, ['write-locked:update-10']);
    expect(killed!.signal).toBe('SIGKILL');
    expect(await revision(dir)).toBe(1 + 10);
    const files = left(dir);
    expect(files).toHaveLength(2);
    const stat = (suffix: string) => lstatSync(join(locksDir(dir), files.find((f) => f.endsWith(suffix))!));
    const [lock, owner] = [stat('.lock'), stat('.owner')];
    expect(lock!.ino).toBe(owner!.ino); // the held lock is the owner file's second name
    const t0 = Date.now();
    const res = await writers(dir, 20, [undefined, undefined, undefined]);
    for (const r of res) expect(r.code, r.stderr).toBe(0);
    expect(await revision(dir)).toBe(1 + 10 + 3 * 20);
    expect(Date.now() - t0).toBeLessThan(15_000); // broken at once, not waited out
    // The dead writer's lock was broken, and its owner file swept, by the writers.
    expect(left(dir)).toEqual([]);
  });

  it('a writer SIGKILLed with its owner file written and no lock taken leaves only that file: the next writers sweep it and finish', async () => {
    const dir = setup();
    const [killed] = await writers(dir, 5, ['write-owner']);
    expect(killed!.signal).toBe('SIGKILL');
    const files = left(dir);
    expect(files).toEqual([expect.stringMatching(/^\d+-[0-9a-f]{12}\.owner$/)]);
    const [pid, host] = readFileSync(join(locksDir(dir), files[0]!), 'utf8').split(' ');
    expect(host).toBe(HOST);
    expect(() => process.kill(Number(pid), 0)).toThrow(); // the writer is gone
    const res = await writers(dir, 5, [undefined, undefined]);
    for (const r of res) expect(r.code, r.stderr).toBe(0);
    expect(await revision(dir)).toBe(1 + 2 * 5);
    expect(left(dir)).toEqual([]);
  });
});
