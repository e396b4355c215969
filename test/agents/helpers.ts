import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { expect } from 'vitest';
import { snapshotCli } from '../../demo/project.js';
import type { Lease } from '../../src/records/schemas.js';
import { CLI, cli } from '../cli/helpers.js';
import { collect, GIT_ENV, type RunResult, sh, tempDir } from '../fixtures/repo.js';

/** A private copy of the built CLI (a concurrent build cannot break a long-running test). */
let snapshot: string | null = null;
export function cliPath(): string {
  snapshot ??= snapshotCli(CLI, tempDir('coord-cli-'));
  return snapshot;
}

/** A CLI process started in the background: the child (for signals) and its result. */
export interface Started {
  child: ChildProcessWithoutNullStreams;
  result: Promise<RunResult>;
}

/** Starts `node git-coord.mjs …` as a real process in `cwd` without waiting for it. */
export function start(cwd: string, args: string[], env: Record<string, string | undefined> = {}): Started {
  const child = spawn(process.execPath, [cliPath(), ...args], {
    cwd,
    env: { ...process.env, ...GIT_ENV, NO_COLOR: '1', COORD_HOLDER: undefined, COORD_PID: undefined, ...env },
  });
  const result = collect(child);
  child.stdin.end();
  return { child, result };
}

/** `git coord show <key> --json` (the lease plus `stale`). */
export async function showLease(dir: string, key: string): Promise<Lease & { stale: string | null }> {
  const res = await cli(dir, ['show', key, '--json']);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout);
}

/** Polls `check` every `everyMs` until it returns a value other than `undefined`, or times out. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Whether process `pid` (or, with a negative number, process group) still exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Subjects of the commits on `branch` that are not on main, oldest first. */
export function branchCommits(dir: string, branch: string): string[] {
  let out: string;
  try {
    out = sh(dir, 'log', '--reverse', '--format=%s', `main..${branch}`, '--');
  } catch {
    return []; // no such branch (yet)
  }
  return out ? out.split('\n') : [];
}

/** Kills a process group, ignoring one that is gone (test cleanup). */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {}
}
