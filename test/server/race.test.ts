import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotCli } from '../../demo/project.js';
import type { Lease } from '../../src/records/schemas.js';
import { CLI, cli } from '../cli/helpers.js';
import { cloneRemote, startTransport, TRANSPORTS, type TransportServer } from '../fixtures/remotes.js';
import { cleanup, collect, GIT_ENV, makeRepo, sh, tempDir } from '../fixtures/repo.js';
import {
  allRefs,
  blob,
  claimAs,
  commitFile,
  gitAs,
  installServer,
  pushRecords,
  seededClone,
} from './helpers.js';

/**
 * The server hook under contention (many real `git push` processes released together at a barrier:
 * count what survived) and killed with SIGKILL at its fault point.
 */

afterAll(cleanup);

const CONTENDERS = 6;

let snapshot: string | null = null;
/** A private copy of the built CLI (a concurrent build cannot break a run). */
const CLI_SNAPSHOT = () => {
  snapshot ??= snapshotCli(CLI, tempDir('coord-cli-'));
  return snapshot;
};

describe.each(TRANSPORTS)('racing pushes through the server hook over %s', (transport) => {
  let server: TransportServer;
  beforeAll(async () => {
    server = await startTransport(transport);
  });
  afterAll(() => server?.stop());

  it(`${CONTENDERS} takeovers of one lease pushed at once: exactly one lands, valid, the others are told`, async () => {
    const remote = server.remote({ pushOptions: false });
    await installServer(remote);
    const a = await seededClone(remote);
    await claimAs(a, '7', 'agent-0', ['--no-worktree']);
    expect((await pushRecords(remote, a)).code).toBe(0);
    const v1oid = sh(remote.dir, 'rev-parse', 'refs/coord/leases/7');
    const v1 = JSON.parse(sh(remote.dir, 'cat-file', 'blob', v1oid)) as Lease;
    const clones = Array.from({ length: CONTENDERS }, () => cloneRemote(remote));
    const oids = clones.map((c, i) =>
      blob(
        c,
        `${JSON.stringify(
          {
            ...v1,
            holder: { ...v1.holder, id: `agent-${i + 1}` },
            token: v1.token + 1,
            revision: v1.revision + 1,
            transitions: v1.transitions + 1,
          },
          null,
          2,
        )}\n`,
      ),
    );
    const config = Object.entries(remote.config).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
    const children = clones.map((c, i) =>
      spawn(
        'sh',
        [
          '-c',
          'read _go; exec "$@"',
          'sh',
          'git',
          ...config,
          'push',
          '--porcelain',
          `--force-with-lease=refs/coord/leases/7:${v1oid}`,
          'origin',
          `${oids[i]}:refs/coord/leases/7`,
        ],
        { cwd: c, env: { ...process.env, ...GIT_ENV, ...remote.env } },
      ),
    );
    const results = children.map(collect);
    await Promise.all(children.map((c) => new Promise((r) => c.once('spawn', r))));
    for (const c of children) c.stdin.end('go\n');
    const done = await Promise.all(results);
    const winners = done.map((r, i) => (r.code === 0 ? i : -1)).filter((i) => i >= 0);
    expect(winners, done.map((r) => r.stdout + r.stderr).join('\n')).toHaveLength(1);
    const w = winners[0]!;
    for (const [i, r] of done.entries())
      if (i !== w) expect(r.stdout).toMatch(/^!\t.*refs\/coord\/leases\/7/m);
    expect(sh(remote.dir, 'rev-parse', 'refs/coord/leases/7')).toBe(oids[w]);
    const final = JSON.parse(sh(remote.dir, 'cat-file', 'blob', 'refs/coord/leases/7')) as Lease;
    expect([final.holder.id, final.token]).toEqual([`agent-${w + 1}`, v1.token + 1]);
  });
});

describe('the server hook killed with SIGKILL (path: the pusher environment reaches the hook)', () => {
  let server: TransportServer;
  beforeAll(async () => {
    server = await startTransport('path');
  });
  afterAll(() => server?.stop());

  it('at receive-judged: the push is refused, nothing changes; the same push then lands', async () => {
    const remote = server.remote({ pushOptions: false });
    await installServer(remote);
    const a = await seededClone(remote);
    await claimAs(a, '8', 'agent-1', ['--no-worktree']);
    const before = allRefs(remote.dir);
    const killed = await gitAs(remote, a, ['push', 'origin', '+refs/coord/*:refs/coord/*'], {
      GIT_COORD_TEST_FAULT: 'receive-judged',
    });
    expect(killed.code).not.toBe(0);
    expect(killed.stderr).toMatch(/pre-receive hook declined/);
    expect(allRefs(remote.dir)).toBe(before);
    const ok = await pushRecords(remote, a);
    expect(ok.code, ok.stderr).toBe(0);
    expect(sh(remote.dir, 'cat-file', '-t', 'refs/coord/leases/8')).toBe('blob');
  });
});

