import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lease } from '../../src/records/schemas.js';
import { cli } from '../cli/helpers.js';
import { type Remote, startTransport, TRANSPORTS, type TransportServer } from '../fixtures/remotes.js';
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
 * Issue 10 item 4: where the server knows the pusher (REMOTE_USER from HTTP basic auth, an ssh key's
 * authorized_keys environment=), a pusher map `coord-pusher.<name>.holder` limits the holder ids a
 * pusher may act as: pushing a leased branch, and acquiring a lease by a pushed record.
 */

afterAll(cleanup);

describe.each(TRANSPORTS)('pusher map over %s', (transport) => {
  let server: TransportServer;
  let remote: Remote;
  let alice: string;
  const opts = ['-o', 'coord-token=1', '-o', 'coord-holder=agent-1'];

  beforeAll(async () => {
    server = await startTransport(transport, { users: ['alice', 'bob'] });
    remote = server.remote({ pushOptions: false });
    await installServer(remote);
    sh(remote.dir, 'config', '--add', 'coord-pusher.alice.holder', 'agent-1');
    alice = await seededClone(remote.as('alice'));
    await claimAs(alice, '3', 'agent-1', ['--no-worktree', '--branch', 'coord/3']);
    sh(alice, 'branch', 'coord/3', 'main');
    const rec = await pushRecords(remote.as('alice'), alice);
    expect(rec.code, rec.stderr).toBe(0);
  });
  afterAll(() => server?.stop());

  it('status --server shows the map', async () => {
    const st = await cli(remote.dir, ['hooks', 'status', '--server', '--json']);
    expect((JSON.parse(st.stdout) as { pushers: object }).pushers).toEqual({ alice: ['agent-1'] });
  });

  it('alice may push the leased branch as agent-1; bob, with the same options, may not', async () => {
    sh(alice, 'checkout', '-q', 'coord/3');
    const head = commitFile(alice, 'src/x.txt', 'x\n');
    const ok = await gitAs(remote.as('alice'), alice, ['push', ...opts, 'origin', 'coord/3']);
    expect(ok.code, ok.stderr).toBe(0);
    commitFile(alice, 'src/y.txt', 'y\n');
    const bob = remote.as('bob');
    const before = allRefs(remote.dir);
    const refused = await gitAs(bob, alice, ['push', ...opts, bob.url, 'coord/3']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(
      /as holder agent-1: pusher bob may act as no holder \(coord-pusher\.bob\.holder\)/,
    );
    expect(allRefs(remote.dir)).toBe(before);
    expect(sh(remote.dir, 'rev-parse', 'refs/heads/coord/3')).toBe(head);
  });

  it('bob may not acquire a lease for agent-1 by pushing a record', async () => {
    const l = JSON.parse(sh(alice, 'cat-file', 'blob', 'refs/coord/leases/3')) as Lease;
    const forged = { ...l, key: '4', branch: null };
    const bob = remote.as('bob');
    const before = allRefs(remote.dir);
    const res = await gitAs(bob, alice, [
      'push',
      bob.url,
      `${blob(alice, `${JSON.stringify(forged, null, 2)}\n`)}:refs/coord/leases/4`,
    ]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/writes lease 4 of agent-1: pusher bob may act as no holder/);
    expect(allRefs(remote.dir)).toBe(before);
  });

  it("bob may not release agent-1's lease (and so free its branch)", async () => {
    const l = JSON.parse(sh(alice, 'cat-file', 'blob', 'refs/coord/leases/3')) as Lease;
    const closed = {
      ...l,
      state: 'closed',
      outcome: 'released',
      closedAt: l.renewedAt,
      revision: l.revision + 1,
    };
    const bob = remote.as('bob');
    const before = allRefs(remote.dir);
    const res = await gitAs(bob, alice, [
      'push',
      bob.url,
      `+${blob(alice, `${JSON.stringify(closed, null, 2)}\n`)}:refs/coord/leases/3`,
    ]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/writes lease 3 of agent-1: pusher bob may act as no holder/);
    expect(allRefs(remote.dir)).toBe(before);
  });

  it.runIf(transport !== 'http')('a pusher the server cannot name is refused once a map exists', async () => {
    commitFile(alice, 'src/z.txt', 'z\n');
    const before = allRefs(remote.dir);
    const anon = await gitAs(remote, alice, ['push', ...opts, remote.url, 'coord/3']);
    expect(anon.code).not.toBe(0);
    expect(anon.stderr).toMatch(/does not know who is pushing/);
    expect(allRefs(remote.dir)).toBe(before);
  });
});
