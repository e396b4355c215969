import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { snapshotCli } from '../../demo/project.js';
import type { Lease } from '../../src/records/schemas.js';
import { collect, GIT_ENV, makeRepo, type RunResult, run, sh, tempDir } from '../fixtures/repo.js';

/** The built CLI (`npm test` builds it first). */
export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'git-coord.mjs');

let snapshot: string | null = null;
/**
 * A private copy of `dist/` taken on first use, so a concurrent `npm run build` (which empties dist/)
 * cannot break a test run halfway.
 */
export function cliPath(): string {
  snapshot ??= snapshotCli(CLI, tempDir('coord-cli-'));
  return snapshot;
}

/** Runs `node dist/git-coord.mjs …` (a snapshot of it) as a real process in `cwd`. */
export function cli(
  cwd: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<RunResult> {
  return run('node', [cliPath(), ...args], {
    cwd,
    env: { NO_COLOR: '1', COORD_HOLDER: undefined, COORD_PID: undefined, ...env },
  });
}

/** Runs the CLI and parses stdout as JSON, expecting exit `code`. */
export async function cliJson<T = unknown>(
  cwd: string,
  args: string[],
  code = 0,
  env: Record<string, string> = {},
): Promise<T> {
  const res = await cli(cwd, [...args, '--json'], env);
  if (res.code !== code)
    throw new Error(
      `git-coord ${args.join(' ')}: exit ${res.code}, expected ${code}\n${res.stdout}${res.stderr}`,
    );
  return JSON.parse(res.stdout) as T;
}

/** Expects exit `code` and returns the result. */
export async function expectExit(
  cwd: string,
  args: string[],
  code: number,
  env: Record<string, string> = {},
): Promise<RunResult> {
  const res = await cli(cwd, args, env);
  expect(res.code, `git-coord ${args.join(' ')}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`).toBe(code);
  return res;
}

/** A fresh repository with `.coord/config.json` (committed) holding `config`. */
export function makeCoordRepo(config: object = {}): string {
  const dir = makeRepo();
  mkdirSync(join(dir, '.coord'), { recursive: true });
  writeFileSync(join(dir, '.coord', 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  sh(dir, 'add', '.coord/config.json');
  sh(dir, 'commit', '-q', '-m', 'coord config');
  return dir;
}

/** `git show <ref>` parsed, or `null` when the ref does not exist. */
export function record<T = Lease>(dir: string, ref: string): T | null {
  try {
    return JSON.parse(sh(dir, 'show', ref)) as T;
  } catch {
    return null;
  }
}

/** Refs under `prefix` (`git for-each-ref`), as names. */
export function refs(dir: string, prefix: string): string[] {
  const out = sh(dir, 'for-each-ref', '--format=%(refname)', prefix);
  return out ? out.split('\n') : [];
}

/** Worktrees as git lists them (porcelain), as `{path, branch}`. */
export function worktrees(dir: string): Array<{ path: string; branch: string | null }> {
  return sh(dir, 'worktree', 'list', '--porcelain')
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const lines = block.split('\n');
      const path = lines.find((l) => l.startsWith('worktree '))!.slice(9);
      const branch = lines.find((l) => l.startsWith('branch '))?.slice(7) ?? null;
      return { path, branch };
    });
}

/**
 * Asserts that the lease `key`, its branch index entry and its worktree record agree (same key,
 * holder, token, branch, worktree id), and returns the lease.
 */
export function expectConsistent(dir: string, key: string): Lease {
  const lease = record(dir, `refs/coord/leases/${key}`);
  expect(lease, `lease ${key}`).not.toBeNull();
  const l = lease!;
  if (l.branch) {
    const b = record<{ key: string; holder: string; token: number; branch: string }>(
      dir,
      `refs/coord/branches/${l.branch}`,
    );
    expect(b).toMatchObject({ key, holder: l.holder.id, token: l.token, branch: l.branch });
  }
  if (l.worktree) {
    const w = record<{
      key: string;
      holder: string;
      token: number;
      id: string;
      path: string;
      branch: string | null;
    }>(dir, `refs/coord/worktrees/${l.worktree.id}`);
    expect(w).toMatchObject({
      key,
      holder: l.holder.id,
      token: l.token,
      id: l.worktree.id,
      path: l.worktree.path,
      branch: l.branch,
    });
  }
  return l;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs every job as a real CLI process held at a barrier, then releases them all together. */
export async function runTogether(
  jobs: Array<{ cwd: string; args: string[]; env?: Record<string, string | undefined> }>,
): Promise<RunResult[]> {
  const children = jobs.map((job) =>
    spawn('sh', ['-c', 'read _go; exec "$@"', 'sh', process.execPath, cliPath(), ...job.args], {
      cwd: job.cwd,
      env: {
        ...process.env,
        ...GIT_ENV,
        NO_COLOR: '1',
        COORD_HOLDER: undefined,
        COORD_PID: undefined,
        ...job.env,
      },
    }),
  );
  const done = children.map(collect);
  await Promise.all(children.map((c) => new Promise((r) => c.once('spawn', r))));
  for (const c of children) c.stdin.end('go\n');
  return Promise.all(done);
}
