import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Lease } from '../../src/records/schemas.js';
import { cli } from '../cli/helpers.js';
import { cloneRemote, type Remote, type RemoteAccess } from '../fixtures/remotes.js';
import { type RunResult, run, sh } from '../fixtures/repo.js';

/** The coord config the server tests commit: protect main, a `done` gate needing a plan check. */
export const SERVER_CONFIG = {
  gates: {
    done: {
      when: '.planning/phases/{key}-*',
      require: ['.planning/phases/{key}-*/{key}-PLAN-CHECK.md'],
    },
  },
  protect: ['main'],
  leases: { ttl: '15m', skew: '0s' },
};

/** Runs real git with the access's environment (async: the servers answer meanwhile). */
export function gitAs(access: RemoteAccess, cwd: string, args: string[], env: Record<string, string> = {}) {
  const config = Object.entries(access.config).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  return run('git', [...config, ...args], { cwd, env: { ...access.env, ...env } });
}

/** Installs the server hook into `remote` with the built CLI; returns the `--json` report. */
export async function installServer(remote: Remote): Promise<unknown> {
  const res = await cli(remote.dir, ['hooks', 'install', '--server', '--json']);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout);
}

/** A clone of `remote` holding the committed config on `main`, pushed. */
export async function seededClone(access: RemoteAccess, config: object = SERVER_CONFIG): Promise<string> {
  const dir = cloneRemote(access);
  sh(dir, 'checkout', '-q', '-B', 'main');
  writeFileSync(join(dir, 'README.md'), '# project\n');
  mkdirSync(join(dir, '.coord'), { recursive: true });
  writeFileSync(join(dir, '.coord', 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  sh(dir, 'add', '.');
  sh(dir, 'commit', '-q', '-m', 'project with coord config');
  const pushed = await gitAs(access, dir, ['push', '-q', 'origin', 'main']);
  expect(pushed.code, pushed.stderr).toBe(0);
  sh(dir, 'config', 'coord.pushOptions', 'true');
  return dir;
}

/** Every ref of a (bare) repository with its value, for "the remote is unchanged". */
export function allRefs(dir: string): string {
  return sh(dir, 'for-each-ref', '--format=%(refname) %(objectname)');
}

/** Commits a file in `dir`; returns the new HEAD. */
export function commitFile(dir: string, path: string, text: string): string {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), text);
  sh(dir, 'add', path);
  sh(dir, 'commit', '-q', '-m', `add ${path}`);
  return sh(dir, 'rev-parse', 'HEAD');
}

/** `git coord claim --json` as `holder`, expecting success. */
export async function claimAs(
  dir: string,
  key: string,
  holder: string,
  extra: string[] = [],
): Promise<Lease> {
  const res = await cli(dir, ['claim', key, '--json', ...extra], { COORD_HOLDER: holder });
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as Lease;
}

/** Pushes every record of `dir` to origin (force: records are blobs, see DESIGN §7 trap 2). */
export function pushRecords(access: RemoteAccess, dir: string): Promise<RunResult> {
  return gitAs(access, dir, ['push', '--porcelain', 'origin', '+refs/coord/*:refs/coord/*']);
}

/** Writes `text` as a blob in the repository `dir`; returns its oid. */
export function blob(dir: string, text: string): string {
  const file = join(sh(dir, 'rev-parse', '--path-format=absolute', '--git-dir'), 'coord-test-blob');
  writeFileSync(file, text);
  return sh(dir, 'hash-object', '-w', file);
}
