import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OUTPUT_SCHEMAS } from '../../src/cli/schemas.js';
import type { Lease } from '../../src/records/schemas.js';
import { cli, sleep } from '../cli/helpers.js';
import {
  cloneRemote,
  type Remote,
  startTransport,
  TRANSPORTS,
  type TransportServer,
} from '../fixtures/remotes.js';
import { cleanup, sh } from '../fixtures/repo.js';
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
 * The server side of issue 10 over a path, a real sshd and git http-backend: a bare remote with
 * `git coord hooks install --server`, plain git clients, real pushes.
 */

afterAll(cleanup);

const lease = (dir: string, ref: string) => JSON.parse(sh(dir, 'cat-file', 'blob', ref)) as Lease;

describe.each(TRANSPORTS)('server hook over %s', (transport) => {
  let server: TransportServer;
  beforeAll(async () => {
    server = await startTransport(transport);
  });
  afterAll(() => server?.stop());

  it('install / status / uninstall --server in a bare repository', async () => {
    const remote = server.remote({ pushOptions: false });
    const report = OUTPUT_SCHEMAS['hooks-server']!.parse(await installServer(remote)) as {
      actions: Array<{ action: string }>;
    };
    expect(report.actions.map((a) => a.action)).toEqual(['installed', 'configured']);
    expect(sh(remote.dir, 'config', 'receive.advertisePushOptions')).toBe('true');
    const st = await cli(remote.dir, ['hooks', 'status', '--server', '--json']);
    const status = OUTPUT_SCHEMAS['hooks-server-status']!.parse(JSON.parse(st.stdout)) as {
      hook: { state: string };
      advertisePushOptions: boolean;
    };
    expect(status.hook.state).toBe('installed');
    expect(status.advertisePushOptions).toBe(true);
    const again = (await installServer(remote)) as { actions: Array<{ action: string }> };
    expect(again.actions.map((a) => a.action)).toEqual(['unchanged', 'unchanged']);
    const un = await cli(remote.dir, ['hooks', 'uninstall', '--server', '--json']);
    expect(
      (JSON.parse(un.stdout) as { actions: Array<{ action: string }> }).actions.map((a) => a.action),
    ).toEqual(['removed', 'unconfigured']);
    expect(sh(remote.dir, 'config', '--get', '--default', 'unset', 'receive.advertisePushOptions')).toBe(
      'unset',
    );
    // not in a repository with a worktree
    const clone = cloneRemote(remote);
    const refused = await cli(clone, ['hooks', 'install', '--server']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/bare repository/);
  });

  describe('a leased branch after a takeover', () => {
    let remote: Remote;
    let a: string;
    let b: string;
    let wtA: string;

    beforeAll(async () => {
      remote = server.remote({ pushOptions: false });
      await installServer(remote);
      a = await seededClone(remote);
    });

    it("the holder's plain `git push` from its worktree is accepted (push.pushOption)", async () => {
      const l = await claimAs(a, '7', 'agent-1', ['--ttl', '2s']);
      wtA = l.worktree!.path;
      expect(sh(wtA, 'config', '--worktree', '--get-all', 'push.pushOption')).toBe(
        'coord-token=1\ncoord-holder=agent-1',
      );
      const mainOpts = await gitAs(remote, a, ['config', '--get-all', 'push.pushOption']);
      expect(mainOpts.stdout).toBe(''); // the main worktree is untouched
      expect((await pushRecords(remote, a)).code).toBe(0);
      const head = commitFile(wtA, 'src/a.txt', 'a\n');
      const push = await gitAs(remote, wtA, ['push', 'origin', 'coord/7']);
      expect(push.code, push.stderr).toBe(0);
      expect(sh(remote.dir, 'rev-parse', 'refs/heads/coord/7')).toBe(head);
    });

    it('a push of the leased branch without the token is refused, naming the holder', async () => {
      const other = cloneRemote(remote);
      sh(other, 'fetch', '-q', 'origin', 'coord/7');
      sh(other, 'checkout', '-q', '-b', 'coord/7', 'FETCH_HEAD');
      commitFile(other, 'src/other.txt', 'x\n');
      const before = allRefs(remote.dir);
      const push = await gitAs(remote, other, ['push', 'origin', 'coord/7']);
      expect(push.code).not.toBe(0);
      expect(push.stderr).toMatch(/remote rejected/);
      expect(push.stderr).toMatch(/leased as 7 to agent-1/);
      expect(push.stderr).toMatch(/carries no coord-token/);
      expect(allRefs(remote.dir)).toBe(before);
    });

    it('deleting the branch index or forging a second lease for the branch does not free it', async () => {
      const other = cloneRemote(remote);
      sh(other, 'fetch', '-q', 'origin', '+refs/coord/*:refs/coord/*', 'coord/7:coord/7');
      sh(other, 'checkout', '-q', 'coord/7');
      commitFile(other, 'src/sneaky.txt', 'x\n');
      const before = allRefs(remote.dir);
      const unindexed = await gitAs(remote, other, [
        'push',
        'origin',
        ':refs/coord/branches/coord/7',
        'coord/7',
      ]);
      expect(unindexed.code).not.toBe(0);
      expect(unindexed.stderr).toMatch(/refs\/heads\/coord\/7: updating it needs the lease's current token/);
      const l7 = lease(other, 'refs/coord/leases/7');
      const forged = { ...l7, key: '77', token: 1, revision: 1, holder: { ...l7.holder, id: 'mallory' } };
      const second = await gitAs(remote, other, [
        'push',
        '-o',
        'coord-token=1',
        '-o',
        'coord-holder=mallory',
        'origin',
        `${blob(other, `${JSON.stringify(forged, null, 2)}\n`)}:refs/coord/leases/77`,
        'coord/7',
      ]);
      expect(second.code).not.toBe(0);
      expect(second.stderr).toMatch(
        /refs\/coord\/leases\/77: branch coord\/7 is already held by lease 7 of agent-1/,
      );
      expect(allRefs(remote.dir)).toBe(before);
    });

    it("after a takeover the stale holder's push is refused (also with --no-verify), the new holder's accepted", async () => {
      b = cloneRemote(remote);
      sh(b, 'fetch', '-q', 'origin', '+refs/coord/*:refs/coord/*', 'coord/7:coord/7');
      sh(b, 'config', 'coord.pushOptions', 'true');
      await sleep(2200); // agent-1's 2 s lease expires (skew 0)
      const t = await cli(b, ['takeover', '7', '--reason', 'agent-1 went quiet', '--json'], {
        COORD_HOLDER: 'agent-2',
      });
      expect(t.code, t.stderr).toBe(0);
      expect((JSON.parse(t.stdout) as Lease).token).toBe(2);
      // the lease names agent-1's worktree, which belongs to another clone: left alone
      expect(sh(wtA, 'config', '--worktree', '--get-all', 'push.pushOption')).toBe(
        'coord-token=1\ncoord-holder=agent-1',
      );
      const rec = await pushRecords(remote, b);
      expect(rec.code, rec.stdout + rec.stderr).toBe(0);
      expect(lease(remote.dir, 'refs/coord/leases/7').holder.id).toBe('agent-2');

      commitFile(wtA, 'src/late.txt', 'late\n');
      const before = allRefs(remote.dir);
      for (const extra of [[], ['--no-verify']]) {
        const stale = await gitAs(remote, wtA, ['push', ...extra, 'origin', 'coord/7']);
        expect(stale.code).not.toBe(0);
        expect(stale.stderr).toMatch(/\[remote rejected\] coord\/7 -> coord\/7/);
        expect(stale.stderr).toMatch(/leased as 7 to agent-2 on \S+ \(token 2/);
        expect(stale.stderr).toMatch(/coord-token=1 coord-holder=agent-1/);
        expect(allRefs(remote.dir)).toBe(before);
      }

      sh(b, 'checkout', '-q', 'coord/7');
      const head = commitFile(b, 'src/b.txt', 'b\n');
      const ok = await gitAs(remote, b, [
        'push',
        '-o',
        'coord-token=2',
        '-o',
        'coord-holder=agent-2',
        'origin',
        'coord/7',
      ]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(sh(remote.dir, 'rev-parse', 'refs/heads/coord/7')).toBe(head);
    });

    it('protect: main refuses the ungated leased branch, then takes it once the gate passes', async () => {
      sh(b, 'checkout', '-q', 'coord/7');
      commitFile(b, '.planning/phases/7-login/notes.md', 'notes\n');
      const opts = ['-o', 'coord-token=2', '-o', 'coord-holder=agent-2'];
      expect((await gitAs(remote, b, ['push', ...opts, 'origin', 'coord/7'])).code).toBe(0);
      const before = allRefs(remote.dir);
      const refused = await gitAs(remote, b, ['push', 'origin', 'coord/7:main']);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/\[remote rejected\] coord\/7 -> main/);
      expect(refused.stderr).toMatch(
        /protected branch main: this push brings \d+ commit\(s\) of branch coord\/7/,
      );
      expect(refused.stderr).toMatch(/7-PLAN-CHECK\.md/);
      expect(allRefs(remote.dir)).toBe(before);

      const gated = commitFile(b, '.planning/phases/7-login/7-PLAN-CHECK.md', 'checked\n');
      expect((await gitAs(remote, b, ['push', ...opts, 'origin', 'coord/7'])).code).toBe(0);
      const ok = await gitAs(remote, b, ['push', 'origin', 'coord/7:main']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(sh(remote.dir, 'rev-parse', 'main')).toBe(gated);
    });
  });

  describe('hostile records pushed with plain git', () => {
    let remote: Remote;
    let c: string;
    let good: Lease;

    beforeAll(async () => {
      remote = server.remote({ pushOptions: false });
      await installServer(remote);
      c = await seededClone(remote);
      good = await claimAs(c, '9', 'agent-1', ['--no-worktree']);
      expect((await pushRecords(remote, c)).code).toBe(0);
    });

    const record = (l: Lease) => `${JSON.stringify(l, null, 2)}\n`;
    const cases: Array<[string, () => Lease | string, string, RegExp]> = [
      ['not JSON', () => 'hello\n', 'refs/coord/leases/10', /not JSON/],
      [
        'wrong schema',
        () => '{"schema": "coord.lease/v9"}\n',
        'refs/coord/leases/10',
        /unknown schema version/,
      ],
      [
        'terminal escapes',
        () => ({ ...good, key: '10', holder: { ...good.holder, id: 'evil\u001b[31m' } }),
        'refs/coord/leases/10',
        /control or bidi/,
      ],
      [
        'bidi override',
        () => ({ ...good, key: '10', note: 'a\u202eb' }),
        'refs/coord/leases/10',
        /control or bidi/,
      ],
      ['key is not the ref name', () => ({ ...good }), 'refs/coord/leases/10', /key "9" is not the ref's/],
      [
        'older revision',
        () => ({ ...good, note: 'replayed' }),
        'refs/coord/leases/9',
        /revision 1 does not follow revision 1/,
      ],
      [
        'token going back',
        () => ({ ...good, revision: 5, token: 0 }),
        'refs/coord/leases/9',
        /token|positive|too small/,
      ],
      [
        'holder change without a new token',
        () => ({ ...good, revision: 5, holder: { ...good.holder, id: 'mallory' } }),
        'refs/coord/leases/9',
        /changes the holder from agent-1 to mallory without a new token/,
      ],
      ['a quarantine ref', () => ({ ...good }), 'refs/coord/quarantine/leases/9/1', /never pushed/],
      ['an unknown namespace', () => ({ ...good }), 'refs/coord/other/9', /not a git-coord namespace/],
    ];

    it('each one → refused with its reason, the remote unchanged (pushed at once)', async () => {
      const before = allRefs(remote.dir);
      const pushes = await Promise.all(
        cases.map(([, make, ref]) => {
          const value = make();
          const oid = blob(c, typeof value === 'string' ? value : record(value));
          return gitAs(remote, c, ['push', 'origin', `+${oid}:${ref}`]);
        }),
      );
      for (const [i, [name, , ref, reason]] of cases.entries()) {
        const push = pushes[i]!;
        expect(push.code, name).not.toBe(0);
        expect(push.stderr, name).toMatch(/remote rejected/);
        expect(push.stderr, name).toContain(ref);
        expect(push.stderr, name).toMatch(reason);
        expect(push.stderr, name).not.toMatch(/\u001b\[31m/); // shown escaped, never raw
      }
      expect(allRefs(remote.dir)).toBe(before);
    });

    it('deletion of an open lease → refused; a bad record makes the whole push fail', async () => {
      const before = allRefs(remote.dir);
      const del = await gitAs(remote, c, ['push', 'origin', ':refs/coord/leases/9']);
      expect(del.code).not.toBe(0);
      expect(del.stderr).toMatch(/deletes the open lease 9 held by agent-1/);
      const mixed = await gitAs(remote, c, [
        'push',
        'origin',
        `${blob(c, 'junk')}:refs/coord/leases/11`,
        'main:refs/heads/innocent',
      ]);
      expect(mixed.code).not.toBe(0);
      expect(mixed.stderr).toMatch(/innocent \(pre-receive hook declined\)/);
      expect(allRefs(remote.dir)).toBe(before);
    });

    it('resurrection of a tombstone → refused; a real re-claim (new token) is accepted', async () => {
      const rel = await cli(c, ['release', '9', '--json'], { COORD_HOLDER: 'agent-1' });
      expect(rel.code, rel.stderr).toBe(0);
      const closed = JSON.parse(rel.stdout) as Lease;
      expect(
        (await gitAs(remote, c, ['push', 'origin', '+refs/coord/leases/9:refs/coord/leases/9'])).code,
      ).toBe(0);
      const before = allRefs(remote.dir);
      const revived = {
        ...closed,
        state: 'open' as const,
        outcome: null,
        closedAt: null,
        revision: closed.revision + 1,
      };
      const push = await gitAs(remote, c, [
        'push',
        'origin',
        `+${blob(c, record(revived))}:refs/coord/leases/9`,
      ]);
      expect(push.code).not.toBe(0);
      expect(push.stderr).toMatch(/reopens a closed lease without a new token/);
      const gone = await gitAs(remote, c, ['push', 'origin', ':refs/coord/leases/9']);
      expect(gone.stderr).toMatch(/never deleted: a closed lease stays as a tombstone/);
      expect(allRefs(remote.dir)).toBe(before);
      const again = await claimAs(c, '9', 'agent-3', ['--no-worktree']);
      expect(again.token).toBe(2);
      const ok = await pushRecords(remote, c);
      expect(ok.code, ok.stderr).toBe(0);
      expect(lease(remote.dir, 'refs/coord/leases/9').holder.id).toBe('agent-3');
    });
  });
});
