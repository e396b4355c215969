import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, sh } from '../fixtures/repo.js';
import { cli, expectExit, makeCoordRepo, refs } from './helpers.js';

afterAll(cleanup);

/** Every ref under refs/coord with its oid: what "nothing changed" compares. */
const state = (dir: string) => refs(dir, 'refs/coord/').map((r) => `${r} ${sh(dir, 'rev-parse', r)}`);

describe('a caller who is not the holder is told who they are (issue 9 item 7)', () => {
  it('COORD_HOLDER unset in a new shell: release, renew and done name the holder, the caller and the id source', async () => {
    const dir = makeCoordRepo(); // user.email is user@example.com
    await expectExit(dir, ['claim', '5', '--no-worktree'], 0, { COORD_HOLDER: 'a' });
    const before = state(dir);
    for (const [verb, did] of [
      ['release', 'released'],
      ['renew', 'renewed'],
      ['done', 'closed'],
    ] as const) {
      const res = await expectExit(dir, [verb, '5'], 3);
      expect(res.stderr, verb).not.toContain('you lost');
      expect(res.stderr, verb).toContain('lease 5 is held by a on ');
      expect(res.stderr, verb).toContain('you are user@example.com (from git config user.email)');
      expect(res.stderr, verb).toContain(`Nothing was ${did}.`);
      expect(res.stderr, verb).toContain('set COORD_HOLDER=a or pass --holder a');
      const json = await expectExit(dir, [verb, '5', '--json'], 3);
      expect(JSON.parse(json.stdout).error.code).toBe('not-holder');
    }
    expect(state(dir)).toEqual(before);

    // The source named is the one that decided.
    const flag = await expectExit(dir, ['release', '5', '--holder', 'z'], 3);
    expect(flag.stderr).toContain('you are z (from --holder)');
    sh(dir, 'config', 'coord.holder', 'cfg-holder');
    const cfg = await expectExit(dir, ['renew', '5'], 3);
    expect(cfg.stderr).toContain('you are cfg-holder (from git config coord.holder)');
    const env = await expectExit(dir, ['renew', '5'], 3, { COORD_HOLDER: 'env-holder' });
    expect(env.stderr).toContain('you are env-holder (from $COORD_HOLDER)');
    expect(state(dir)).toEqual(before);
    // And the holder, once named, is the holder.
    await expectExit(dir, ['release', '5'], 0, { COORD_HOLDER: 'a' });
  });

  it('a holder whose lease was taken over still hears "you lost the lease", with the token it had', async () => {
    const dir = makeCoordRepo();
    await expectExit(dir, ['claim', '6', '--no-worktree'], 0, { COORD_HOLDER: 'a' });
    await expectExit(dir, ['takeover', '6', '--force', '--reason', 'test'], 0, { COORD_HOLDER: 'b' });
    const before = state(dir);
    const res = await expectExit(dir, ['release', '6'], 3, { COORD_HOLDER: 'a' });
    expect(res.stderr).toContain('you lost the lease 6: token is now 2 (you had token 1), held by b');
    const json = await expectExit(dir, ['renew', '6', '--json'], 3, { COORD_HOLDER: 'a' });
    expect(JSON.parse(json.stdout).error.code).toBe('lease-lost');
    expect(state(dir)).toEqual(before);
  });

  it('report says "your lease" only to its holder', async () => {
    const dir = makeCoordRepo();
    await expectExit(dir, ['claim', '7', '--no-worktree'], 0, { COORD_HOLDER: 'a' });
    const other = await expectExit(dir, ['report', '--key', '7'], 0);
    expect(other.stdout).not.toMatch(/your lease/i);
    expect(other.stdout).toContain('[INFO] lease 7: open, held by a on ');
    expect(other.stdout).toContain('not you: user@example.com');
    expect(other.stdout).toMatch(/next_safe_action: .*held by a, not you/);
    const own = await cli(dir, ['report', '--key', '7'], { COORD_HOLDER: 'a' });
    expect(own.stdout).toContain('[INFO] your lease 7: open, held by a on ');
    expect(own.stdout).toContain('close out with git coord done 7');
    const flag = await cli(dir, ['report', '--key', '7', '--holder', 'a']);
    expect(flag.stdout).toContain('[INFO] your lease 7');
  });
});
