import { execFileSync, spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lease } from '../../src/records/schemas.js';
import { waitFor } from '../agents/helpers.js';
import { cli, cliJson, cliPath, runTogether, sleep } from '../cli/helpers.js';
import { shiftedClock } from '../fixtures/clock.js';
import {
  remoteGit,
  startTransport,
  TRANSPORTS,
  type TransportName,
  type TransportServer,
} from '../fixtures/remotes.js';
import { cleanup, GIT_ENV, sh, tempDir } from '../fixtures/repo.js';
import { makeTeam, member, mirrorRefs, remoteLease, remoteRefs, show } from './helpers.js';

/**
 * Team mode (issue 8, DESIGN §7) over real remotes: a bare repository by path, a real sshd on
 * 127.0.0.1 and git's own http-backend behind a local HTTP server; every clone a real `git clone`,
 * every command a real CLI process.
 */

afterAll(cleanup);

const only = process.env.COORD_TEAM_TRANSPORTS?.split(',') as TransportName[] | undefined;

// Every push and fetch over ssh is a new connection: minutes, not seconds, on a loaded 2-core machine.
describe.each(only ?? TRANSPORTS)('team mode over %s', { timeout: 600_000 }, (transport) => {
  let server: TransportServer;
  beforeAll(async () => {
    server = await startTransport(transport);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('8 clones race claim K, 10 trials: exactly one wins, seven exit 3 naming it, every list names it after sync', async () => {
    const team = await makeTeam(server.remote(), 8);
    for (let trial = 1; trial <= 10; trial++) {
      const key = `k${trial}`;
      const rs = await runTogether(
        team.clones.map((cwd, i) => ({
          cwd,
          args: ['claim', key, '--no-worktree'],
          env: member(`agent-${i}`),
        })),
      );
      const winners = rs.flatMap((r, i) => (r.code === 0 ? [i] : []));
      expect(winners, show(rs)).toHaveLength(1);
      const winner = `agent-${winners[0]}`;
      for (const r of rs.filter((x) => x.code !== 0)) {
        expect(r.code, show(rs)).toBe(3);
        expect(r.stderr).toContain(`held by ${winner}`);
      }
      expect(remoteLease(team, key)).toMatchObject({ holder: { id: winner }, token: 1, state: 'open' });
      if (trial === 1 || trial === 10) {
        for (const clone of team.clones) {
          expect((await cli(clone, ['sync'])).code).toBe(0);
          const listed = await cliJson<{ leases: Lease[] }>(clone, ['list']);
          expect(listed.leases.find((l) => l.key === key)?.holder.id).toBe(winner);
        }
      }
    }
  });

  it('the same holder renewing from 4 clones at once, 25 each: the remote revision rises by exactly 100', async () => {
    const team = await makeTeam(server.remote(), 4);
    const me = member('agent-same', 'host-same');
    await cliJson(team.clones[0]!, ['claim', 'r', '--no-worktree'], 0, me);
    const before = remoteLease(team, 'r')!;
    const results = await Promise.all(
      team.clones.map(async (cwd) => {
        const codes: number[] = [];
        for (let i = 0; i < 25; i++) {
          const res = await cli(cwd, ['renew', 'r'], me);
          if (res.code !== 0) expect(res.stderr).toMatch(/git-coord: .+/);
          codes.push(res.code ?? -1);
        }
        return codes;
      }),
    );
    const ok = results.flat().filter((c) => c === 0).length;
    expect(ok).toBe(100);
    expect(remoteLease(team, 'r')!.revision).toBe(before.revision + 100);
  });

  it('a takeover is never rolled back: the stale holder cannot renew, release, done or clear, and nothing resurrects it', async () => {
    const team = await makeTeam(server.remote(), 3);
    const [c1, c2, c3] = team.clones as [string, string, string];
    await cliJson(c1, ['claim', 'k', '--no-worktree', '--ttl', '1s'], 0, member('clone-1'));
    expect((await cli(c2, ['sync'])).code).toBe(0); // clone 2 observes the record…
    await sleep(1500); // …and sees it unchanged for ttl + skew on its own clock
    const taken = await cliJson<Lease>(c2, ['takeover', 'k', '--ttl', '10m'], 0, member('clone-2'));
    expect(taken).toMatchObject({ token: 2, holder: { id: 'clone-2' } });
    const after = remoteRefs(team).get('refs/coord/leases/k');

    // clone 1 never synced: its mirror still says it holds token 1.
    expect((JSON.parse(sh(c1, 'show', 'refs/coord/leases/k')) as Lease).token).toBe(1);
    for (const args of [
      ['renew', 'k'],
      ['release', 'k'],
      ['done', 'k'],
      ['clear', 'k'],
    ]) {
      const res = await cli(c1, args, member('clone-1'));
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(3);
      expect(remoteRefs(team).get('refs/coord/leases/k')).toBe(after);
    }
    // Every git-coord command in every clone leaves token 2 in place.
    for (const c of [c1, c2, c3]) expect((await cli(c, ['sync'])).code).toBe(0);
    for (const c of [c1, c2, c3]) {
      const shown = await cliJson<Lease>(c, ['show', 'k']);
      expect(shown).toMatchObject({ token: 2, holder: { id: 'clone-2' } });
    }
    // The released lease is a tombstone; no stale clone brings the open record back.
    await cliJson(c2, ['release', 'k'], 0, member('clone-2'));
    const released = remoteRefs(team).get('refs/coord/leases/k');
    for (const args of [
      ['renew', 'k'],
      ['release', 'k'],
      ['done', 'k'],
    ]) {
      expect((await cli(c3, args, member('clone-2'))).code).toBe(3);
      expect((await cli(c1, args, member('clone-1'))).code).toBe(3);
    }
    expect(remoteRefs(team).get('refs/coord/leases/k')).toBe(released);
    expect(remoteLease(team, 'k')).toMatchObject({ state: 'closed', outcome: 'released', token: 2 });
    // clear leaves a tombstone that keeps the token: the next claim gets 3.
    await cliJson(c3, ['clear', 'k'], 0, member('clone-3'));
    expect(remoteLease(team, 'k')).toMatchObject({ state: 'closed', outcome: 'cleared', token: 2 });
    const again = await cliJson<Lease>(c1, ['claim', 'k', '--no-worktree'], 0, member('clone-1'));
    expect(again.token).toBe(3);
  });

  it('expiry by observed time: a clone 1 h ahead cannot take over early, a clone 1 h behind cannot keep it alive', async () => {
    const team = await makeTeam(server.remote(), 3);
    const [holder, ahead, behind] = team.clones as [string, string, string];
    await cliJson(holder, ['claim', 'k', '--no-worktree', '--ttl', '3s'], 0, member('holder'));
    const early = await cli(ahead, ['takeover', 'k'], { ...member('ahead'), ...shiftedClock('+1h') });
    expect(early.code, early.stderr).toBe(3);
    expect(early.stderr).toContain('is live');
    expect(remoteLease(team, 'k')!.holder.id).toBe('holder');
    // The clone behind observes the lease now; after ttl on its own clock it is expired for it.
    expect((await cli(behind, ['sync'], shiftedClock('-1h'))).code).toBe(0);
    await sleep(3500);
    const late = await cliJson<Lease>(behind, ['takeover', 'k'], 0, {
      ...member('behind'),
      ...shiftedClock('-1h'),
    });
    expect(late).toMatchObject({ token: 2, holder: { id: 'behind' } });
  });

  it.each(['remote-before-push', 'remote-pushed'])(
    'a write killed with SIGKILL at %s: after sync the mirror equals the remote and the command can be retried',
    async (fault) => {
      const team = await makeTeam(server.remote(), 2);
      const [c1] = team.clones as [string];
      const me = member('agent-k');
      await cliJson(c1, ['claim', 'k', '--no-worktree'], 0, me);
      const killed = await cli(c1, ['renew', 'k'], { ...me, GIT_COORD_TEST_FAULT: fault });
      expect(killed.signal).toBe('SIGKILL');
      expect((await cli(c1, ['sync'])).code).toBe(0);
      for (const ns of ['leases/', 'branches/', 'worktrees/'])
        expect(mirrorRefs(c1, `refs/coord/${ns}`)).toEqual(remoteRefs(team, `refs/coord/${ns}`));
      const before = remoteLease(team, 'k')!.revision;
      const retried = await cliJson<Lease>(c1, ['renew', 'k'], 0, me);
      expect(retried.revision).toBe(before + 1);
      expect(remoteLease(team, 'k')!.revision).toBe(before + 1);
    },
  );

  it('a write whose process group is SIGKILLed while its push is in flight: after sync the mirror equals the remote and the command can be retried', async () => {
    const team = await makeTeam(server.remote(), 2);
    const [c1] = team.clones as [string];
    const me = member('agent-k');
    await cliJson(c1, ['claim', 'k', '--no-worktree'], 0, me);
    // The remote holds the push in pre-receive; its reference-transaction hook says when (and whether)
    // the update landed. Over the path transport receive-pack is in the killed process group and dies;
    // over ssh and http the server side outlives the client and may still apply the update.
    const marks = tempDir('coord-push-kill-');
    const hooks = join(team.remote.dir, 'hooks');
    writeFileSync(
      join(hooks, 'pre-receive'),
      `#!/bin/sh\ncat >/dev/null\n: > '${marks}/started'\nsleep 2\n: > '${marks}/finished'\n`,
      { mode: 0o755 },
    );
    writeFileSync(
      join(hooks, 'reference-transaction'),
      `#!/bin/sh\ncat >/dev/null\n[ "$1" = committed ] && : > '${marks}/committed'\nexit 0\n`,
      { mode: 0o755 },
    );
    const before = remoteLease(team, 'k')!.revision;
    const child = spawn('node', [cliPath(), 'renew', 'k'], {
      cwd: c1,
      env: { ...process.env, ...GIT_ENV, NO_COLOR: '1', ...me },
      detached: true,
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
    await waitFor('the push to reach pre-receive', () =>
      existsSync(join(marks, 'started')) ? true : undefined,
    );
    process.kill(-child.pid!, 'SIGKILL');
    expect(await exited).toBe('SIGKILL');
    rmSync(join(hooks, 'pre-receive'));
    // Wait out the server side: either pre-receive finishes (then the update commits) or it was killed.
    await sleep(2500);
    if (existsSync(join(marks, 'finished')))
      await waitFor(
        'the update to commit',
        () => (existsSync(join(marks, 'committed')) ? true : undefined),
        10_000,
      );
    const landed = remoteLease(team, 'k')!.revision;
    expect([before, before + 1]).toContain(landed);
    if (transport === 'path') expect(landed).toBe(before);
    expect((await cli(c1, ['sync'])).code).toBe(0);
    for (const ns of ['leases/', 'branches/', 'worktrees/'])
      expect(mirrorRefs(c1, `refs/coord/${ns}`)).toEqual(remoteRefs(team, `refs/coord/${ns}`));
    const retried = await cliJson<Lease>(c1, ['renew', 'k'], 0, me);
    expect(retried.revision).toBe(landed + 1);
    expect(remoteLease(team, 'k')!.revision).toBe(landed + 1);
  });

  it('hostile records pushed with plain git are quarantined on fetch in every clone; nothing else is affected', async () => {
    const team = await makeTeam(server.remote(), 2);
    const [c1, c2] = team.clones as [string, string];
    await cliJson(c1, ['claim', 'good', '--no-worktree'], 0, member('agent-good'));
    const good = JSON.parse(sh(c1, 'show', 'refs/coord/leases/good')) as Lease;
    const hostile: Record<string, string> = {
      'not-json': writeBlob(c1, 'not json\n'),
      escapes: writeBlob(
        c1,
        `${JSON.stringify({ ...good, key: 'escapes', holder: { ...good.holder, id: 'evil\u001b[31m' } }, null, 2)}\n`,
      ),
      dotdot: writeBlob(
        c1,
        `${JSON.stringify({ ...good, key: 'dotdot', worktree: { id: 'x-12345678', path: '/tmp/../etc', host: 'h' } }, null, 2)}\n`,
      ),
      huge: writeBlob(
        c1,
        `${JSON.stringify({ ...good, key: 'huge', note: 'x'.repeat(10 * 1024 * 1024) })}\n`,
      ),
      commit: sh(c1, 'rev-parse', 'HEAD'),
    };
    for (const [key, oid] of Object.entries(hostile)) {
      const res = remoteGit(team.remote, c1, [
        'push',
        '-q',
        '--force',
        'origin',
        `${oid}:refs/coord/leases/${key}`,
      ]);
      expect(res.code, res.stderr).toBe(0);
    }
    for (const c of [c1, c2]) {
      const out = await cliJson<{ invalid: Array<{ ref: string; quarantine: string }> }>(c, ['sync']);
      expect(out.invalid.map((q) => q.ref).sort()).toEqual(
        Object.keys(hostile)
          .map((k) => `refs/coord/leases/${k}`)
          .sort(),
      );
      for (const key of Object.keys(hostile)) {
        expect(mirrorRefs(c, `refs/coord/leases/${key}`).size).toBe(0);
        expect(mirrorRefs(c, `refs/coord/quarantine/remote/origin/leases/${key}/`).size).toBe(1);
      }
      const listed = await cliJson<{ leases: Lease[] }>(c, ['list']);
      expect(listed.leases.map((l) => l.key)).toEqual(['good']);
      // Nothing acts on them: a claim of a key whose remote record is hostile is refused.
      const refused = await cli(c, ['claim', 'not-json', '--no-worktree'], member('agent-x'));
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain('invalid');
      expect(refused.stderr).not.toContain('\u001b');
    }
    // The good lease still works from the other clone.
    expect((await cli(c2, ['renew', 'good'], member('agent-good'))).code).toBe(0);
  });

  it('the remote unreachable: reads work from the mirror, writes fail with a clear error and change nothing', async () => {
    const team = await makeTeam(server.remote(), 1);
    const [c1] = team.clones as [string];
    await cliJson(c1, ['claim', 'k', '--no-worktree'], 0, member('agent-k'));
    const url = sh(c1, 'remote', 'get-url', 'origin');
    sh(
      c1,
      'remote',
      'set-url',
      'origin',
      transport === 'path' ? '/nonexistent/remote.git' : url.replace(/:\d+\//, ':1/'),
    );
    expect((await cli(c1, ['list'])).code).toBe(0);
    expect((await cliJson<Lease>(c1, ['show', 'k'])).holder.id).toBe('agent-k');
    expect((await cli(c1, ['status'])).code).toBe(0);
    const res = await cli(c1, ['renew', 'k'], member('agent-k'));
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('cannot reach remote origin');
    expect(res.stderr).not.toContain('    at ');
    const sync = await cli(c1, ['sync']);
    expect(sync.code).toBe(1);
    sh(c1, 'remote', 'set-url', 'origin', url);
    expect((await cli(c1, ['renew', 'k'], member('agent-k'))).code).toBe(0);
  });
});

/** Writes `text` as a blob with real `git hash-object -w`; returns its oid. */
function writeBlob(cwd: string, text: string): string {
  return execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd, input: text, encoding: 'utf8' }).trim();
}
