import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { STARTER_CONFIG } from '../../src/config/config.js';
import { cli, makeCoordRepo } from '../cli/helpers.js';
import { type RunResult, run, sh } from '../fixtures/repo.js';

/** The starter configuration with a short clock skew, so expiry tests need not wait 30 s. */
export const TEST_CONFIG = { ...STARTER_CONFIG, leases: { ttl: '15m', skew: '1s' } };

/** A repository with `.coord/config.json` committed and `git coord init` run (hooks installed). */
export async function initRepo(config: object = TEST_CONFIG): Promise<string> {
  const dir = makeCoordRepo(config);
  const res = await cli(dir, ['init']);
  expect(res.code, res.stderr).toBe(0);
  return dir;
}

/** `git coord claim` as `holder`, expecting success; returns the worktree path. */
export async function claim(dir: string, key: string, holder: string, extra: string[] = []): Promise<string> {
  const res = await cli(dir, ['claim', key, '--json', ...extra], { COORD_HOLDER: holder });
  expect(res.code, res.stderr).toBe(0);
  const lease = JSON.parse(res.stdout) as { worktree: { path: string } | null };
  return lease.worktree?.path ?? dir;
}

/** Writes a file (creating directories). */
export function write(dir: string, path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

/** Environment of a git process run as `holder` (no inherited identity). */
export function as(holder: string | undefined, extra: Record<string, string | undefined> = {}) {
  return { COORD_HOLDER: holder, COORD_PID: undefined, COORD: undefined, NO_COLOR: '1', ...extra };
}

/** Stages a new file and runs a real `git commit` as `holder`. */
export function commitAs(
  cwd: string,
  holder: string | undefined,
  message = 'change',
  extra: Record<string, string | undefined> = {},
  args: string[] = [],
): Promise<RunResult> {
  writeFileSync(join(cwd, `file-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`), 'x\n');
  sh(cwd, 'add', '-A');
  return run('git', ['commit', '-m', message, ...args], { cwd, env: as(holder, extra) });
}

/** Runs a real `git push` as `holder`. */
export function pushAs(
  cwd: string,
  holder: string | undefined,
  args: string[],
  extra: Record<string, string | undefined> = {},
): Promise<RunResult> {
  return run('git', ['push', ...args], { cwd, env: as(holder, extra) });
}

/**
 * `git switch -c <branch>` as `holder`: creating a leased branch is an update the
 * reference-transaction hook lets only the lease's holder make.
 */
export async function switchAs(cwd: string, holder: string, branch: string): Promise<void> {
  const res = await run('git', ['switch', '-q', '-c', branch], { cwd, env: as(holder) });
  expect(res.code, res.stderr).toBe(0);
}
