import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cloneRemote,
  type Remote,
  remoteGit,
  startTransport,
  TRANSPORTS,
  type TransportServer,
} from '../fixtures/remotes.js';
import { cleanup, sh, tempDir } from '../fixtures/repo.js';

/**
 * The remote fixtures themselves, over a path, a real sshd and git http-backend: what team mode relies
 * on (DESIGN §7) works with plain git over each of them.
 */

afterAll(cleanup);

/** A pre-receive hook in `remote` that writes its push options and REMOTE_USER to `<remote>/seen`. */
function recordingHook(remote: Remote): string {
  const seen = join(remote.dir, 'seen');
  const hook = join(remote.dir, 'hooks', 'pre-receive');
  writeFileSync(
    hook,
    [
      '#!/bin/sh',
      `out=${seen}`,
      ': > "$out"',
      'cat > /dev/null',
      'i=0 n=$GIT_PUSH_OPTION_COUNT',
      'while [ "$i" -lt "$((n + 0))" ]; do',
      '  eval "echo option=\\$GIT_PUSH_OPTION_$i" >> "$out"',
      '  i=$((i + 1))',
      'done',
      'echo "user=$REMOTE_USER" >> "$out"',
      '',
    ].join('\n'),
  );
  chmodSync(hook, 0o755);
  return seen;
}

function commit(dir: string, file: string, text: string): string {
  writeFileSync(join(dir, file), text);
  sh(dir, 'add', file);
  sh(dir, 'commit', '-q', '-m', `add ${file}`);
  return sh(dir, 'rev-parse', 'HEAD');
}

const remoteRefs = (remote: Remote) => sh(remote.dir, 'for-each-ref', '--format=%(refname) %(objectname)');

describe.each(TRANSPORTS)('transport %s', (transport) => {
  let server: TransportServer;
  beforeAll(async () => {
    server = await startTransport(transport);
  });
  afterAll(() => server?.stop());

  it('clones, pushes a commit and fetches it back', () => {
    const remote = server.remote();
    const a = cloneRemote(remote);
    const head = commit(a, 'a.txt', 'a\n');
    const push = remoteGit(remote, a, ['push', '-q', 'origin', 'HEAD:main']);
    expect(push.code, push.stderr + server.log()).toBe(0);
    expect(sh(remote.dir, 'rev-parse', 'main')).toBe(head);
    const b = cloneRemote(remote);
    expect(sh(b, 'rev-parse', 'HEAD')).toBe(head);
    // the clone keeps what the transport needs: plain git works there without any env
    commit(b, 'b.txt', 'b\n');
    sh(b, 'push', '-q', 'origin', 'HEAD:main');
    sh(a, 'pull', '-q', '--ff-only', 'origin', 'main');
    expect(readFileSync(join(a, 'b.txt'), 'utf8')).toBe('b\n');
  });

  it('pushes a ref that points at a blob and fetches it into a staging namespace', () => {
    const remote = server.remote();
    const a = cloneRemote(remote);
    commit(a, 'a.txt', 'a\n');
    sh(a, 'push', '-q', 'origin', 'HEAD:main');
    writeFileSync(join(a, 'rec.json'), '{"schema":"coord.lease/v1"}\n');
    const blob = sh(a, 'hash-object', '-w', 'rec.json');
    sh(a, 'push', '-q', '--porcelain', 'origin', `${blob}:refs/coord/leases/7`);
    expect(sh(remote.dir, 'cat-file', '-t', 'refs/coord/leases/7')).toBe('blob');
    const b = cloneRemote(remote);
    sh(b, 'fetch', '-q', 'origin', '+refs/coord/*:refs/coord-remote/origin/*');
    expect(sh(b, 'rev-parse', 'refs/coord-remote/origin/leases/7')).toBe(blob);
    expect(sh(b, 'cat-file', '-p', 'refs/coord-remote/origin/leases/7')).toBe('{"schema":"coord.lease/v1"}');
    expect(sh(b, 'ls-remote', 'origin', 'refs/coord/*')).toBe(`${blob}\trefs/coord/leases/7`);
  });

  it('--force-with-lease is a compare-and-swap on the server; --atomic is all-or-nothing', () => {
    const remote = server.remote();
    const a = cloneRemote(remote);
    commit(a, 'a.txt', 'a\n');
    sh(a, 'push', '-q', 'origin', 'HEAD:main');
    const blob = (text: string) => {
      writeFileSync(join(a, 'x'), text);
      return sh(a, 'hash-object', '-w', 'x');
    };
    const v1 = blob('1\n');
    const v2 = blob('2\n');
    const v3 = blob('3\n');
    const ref = 'refs/coord/leases/k';
    const push = (...args: string[]) => remoteGit(remote, a, ['push', '--porcelain', ...args]);
    // create-only: must not exist
    expect(push(`--force-with-lease=${ref}:`, 'origin', `${v1}:${ref}`).code).toBe(0);
    const again = push(`--force-with-lease=${ref}:`, 'origin', `${v2}:${ref}`);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(new RegExp(`^!\\t${v2}:${ref}\\t`, 'm'));
    // expected old value right: swapped; wrong: refused with the `!` flag, remote unchanged
    expect(push(`--force-with-lease=${ref}:${v1}`, 'origin', `${v2}:${ref}`).stdout).toMatch(/^\+\t/m);
    const stale = push(`--force-with-lease=${ref}:${v1}`, 'origin', `${v3}:${ref}`);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toMatch(/^!\t.*stale info/m);
    expect(sh(remote.dir, 'rev-parse', ref)).toBe(v2);
    // atomic: the good half is not applied when the other half loses its lease
    const before = remoteRefs(remote);
    const atomic = push(
      '--atomic',
      `--force-with-lease=${ref}:${v1}`,
      '--force-with-lease=refs/coord/branches/b:',
      'origin',
      `${v3}:${ref}`,
      `${v3}:refs/coord/branches/b`,
    );
    expect(atomic.code).toBe(1);
    expect(atomic.stdout).toMatch(/^!\t/m);
    expect(remoteRefs(remote)).toBe(before);
    // both right: both applied
    const both = push(
      '--atomic',
      `--force-with-lease=${ref}:${v2}`,
      '--force-with-lease=refs/coord/branches/b:',
      'origin',
      `${v3}:${ref}`,
      `${v3}:refs/coord/branches/b`,
    );
    expect(both.code, both.stdout + both.stderr).toBe(0);
    expect(sh(remote.dir, 'rev-parse', ref, 'refs/coord/branches/b')).toBe(`${v3}\n${v3}`);
    // delete with a lease
    expect(
      push(`--force-with-lease=refs/coord/branches/b:${v3}`, 'origin', ':refs/coord/branches/b').stdout,
    ).toMatch(/^-\t/m);
  });

  it('advertises push options (receive.advertisePushOptions) and hooks receive them', () => {
    const remote = server.remote();
    const seen = recordingHook(remote);
    const a = cloneRemote(remote);
    commit(a, 'a.txt', 'a\n');
    const push = remoteGit(remote, a, [
      'push',
      '-q',
      '-o',
      'coord-token=3',
      '-o',
      'coord-holder=agent-1',
      'origin',
      'HEAD:main',
    ]);
    expect(push.code, push.stderr).toBe(0);
    expect(readFileSync(seen, 'utf8')).toBe('option=coord-token=3\noption=coord-holder=agent-1\nuser=\n');
    // push.pushOption in the clone's config: a plain `git push` carries them
    sh(a, 'config', '--add', 'push.pushOption', 'coord-token=4');
    commit(a, 'b.txt', 'b\n');
    sh(a, 'push', '-q', 'origin', 'HEAD:main');
    expect(readFileSync(seen, 'utf8')).toBe('option=coord-token=4\nuser=\n');

    const plain = server.remote({ pushOptions: false });
    const c = cloneRemote(plain);
    commit(c, 'a.txt', 'a\n');
    const refused = remoteGit(plain, c, ['push', '-o', 'x=1', 'origin', 'HEAD:main']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/does not support push options/);
  });
});

