import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lease } from '../../src/records/schemas.js';
import { cli, sleep } from '../cli/helpers.js';
import { cloneRemote, startTransport, TRANSPORTS, type TransportServer } from '../fixtures/remotes.js';
import { cleanup, sh } from '../fixtures/repo.js';
import { allRefs, commitFile, gitAs, installServer, seededClone } from './helpers.js';

/**
 * Team mode (git coord init --remote) against a remote with the server hook: the client's own writes
 * pass the hook, claim puts the lease's push options into its worktree, and after a takeover from
 * another clone the old holder's plain push of its branch is refused by the remote.
 */

afterAll(cleanup);

describe.each(TRANSPORTS)('team mode against the server hook over %s', (transport) => {
  let server: TransportServer;
  beforeAll(async () => {
    server = await startTransport(transport);
  });
  afterAll(() => server?.stop());

  it('claim, takeover from another clone, the stale holder refused at the remote', async () => {
    const remote = server.remote({ pushOptions: false });
    await installServer(remote);
    const a = await seededClone(remote);
    sh(a, 'config', '--unset', 'coord.pushOptions'); // team mode alone turns them on
    sh(a, 'config', 'coord.holder', 'agent-1'); // the client hooks init installs know who commits
    const initA = await cli(a, ['init', '--remote', 'origin'], { COORD_HOLDER: 'agent-1' });
    expect(initA.code, initA.stderr).toBe(0);
    const claimed = await cli(a, ['claim', '5', '--ttl', '2s', '--json'], { COORD_HOLDER: 'agent-1' });
    expect(claimed.code, claimed.stderr + claimed.stdout).toBe(0);
    const wtA = (JSON.parse(claimed.stdout) as Lease).worktree!.path;
    expect(JSON.parse(sh(remote.dir, 'cat-file', 'blob', 'refs/coord/leases/5')).token).toBe(1);
    expect(sh(wtA, 'config', '--get-all', 'push.pushOption')).toBe('coord-token=1\ncoord-holder=agent-1');
    commitFile(wtA, 'src/a.txt', 'a\n');
    const own = await gitAs(remote, wtA, ['push', 'origin', 'coord/5'], { COORD_HOLDER: 'agent-1' });
    expect(own.code, own.stderr).toBe(0);

    const b = cloneRemote(remote);
    const envB = { COORD_HOLDER: 'agent-2', COORD_HOST: 'host-b' };
    const initB = await cli(b, ['init', '--remote', 'origin'], envB);
    expect(initB.code, initB.stderr).toBe(0);
    await sleep(2300);
    const t = await cli(b, ['takeover', '5', '--reason', 'agent-1 is silent', '--json'], envB);
    expect(t.code, t.stderr).toBe(0);
    const onRemote = JSON.parse(sh(remote.dir, 'cat-file', 'blob', 'refs/coord/leases/5')) as Lease;
    expect([onRemote.token, onRemote.holder.id]).toEqual([2, 'agent-2']);

    // the client layers refuse the stale holder's commit; it skips them (COORD=0), the remote still refuses
    writeFileSync(join(wtA, 'late.txt'), 'late\n');
    expect((await gitAs(remote, wtA, ['add', 'late.txt'])).code).toBe(0);
    const skipped = await gitAs(remote, wtA, ['commit', '-q', '--no-verify', '-m', 'late'], { COORD: '0' });
    expect(skipped.code, skipped.stderr).toBe(0);
    const before = allRefs(remote.dir);
    const stale = await gitAs(remote, wtA, ['push', '--no-verify', 'origin', 'coord/5'], { COORD: '0' });
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toMatch(/\[remote rejected\] coord\/5 -> coord\/5/);
    expect(stale.stderr).toMatch(/leased as 5 to agent-2 on host-b/);
    expect(allRefs(remote.dir)).toBe(before);
  });
});
