import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lease } from '../../src/records/schemas.js';
import { BranchIndexType, LeaseType, WorktreeType } from '../../src/records/schemas.js';
import { writeRecord } from '../../src/records/store.js';
import { writeBlob } from '../../src/refs/objects.js';
import { discoverRepo } from '../../src/refs/repo.js';
import { worktreeId } from '../../src/refs/worktree-id.js';
import { cli } from '../cli/helpers.js';
import { cleanup, GIT_ENV, makeRepo, sh } from '../fixtures/repo.js';

/**
 * Every read command's output (stdout, stderr, exit code) on a repository of 1,000 leases is
 * byte-identical to the golden captured from the build before the performance work of issue 12
 * (streamed listing, file-based discovery, code cache). Records and clock are fixed: the CLI runs under
 * libfaketime at FROZEN, host and holder come from the environment. Only the temporary repository path
 * (always the same length, from mkdtemp) and the worktree id derived from it are replaced by
 * placeholders. Checked with loose refs and objects, and again after `git gc` (packed refs, a pack).
 *
 * `UPDATE_GOLDEN=1 npx vitest run test/golden` rewrites the golden (only for an intended change of
 * output, said so in the commit).
 */

const GOLDEN = join(import.meta.dirname, 'read-1000.golden.json.gz');
const FROZEN = '2026-06-01 12:00:00';
const NOW = Date.parse('2026-06-01T12:00:00.000Z');
const HOST = 'golden-host';
const FAKETIME_LIB = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
].find((p) => existsSync(p));

const ENV = {
  FAKETIME: FROZEN,
  FAKETIME_DONT_FAKE_MONOTONIC: '1',
  LD_PRELOAD: FAKETIME_LIB,
  TZ: 'UTC',
  COORD_HOST: HOST,
  COORD_HOLDER: 'golden-me',
};

const iso = (msBeforeNow: number) => new Date(NOW - msBeforeNow).toISOString();

/** The i-th lease: a fixed mix of every state, stale reason, gate result, branch and worktree. */
function lease(i: number, top: string): Lease {
  const key = i % 97 === 5 ? `task.${i}-x` : `k${String(i).padStart(4, '0')}`;
  const kind = i % 10;
  const open = kind <= 6;
  const withBranch = i % 3 !== 0;
  const holderPid = kind === 5 ? 4_190_000 + i : kind === 6 ? 1 : i % 4 === 0 ? null : 4_180_000 + i;
  return {
    schema: 'coord.lease/v1',
    key,
    state: kind === 9 ? 'crashed' : open ? 'open' : 'closed',
    outcome: kind === 7 ? 'done' : kind === 8 ? 'released' : null,
    holder: {
      id: `agent-${i % 13}`,
      // holder-dead (5) and pid-reused (6) are judged on this host; the others live elsewhere.
      host: kind === 5 || kind === 6 ? HOST : `host-${i % 3}`,
      pid: kind === 5 || kind === 6 ? holderPid : i % 4 === 0 ? null : 4_180_000 + i,
      pidStart: kind === 6 ? 7 : holderPid === null ? null : 1,
      user: i % 2 ? 'alice' : null,
    },
    token: 1 + (i % 5),
    revision: 1 + (i % 17),
    branch: withBranch ? `coord/${key}` : null,
    baseRef: withBranch ? 'a'.repeat(40) : null,
    worktree:
      i === 1
        ? { id: worktreeId(top, HOST), path: top, host: HOST }
        : i % 4 === 1
          ? { id: `wt-${i}-0123abcd`, path: `/srv/golden/wt/${key}`, host: `host-${i % 3}` }
          : null,
    ttlSeconds: 900,
    acquiredAt: iso(3_600_000 + i * 1000),
    // kinds 0-3 and 5-6 renewed recently (live unless the holder is dead), 4 expired two hours ago.
    renewedAt: iso(kind === 4 ? 7_200_000 + i : (i % 600) * 1000),
    transitions: i % 3,
    closedAt: kind === 7 || kind === 8 ? iso(60_000 + i) : null,
    crashedAt: kind === 9 ? iso(120_000 + i) : null,
    crashReason: kind === 9 ? `holder pid ${4_000_000 + i} gone` : null,
    gate:
      kind === 7
        ? {
            result: i % 20 === 7 ? 'overridden' : 'passed',
            missing: i % 20 === 7 ? [`.planning/phases/${key}-*/${key}-PLAN-CHECK.md`] : [],
            reason: i % 20 === 7 ? 'hotfix, checked by hand' : null,
            by: `agent-${i % 13}`,
            at: iso(61_000 + i),
            commit: 'b'.repeat(40),
          }
        : null,
    note: i % 11 === 0 ? `note ${i}: ünïcødé — and a tab\there` : i === 13 ? 'line one\nline two' : null,
  };
}