describe('hooks install --server under races and SIGKILL', () => {
  let server: TransportServer;
  beforeAll(async () => {
    server = await startTransport('path');
  });
  afterAll(() => server?.stop());

  const FOREIGN = "#!/bin/sh\n# the team's own pre-receive\ncat > /dev/null\nexit 0\n";

  it('4 installs at once over a foreign hook: it is kept byte for byte, ours is in place once', async () => {
    const remote = server.remote({ pushOptions: false });
    const hook = join(remote.dir, 'hooks', 'pre-receive');
    writeFileSync(hook, FOREIGN, { mode: 0o755 });
    const node = process.execPath;
    const children = Array.from({ length: 4 }, () =>
      spawn('sh', ['-c', 'read _go; exec "$@"', 'sh', node, CLI_SNAPSHOT(), 'hooks', 'install', '--server'], {
        cwd: remote.dir,
        env: { ...process.env, ...GIT_ENV },
      }),
    );
    const results = children.map(collect);
    await Promise.all(children.map((c) => new Promise((r) => c.once('spawn', r))));
    for (const c of children) c.stdin.end('go\n');
    const done = await Promise.all(results);
    expect(
      done.map((r) => r.code),
      done.map((r) => r.stderr).join('\n'),
    ).toEqual([0, 0, 0, 0]);
    expect(readFileSync(`${hook}.coord-chained`, 'utf8')).toBe(FOREIGN);
    expect(readFileSync(hook, 'utf8')).toMatch(/git-coord-hook: server pre-receive/);
    expect(readdirSync(join(remote.dir, 'hooks')).filter((f) => f.includes('coord-tmp'))).toEqual([]);
    expect(sh(remote.dir, 'config', 'receive.advertisePushOptions')).toBe('true');
    const un = await cli(remote.dir, ['hooks', 'uninstall', '--server']);
    expect(un.code, un.stderr).toBe(0);
    expect(readFileSync(hook, 'utf8')).toBe(FOREIGN);
  });

  it('killed at server-hook-chained: the foreign hook stays in place; the next install finishes', async () => {
    const remote = server.remote({ pushOptions: false });
    const hook = join(remote.dir, 'hooks', 'pre-receive');
    writeFileSync(hook, FOREIGN, { mode: 0o755 });
    const killed = await cli(remote.dir, ['hooks', 'install', '--server'], {
      GIT_COORD_TEST_FAULT: 'server-hook-chained',
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(readFileSync(hook, 'utf8')).toBe(FOREIGN);
    const again = await cli(remote.dir, ['hooks', 'install', '--server', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { actions: Array<{ action: string }> }).actions[0]!.action).toBe(
      'chained',
    );
    expect(readFileSync(`${hook}.coord-chained`, 'utf8')).toBe(FOREIGN);
    expect(readFileSync(hook, 'utf8')).toMatch(/git-coord-hook: server pre-receive/);
  });
});

describe('claims writing push options at the same moment', () => {
  it('4 claims released together: each worktree gets its own token and holder, no warning', async () => {
    const dir = makeRepo();
    sh(dir, 'config', 'coord.pushOptions', 'true');
    const node = process.execPath;
    const children = [1, 2, 3, 4].map((i) =>
      spawn('sh', ['-c', 'read _go; exec "$@"', 'sh', node, CLI_SNAPSHOT(), 'claim', `k${i}`, '--json'], {
        cwd: dir,
        env: { ...process.env, ...GIT_ENV, NO_COLOR: '1', COORD_HOLDER: `agent-${i}` },
      }),
    );
    const results = children.map(collect);
    await Promise.all(children.map((c) => new Promise((r) => c.once('spawn', r))));
    for (const c of children) c.stdin.end('go\n');
    const done = await Promise.all(results);
    for (const [i, r] of done.entries()) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/push\.pushOption/);
      const l = JSON.parse(r.stdout) as Lease;
      expect(sh(l.worktree!.path, 'config', '--worktree', '--get-all', 'push.pushOption')).toBe(
        `coord-token=1\ncoord-holder=agent-${i + 1}`,
      );
    }
    expect(sh(dir, 'config', 'extensions.worktreeConfig')).toBe('true');
  });
});

describe('claim killed with SIGKILL between removing and writing the push options', () => {
  let server: TransportServer;
  beforeAll(async () => {
    server = await startTransport('path');
  });
  afterAll(() => server?.stop());

  it('leaves no coord option (pushes refused, never let through); claiming again writes them', async () => {
    const remote = server.remote({ pushOptions: false });
    await installServer(remote);
    const a = await seededClone(remote);
    const env = { COORD_HOLDER: 'agent-1', GIT_COORD_TEST_FAULT: 'push-options-unset' };
    const killed = await cli(a, ['claim', '6'], env);
    expect(killed.signal).toBe('SIGKILL');
    const wt = JSON.parse(sh(a, 'cat-file', 'blob', 'refs/coord/leases/6')).worktree.path as string;
    const opts = await gitAs(remote, wt, ['config', '--get-all', 'push.pushOption']);
    expect(opts.stdout).toBe('');
    expect((await pushRecords(remote, a)).code).toBe(0);
    commitFile(wt, 'src/w.txt', 'w\n');
    const refused = await gitAs(remote, wt, ['push', 'origin', 'coord/6']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/carries no coord-token/);
    const again = await cli(a, ['claim', '6'], { COORD_HOLDER: 'agent-1' });
    expect(again.code, again.stderr).toBe(0);
    expect(sh(wt, 'config', '--get-all', 'push.pushOption')).toBe('coord-token=1\ncoord-holder=agent-1');
    const ok = await gitAs(remote, wt, ['push', 'origin', 'coord/6']);
    expect(ok.code, ok.stderr).toBe(0);
  });
});
