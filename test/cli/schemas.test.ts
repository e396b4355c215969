import { afterAll, describe, expect, it } from 'vitest';
import { OUTPUT_SCHEMAS } from '../../src/cli/schemas.js';
import { cleanup } from '../fixtures/repo.js';
import { cli, makeCoordRepo } from './helpers.js';

afterAll(cleanup);

/** Runs a command with --json, checks its exit code and validates stdout against `schema`. */
async function validates(dir: string, schema: string, args: string[], code = 0): Promise<unknown> {
  const res = await cli(dir, [...args, '--json'], { COORD_HOLDER: 'agent-a' });
  expect(res.code, res.stderr).toBe(code);
  expect(res.stdout.endsWith('}\n')).toBe(true);
  const doc = JSON.parse(res.stdout);
  const check = OUTPUT_SCHEMAS[schema]!.safeParse(doc);
  expect(check.success, `${args.join(' ')}: ${JSON.stringify(check.error?.issues)}`).toBe(true);
  return doc;
}

describe('must show: every --json output validates against its schema in src/cli/schemas.ts', () => {
  it('read commands: show, list, status (with and without a lease), and errors', async () => {
    const dir = makeCoordRepo();
    const claimed = (await validates(dir, 'claim', ['claim', '65'])) as { worktree: { path: string } };
    await validates(dir, 'claim', ['claim', '66', '--no-worktree', '--note', 'line one\nline two']);
    const show = (await validates(dir, 'show', ['show', '65'])) as { stale: unknown };
    expect(show.stale).toBeNull();
    const list = (await validates(dir, 'list', ['list'])) as { leases: unknown[] };
    expect(list.leases).toHaveLength(2);
    await validates(dir, 'list', ['list', '--state', 'closed']);
    const inWt = (await validates(claimed.worktree.path, 'status', ['status'])) as { lease: { key: string } };
    expect(inWt.lease.key).toBe('65');
    const inMain = (await validates(dir, 'status', ['status'])) as { lease: unknown; me: unknown };
    expect(inMain.lease).toBeNull();
    expect(inMain.me).toMatchObject({ holder: 'agent-a' });
    await validates(dir, 'error', ['show', 'nope'], 1);
    await validates(dir, 'error', ['show', 'bad..key'], 2);
  });

  it('write commands: renew, release, done, crash, takeover, clear', async () => {
    const dir = makeCoordRepo();
    await validates(dir, 'claim', ['claim', 'a', '--no-worktree']);
    await validates(dir, 'renew', ['renew', 'a', '--token', '1', '--ttl', '2h']);
    await validates(dir, 'release', ['release', 'a']);
    await validates(dir, 'claim', ['claim', 'b', '--no-worktree']);
    await validates(dir, 'done', ['done', 'b']);
    await validates(dir, 'claim', ['claim', 'c', '--no-worktree']);
    await validates(dir, 'crash', ['crash', 'c', '--reason', 'agent wedged']);
    await validates(dir, 'takeover', ['takeover', 'c', '--reason', 'resume']);
    await validates(dir, 'clear', ['clear', 'a']);
    await validates(dir, 'error', ['claim', 'a', '--ttl', 'soon'], 2);
  });
});