describe.each(TRANSPORTS)('transport %s with known pushers', (transport) => {
  let server: TransportServer;
  beforeAll(async () => {
    server = await startTransport(transport, { users: ['alice', 'bob'] });
  });
  afterAll(() => server?.stop());

  it('tells the hooks who pushed (REMOTE_USER)', () => {
    const remote = server.remote();
    const seen = recordingHook(remote);
    const asAlice = remote.as('alice');
    const alice = cloneRemote(asAlice);
    commit(alice, 'a.txt', 'a\n');
    const own = remoteGit(asAlice, alice, ['push', '-q', 'origin', 'HEAD:main']);
    expect(own.code, own.stderr).toBe(0);
    expect(readFileSync(seen, 'utf8')).toBe('user=alice\n');
    const bob = remote.as('bob');
    const pushed = remoteGit(bob, alice, ['push', '-q', bob.url, 'HEAD:refs/heads/bob']);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(readFileSync(seen, 'utf8')).toBe('user=bob\n');
  });

  it.runIf(transport === 'http')(
    'http: an anonymous push is refused (401), an anonymous fetch is not',
    () => {
      const remote = server.remote();
      const alice = cloneRemote(remote.as('alice'));
      commit(alice, 'a.txt', 'a\n');
      sh(alice, 'push', '-q', 'origin', 'HEAD:main'); // the clone's URL carries alice's password
      const anon = cloneRemote(remote);
      expect(sh(anon, 'rev-parse', 'HEAD')).toBe(sh(alice, 'rev-parse', 'HEAD'));
      commit(anon, 'b.txt', 'b\n');
      const push = remoteGit(remote, anon, ['push', 'origin', 'HEAD:main']);
      expect(push.code).not.toBe(0);
      expect(server.log()).toMatch(/git-receive-pack user=-/);
      expect(sh(remote.dir, 'rev-parse', 'main')).toBe(sh(alice, 'rev-parse', 'HEAD'));
    },
  );
});

describe.each(TRANSPORTS)('transport %s: stop()', (transport) => {
  it('kills the server process and removes its repositories and keys', async () => {
    const server = await startTransport(transport);
    const remote = server.remote();
    cloneRemote(remote);
    const pid = server.pid;
    expect(pid === null).toBe(transport === 'path');
    await server.stop();
    expect(existsSync(remote.dir)).toBe(false);
    if (pid !== null) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });
});

describe('transport http: request bodies', () => {
  let server: TransportServer;
  beforeAll(async () => {
    server = await startTransport('http');
  });
  afterAll(() => server?.stop());

  it('inflates a gzip request body (a fetch negotiation of many wants)', () => {
    const remote = server.remote();
    const a = cloneRemote(remote);
    const refspecs: string[] = [];
    for (let i = 0; i < 30; i++) {
      commit(a, `f${i}.txt`, `${i}\n`);
      refspecs.push(`HEAD:refs/heads/b${i}`);
    }
    sh(a, 'push', '-q', 'origin', ...refspecs, 'HEAD:main');
    const b = join(tempDir('coord-clone-'), 'b');
    sh(tempDir(), 'clone', '-q', '--no-single-branch', remote.url, b);
    expect(sh(b, 'for-each-ref', '--format=%(refname)', 'refs/remotes/origin/').split('\n')).toHaveLength(32);
    expect(server.log()).toMatch(/POST \/remote-1\.git\/git-upload-pack user=- gzip/);
  });
});
