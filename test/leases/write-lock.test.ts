import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLockPath } from '../../src/leases/write-lock.js';
import { discoverRepo } from '../../src/refs/repo.js';
import { cli, cliJson, makeCoordRepo, record } from '../cli/helpers.js';
import { cleanup } from '../fixtures/repo.js';

/**
 * The lease write lock (issue 12): writers of one lease take turns; one killed with SIGKILL holding
 * the lock never leaves the others stuck; a live holder is waited for and then gone around, never
 * broken. Real CLI processes on a real repository.
 */

afterAll(cleanup);

const HOST = 'host-w';
const as = (holder: string) => ({ COORD_HOLDER: holder, COORD_HOST: HOST });
const locksDir = (dir: string) => join(dir, '.git', 'coord', 'write-locks');
const locksLeft = (dir: string) => (existsSync(locksDir(dir)) ? readdirSync(locksDir(dir)) : []);

describe('lease write lock', () => {
  it('6 processes × 8 renews of one lease at once: every renew succeeds, the revision rises by exactly 48, no lock left', async () => {
    const dir = makeCoordRepo({ leases: { skew: '0s' } });
    const lease = await cliJson<{ revision: number }>(dir, ['claim', 'k', '--no-worktree'], 0, as('agent-a'));
    const codes = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const out: Array<number | null> = [];
        for (let i = 0; i < 8; i++) out.push((await cli(dir, ['renew', 'k'], as('agent-a'))).code);
        return out;
      }),
    );
    expect(codes.flat()).toEqual(Array(48).fill(0));
    expect(record(dir, 'refs/coord/leases/k')!.revision).toBe(lease.revision + 48);
    expect(locksLeft(dir)).toEqual([]);
  });

  it('a renew SIGKILLed holding the write lock: the lock names a dead pid, the next 4 concurrent renews break it and all succeed', async () => {
    const dir = makeCoordRepo({ leases: { skew: '0s' } });
    const lease = await cliJson<{ revision: number }>(dir, ['claim', 'k', '--no-worktree'], 0, as('agent-a'));
    const killed = await cli(dir, ['renew', 'k'], { ...as('agent-a'), GIT_COORD_TEST_FAULT: 'write-locked' });
    expect(killed.signal).toBe('SIGKILL');
    const path = writeLockPath(discoverRepo(dir), 'k');
    const [pid, host] = readFileSync(path, 'utf8').split(' ');
    expect(host).toBe(HOST);
    expect(() => process.kill(Number(pid), 0)).toThrow(); // the writer is gone
    expect(record(dir, 'refs/coord/leases/k')!.revision).toBe(lease.revision);
    const res = await Promise.all(Array.from({ length: 4 }, () => cli(dir, ['renew', 'k'], as('agent-a'))));
    expect(res.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect(record(dir, 'refs/coord/leases/k')!.revision).toBe(lease.revision + 4);
    // Broken, not waited out: going ahead without the lock would have left the dead writer's file.
    expect(locksLeft(dir)).toEqual([]);
  });

  it('a lock held by a live process is waited for, then gone around: the renew succeeds and the lock is left alone', async () => {
    const dir = makeCoordRepo({ leases: { skew: '0s' } });
    const lease = await cliJson<{ revision: number }>(dir, ['claim', 'k', '--no-worktree'], 0, as('agent-a'));
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const path = writeLockPath(discoverRepo(dir), 'k');
      mkdirSync(dirname(path), { recursive: true });
      const content = `${sleeper.pid} ${HOST} - 0123456789ab\n`;
      writeFileSync(path, content);
      const res = await cli(dir, ['renew', 'k'], as('agent-a'));
      expect(res.code, res.stderr).toBe(0);
      expect(record(dir, 'refs/coord/leases/k')!.revision).toBe(lease.revision + 1);
      expect(readFileSync(path, 'utf8')).toBe(content);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});
