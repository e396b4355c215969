import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { faketimeLibrary, shiftedClock } from '../fixtures/clock.js';
import { cleanup, makeRepo, run, sh } from '../fixtures/repo.js';

/** The shifted-clock fixture (libfaketime): what it shifts, measured on real processes. */

afterAll(cleanup);

const NODE_CLOCK =
  'const t0 = Date.now(); const p0 = performance.now(); setTimeout(() => console.log(JSON.stringify({ now: t0, timer: performance.now() - p0 })), 200);';

describe('shiftedClock', () => {
  it('finds libfaketime', () => {
    expect(faketimeLibrary()).toMatch(/faketime\/libfaketime\.so\.1$/);
  });

  it.each([
    ['+1h', 3600],
    ['-30m', -1800],
    ['+90', 90],
    ['-1.5h', -5400],
    ['+2d', 172800],
  ])("shifts node's Date.now() by %s and keeps timers real", async (offset, seconds) => {
    const before = Date.now();
    const res = await run(process.execPath, ['-e', NODE_CLOCK], {
      cwd: process.cwd(),
      env: shiftedClock(offset),
    });
    const after = Date.now();
    expect(res.code, res.stderr).toBe(0);
    const { now, timer } = JSON.parse(res.stdout) as { now: number; timer: number };
    expect(now).toBeGreaterThanOrEqual(before + seconds * 1000 - 1000);
    expect(now).toBeLessThanOrEqual(after + seconds * 1000 + 1000);
    // a 200 ms timer takes about 200 ms of real time (generous bounds for a loaded machine)
    expect(timer).toBeGreaterThanOrEqual(190);
    expect(timer).toBeLessThan(30_000);
  });

  it('shifts the processes it starts too: git records the shifted time in a commit', async () => {
    const dir = makeRepo();
    const res = await run('git', ['commit', '-q', '--allow-empty', '-m', 'late'], {
      cwd: dir,
      env: shiftedClock('+2d'),
    });
    expect(res.code, res.stderr).toBe(0);
    const committed = Number(sh(dir, 'log', '-1', '--format=%ct'));
    const real = Math.floor(Date.now() / 1000);
    expect(committed - real).toBeGreaterThan(2 * 86400 - 120);
    expect(committed - real).toBeLessThan(2 * 86400 + 120);
    // the test process's own clock is untouched
    expect(Math.abs(Number(execFileSync('date', ['+%s'], { encoding: 'utf8' })) - real)).toBeLessThan(60);
  });

  it('refuses an offset libfaketime would misread', () => {
    expect(() => shiftedClock('1 hour')).toThrow(/bad clock offset/);
  });
});
