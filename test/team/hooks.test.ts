import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lease } from '../../src/records/schemas.js';
import { cli, cliJson, sleep } from '../cli/helpers.js';
import { remoteGit, startTransport, type TransportServer } from '../fixtures/remotes.js';
import { cleanup, run, sh } from '../fixtures/repo.js';
import { makeTeam, member, remoteLease } from './helpers.js';

/**
 * Hooks and worktrees in team mode (DESIGN §7.5, §7.6), over a bare remote by path: real `git commit`
 * and `git push` firing the installed hooks in real clones.
 */

let server: TransportServer;
beforeAll(async () => {
  server = await startTransport('path');
});
afterAll(async () => {
  await server.stop();
  cleanup();
});

/** Real `git commit` in `cwd` with the hooks installed, as `env`'s holder. */
function commit(cwd: string, file: string, env: Record<string, string>) {
  writeFileSync(join(cwd, file), `${file} ${Date.now()}\n`);
  sh(cwd, 'add', file);
  return run('git', ['commit', '-q', '-m', `add ${file}`], { cwd, env: { NO_COLOR: '1', ...env } });
}

async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe('hooks in team mode', { timeout: 180_000 }, () => {
  it("the holder's commit does not wait on the network: its heartbeat reaches the remote soon after", async () => {
    const team = await makeTeam(server.remote(), 1);
    const [c1] = team.clones as [string];
    const me = member('agent-a', 'host-a');
    const lease = await cliJson<Lease>(c1, ['claim', 'k'], 0, me);
    const res = await commit(lease.worktree!.path, 'a.txt', me);
    expect(res.code, res.stderr).toBe(0);
    await until('the heartbeat on the remote', () => remoteLease(team, 'k')!.revision > lease.revision);
    expect(remoteLease(team, 'k')).toMatchObject({ token: lease.token, holder: { id: 'agent-a' } });
  });

  it('offline: the holder commits, the heartbeat stays pending and sync pushes it; another holder is refused from the mirror', async () => {
    const team = await makeTeam(server.remote(), 1);
    const [c1] = team.clones as [string];
    const me = member('agent-a', 'host-a');
    const lease = await cliJson<Lease>(c1, ['claim', 'k'], 0, me);
    const url = sh(c1, 'remote', 'get-url', 'origin');
    sh(c1, 'remote', 'set-url', 'origin', '/nonexistent/remote.git');
    const wt = lease.worktree!.path;
    const ok = await commit(wt, 'a.txt', me);
    expect(ok.code, ok.stderr).toBe(0);
    const pending = join(c1, '.git', 'coord', 'pending', 'k');
    await sleep(1500); // the background push fails offline
    expect(existsSync(pending)).toBe(true);
    const other = await commit(wt, 'b.txt', member('agent-b', 'host-a'));
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('agent-a');
    sh(c1, 'remote', 'set-url', 'origin', url);
    const synced = await cliJson<{ heartbeats: Array<{ key: string; result: string }> }>(c1, ['sync']);
    expect(synced.heartbeats).toEqual([expect.objectContaining({ key: 'k', result: 'renewed' })]);
    expect(existsSync(pending)).toBe(false);
    expect(remoteLease(team, 'k')!.revision).toBeGreaterThan(lease.revision);
  });

  it("a takeover from another machine provisions that machine's own worktree, never the other clone's path", async () => {
    const team = await makeTeam(server.remote(), 2);
    const [c1, c2] = team.clones as [string, string];
    const first = await cliJson<Lease>(c1, ['claim', 'k', '--ttl', '1s'], 0, member('agent-a', 'host-a'));
    expect((await cli(c2, ['sync'])).code).toBe(0);
    await sleep(1500);
    const taken = await cliJson<Lease>(c2, ['takeover', 'k', '--ttl', '10m'], 0, member('agent-b', 'host-b'));
    expect(taken.token).toBe(2);
    expect(taken.worktree).toMatchObject({ host: 'host-b' });
    expect(taken.worktree!.path.startsWith(c2)).toBe(true);
    expect(taken.worktree!.path).not.toBe(first.worktree!.path);
    expect(existsSync(taken.worktree!.path)).toBe(true);
    const status = await cliJson<{ lease: Lease | null }>(
      taken.worktree!.path,
      ['status'],
      0,
      member('agent-b', 'host-b'),
    );
    expect(status.lease?.key).toBe('k');
  });

  it('pre-push refreshes the records of the branches it pushes before deciding', async () => {
    const team = await makeTeam(server.remote(), 2);
    const [c1, c2] = team.clones as [string, string];
    await cliJson(c1, ['claim', 'k'], 0, member('agent-a', 'host-a'));
    // Clone 2 has not synced since: its mirror knows nothing of lease k.
    sh(c2, 'checkout', '-q', '-b', 'coord/k');
    writeFileSync(join(c2, 'x.txt'), 'x\n');
    sh(c2, 'add', 'x.txt');
    sh(c2, 'commit', '-q', '--no-verify', '-m', 'x');
    const pushed = remoteGit(team.remote, c2, ['push', 'origin', 'coord/k']);
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toContain('agent-a');
  });
});