/** Seeds 1,000 leases, their branch and worktree indexes (a few deliberately wrong) and 2 corrupt records. */
function seed(top: string): void {
  const repo = discoverRepo(top);
  const lines: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const l = lease(i, top);
    lines.push(`create refs/coord/leases/${l.key} ${writeRecord(repo, LeaseType, l)}`);
    if (l.branch && l.state === 'open' && i % 50 !== 2) {
      const idx = {
        schema: 'coord.branch/v1',
        branch: l.branch,
        key: l.key,
        holder: l.holder.id,
        token: l.token,
      };
      if (i % 50 === 12) idx.token += 1; // index-mismatch
      lines.push(
        `create refs/coord/branches/${l.branch} ${writeRecord(repo, BranchIndexType, idx as never)}`,
      );
    }
    if (l.worktree && l.state === 'open') {
      const w = {
        schema: 'coord.worktree/v1',
        id: l.worktree.id,
        path: l.worktree.path,
        host: l.worktree.host,
        branch: l.branch,
        key: l.key,
        holder: l.holder.id,
        token: l.token,
      };
      lines.push(
        `create refs/coord/worktrees/${l.worktree.id} ${writeRecord(repo, WorktreeType, w as never)}`,
      );
    }
  }
  lines.push(`create refs/coord/leases/zz-not-json ${writeBlob(repo, Buffer.from('{ not json\n'))}`);
  lines.push(
    `create refs/coord/leases/zz-wrong-schema ${writeBlob(repo, Buffer.from('{"schema":"coord.lease/v9"}\n'))}`,
  );
  lines.push(
    `create refs/coord/branches/coord/orphan ${writeRecord(repo, BranchIndexType, {
      schema: 'coord.branch/v1',
      branch: 'coord/orphan',
      key: 'no-such-lease',
      holder: 'agent-0',
      token: 1,
    })}`,
  );
  sh(top, 'config', 'gc.refs/coord/*.reflogExpireUnreachable', 'never');
  execFileSync('git', ['update-ref', '--stdin'], {
    cwd: top,
    input: `${lines.join('\n')}\n`,
    env: { ...process.env, ...GIT_ENV },
  });
}

/** The read commands compared, each run in the main worktree. */
const COMMANDS: string[][] = [
  ['list'],
  ['list', '--json'],
  ['list', '--state', 'stale'],
  ['list', '--state', 'live', '--json'],
  ['show', 'k0001'],
  ['show', 'k0007', '--json'],
  ['show', 'k0013'],
  ['status'],
  ['status', '--json'],
  ['report'],
  ['report', '--key', 'k0001', '--json'],
  ['doctor', '--json'],
  ['doctor'],
];

type Captured = Record<string, { code: number | null; stdout: string; stderr: string }>;

async function capture(top: string): Promise<Captured> {
  const wtid = worktreeId(top, HOST);
  const mask = (s: string) => s.split(top).join('<REPO>').split(wtid).join('<WTID>');
  const out: Captured = {};
  for (const args of COMMANDS) {
    const res = await cli(top, args, ENV);
    out[args.join(' ')] = { code: res.code, stdout: mask(res.stdout), stderr: mask(res.stderr) };
  }
  return out;
}

describe.skipIf(!FAKETIME_LIB)('read commands at 1,000 leases: byte-identical to the golden', () => {
  let top: string;
  let golden: Captured;
  beforeAll(() => {
    top = makeRepo();
    seed(top);
    golden = existsSync(GOLDEN)
      ? (JSON.parse(gunzipSync(readFileSync(GOLDEN)).toString('utf8')) as Captured)
      : {};
  });
  afterAll(cleanup);

  it('loose refs and objects', async () => {
    const got = await capture(top);
    if (process.env.UPDATE_GOLDEN === '1') {
      writeFileSync(GOLDEN, gzipSync(JSON.stringify(got, null, 1)));
      golden = got;
    } else for (const name of Object.keys(got)) expect(got[name], name).toEqual(golden[name]);
    expect(Object.keys(golden).length).toBe(COMMANDS.length);
  });

  it('after git gc (packed refs, one pack)', async () => {
    sh(top, 'gc', '-q');
    expect(existsSync(join(top, '.git', 'packed-refs'))).toBe(true);
    const got = await capture(top);
    for (const name of Object.keys(got)) expect(got[name], name).toEqual(golden[name]);
  });
});
