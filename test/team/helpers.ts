import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Lease } from '../../src/records/schemas.js';
import { cli } from '../cli/helpers.js';
import { cloneRemote, type Remote, remoteGit } from '../fixtures/remotes.js';
import { type RunResult, sh } from '../fixtures/repo.js';

/** A team: a remote and clones of it, each one `git coord init --remote origin`ed. */
export interface Team {
  remote: Remote;
  clones: string[];
}

/**
 * A fresh remote with one commit holding `.coord/config.json` (`config`), and `n` clones of it that
 * joined team mode. `skew` 0 by default so TTL tests can be short.
 */
export async function makeTeam(
  remote: Remote,
  n: number,
  config: object = { leases: { skew: '0s' } },
): Promise<Team> {
  const seed = cloneRemote(remote);
  mkdirSync(join(seed, '.coord'), { recursive: true });
  writeFileSync(join(seed, '.coord', 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  sh(seed, 'add', '.coord/config.json');
  sh(seed, 'commit', '-q', '-m', 'coord config');
  const pushed = remoteGit(remote, seed, ['push', '-q', 'origin', 'HEAD:main']);
  expect(pushed.code, pushed.stderr).toBe(0);
  const clones = [seed, ...Array.from({ length: n - 1 }, () => cloneRemote(remote))];
  await Promise.all(
    clones.map(async (c, i) => {
      const res = await cli(c, ['init', '--remote', 'origin'], { COORD_HOLDER: `joiner-${i}` });
      expect(res.code, res.stderr).toBe(0);
    }),
  );
  return { remote, clones };
}

/** Environment of one team member: holder and host. */
export const member = (holder: string, host = `host-${holder}`) => ({
  COORD_HOLDER: holder,
  COORD_HOST: host,
});

/** `git ls-remote` of the remote's refs under `prefix`, as a map ref → oid. */
export function remoteRefs(team: Team, prefix = 'refs/coord/'): Map<string, string> {
  const res = remoteGit(team.remote, team.clones[0]!, ['ls-remote', 'origin', `${prefix}*`]);
  expect(res.code, res.stderr).toBe(0);
  return new Map(
    res.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [oid, ref] = l.split('\t') as [string, string];
        return [ref, oid];
      }),
  );
}

/** The lease `key` as the remote holds it (read from its bare repository), or null. */
export function remoteLease(team: Team, key: string): Lease | null {
  try {
    return JSON.parse(sh(team.remote.dir, 'show', `refs/coord/leases/${key}`)) as Lease;
  } catch {
    return null;
  }
}

/** The clone's mirror refs under `prefix` (`refs/coord/leases/` etc.) as a map ref → oid. */
export function mirrorRefs(clone: string, prefix: string): Map<string, string> {
  const out = sh(clone, 'for-each-ref', '--format=%(refname) %(objectname)', prefix);
  return new Map(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ') as [string, string]),
  );
}

/** Every result, for assertion messages. */
export const show = (rs: RunResult[]) =>
  rs.map((r, i) => `#${i} exit ${r.code} ${r.signal ?? ''} ${r.stderr}`).join('\n');
