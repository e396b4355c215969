import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { displaySafe } from '../../src/display.js';
import { BranchIndexType, LeaseType } from '../../src/records/schemas.js';
import { writeRecord } from '../../src/records/store.js';
import { discoverRepo } from '../../src/refs/index.js';
import { cleanup, GIT_ENV, makeBareRemote, type RunResult, sh } from '../fixtures/repo.js';
import { commitAs, initRepo, pushAs } from '../hooks/helpers.js';
import { sampleLease } from '../records/sample.js';
import { cli, expectExit } from './helpers.js';

afterAll(cleanup);

/**
 * Issue 9 item 5: stored and configured text never reaches the terminal raw. The hostile text holds
 * ESC (a colour sequence), a C1 CSI (U+009B), an RLO bidi override (U+202E) and a bidi isolate (U+2066).
 */
const HOSTILE = '\x1b[31mRED\x9b2J\u202eevil\u2066';
/** Every character that must not appear raw (newline and tab are the output's own). */
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/u;

function expectSafe(res: RunResult, what: string): void {
  const out = `${res.stdout}${res.stderr}`;
  expect(out, `${what}: raw control or bidi character in\n${JSON.stringify(out)}`).not.toMatch(RAW);
}

function gitBlob(dir: string, content: string): string {
  return execFileSync('git', ['hash-object', '-w', '--stdin'], {
    cwd: dir,
    input: content,
    env: { ...process.env, ...GIT_ENV },
    encoding: 'utf8',
  }).trim();
}

/**
 * A repository (hooks installed) whose lease `evil` is a blob that is not JSON and holds HOSTILE, and
 * whose branch index says lease `evil` holds `main`, so status and the hooks read it too.
 */
async function hostileRepo(): Promise<string> {
  const dir = await initRepo();
  const repo = discoverRepo(dir);
  sh(dir, 'update-ref', 'refs/coord/leases/evil', gitBlob(dir, `${HOSTILE} not json\n`));
  const index = writeRecord(repo, BranchIndexType, {
    schema: 'coord.branch/v1',
    branch: 'main',
    key: 'evil',
    holder: 'someone',
    token: 1,
  });
  sh(dir, 'update-ref', 'refs/coord/branches/main', index);
  return dir;
}

describe('terminal escapes in messages (issue 9 item 5)', () => {
  it('displaySafe escapes C0, DEL, C1 and bidi controls and is idempotent', () => {
    const once = displaySafe(HOSTILE);
    expect(once).toBe('\\x1b[31mRED\\x9b2J\\u202eevil\\u2066');
    expect(displaySafe(once)).toBe(once);
    expect(displaySafe('a\nb\tc', { lines: true })).toBe('a\nb\\x09c');
    expect(displaySafe('a\nb')).toBe('a\\x0ab');
  });

  it('list, show, status and claim escape a hostile blob quoted in the parse error', async () => {
    const dir = await hostileRepo();
    const env = { COORD_HOLDER: 'agent-1' };
    for (const args of [['list'], ['list', '--json'], ['show', 'evil'], ['show', 'evil', '--json']]) {
      const res = await cli(dir, args, env);
      expectSafe(res, args.join(' '));
      expect(`${res.stdout}${res.stderr}`, args.join(' ')).toMatch(/\\x1b\[31mRED|\\u001b\[31mRED/);
    }
    const show = await expectExit(dir, ['show', 'evil'], 1, env);
    expect(show.stderr).toContain('RED\\x9b2');
    const status = await expectExit(dir, ['status'], 1, env);
    expectSafe(status, 'status');
    expect(status.stderr).toContain('\\x1b[31mRED');
    const claim = await expectExit(dir, ['claim', 'evil', '--no-worktree'], 1, env);
    expectSafe(claim, 'claim');
    expect(claim.stderr).toContain('corrupt record refs/coord/leases/evil');
  });

  it('pre-commit and pre-push escape it too (real git commit and git push)', async () => {
    const dir = await hostileRepo();
    const commit = await commitAs(dir, 'agent-1', 'a commit');
    expect(commit.code, commit.stderr).not.toBe(0);
    expectSafe(commit, 'pre-commit');
    expect(commit.stderr).toContain('refs/coord/leases/evil');

    const remote = makeBareRemote();
    sh(dir, 'remote', 'add', 'origin', remote);
    const push = await pushAs(dir, 'agent-1', ['origin', 'main']);
    expect(push.code, push.stderr).not.toBe(0);
    expectSafe(push, 'pre-push');
    expect(push.stderr).toContain('refs/coord/leases/evil');
  });

  it('a .coord/config.json with ESC, C1 and bidi characters is reported escaped', async () => {
    const dir = await initRepo();
    // not JSON: the parse error quotes the text
    writeFileSync(join(dir, '.coord', 'config.json'), `{"protect": [${HOSTILE}]}\n`);
    const notJson = await expectExit(dir, ['list'], 1);
    expectSafe(notJson, 'config not JSON');
    expect(notJson.stderr).toContain('config.json: not valid JSON');
    // JSON, but a pattern that leaves the repository: the pattern is quoted
    writeFileSync(
      join(dir, '.coord', 'config.json'),
      JSON.stringify({ worktrees: { dir: `../${HOSTILE}` } }),
    );
    const leaves = await expectExit(dir, ['list'], 1);
    expectSafe(leaves, 'config pattern');
    expect(leaves.stderr).toContain('worktrees.dir "../\\x1b[31mRED\\x9b2J\\u202eevil\\u2066" leaves');
    // an unknown key holding the characters
    writeFileSync(join(dir, '.coord', 'config.json'), JSON.stringify({ [HOSTILE]: 1 }));
    const unknown = await expectExit(dir, ['list', '--json'], 1);
    expectSafe(unknown, 'config unknown key --json');
  });

  it('identity fields refuse C1 and bidi characters: as input (exit 2) and in stored records (corrupt)', async () => {
    const dir = await initRepo();
    for (const holder of ['a\u202eb', 'a\x9bb', 'a\u2067b']) {
      const res = await expectExit(dir, ['claim', 'k', '--no-worktree', '--holder', holder], 2);
      expectSafe(res, `--holder ${JSON.stringify(holder)}`);
      expect(res.stderr).toContain('invalid holder id');
    }
    const host = await expectExit(dir, ['claim', 'k', '--no-worktree'], 2, {
      COORD_HOLDER: 'agent-1',
      COORD_HOST: 'box\u202e',
    });
    expectSafe(host, 'COORD_HOST');
    expect(host.stderr).toContain('invalid host name "box\\u202e"');
    expect(sh(dir, 'for-each-ref', 'refs/coord/leases')).toBe('');

    // A record written by plain git with such an identity is corrupt for every reader.
    const base = sampleLease({ key: 'bidi' });
    for (const [key, holder] of [
      ['bidi', { ...base.holder, id: 'agent\u202e1' }],
      ['c1host', { ...base.holder, host: 'box\x85' }],
      ['c1user', { ...base.holder, user: 'u\u2066' }],
    ] as const) {
      const text = `${JSON.stringify({ ...base, key, holder }, null, 2)}\n`;
      sh(dir, 'update-ref', `refs/coord/leases/${key}`, gitBlob(dir, text));
      const show = await expectExit(dir, ['show', key], 1);
      expectSafe(show, `show ${key}`);
      expect(show.stderr).toMatch(/invalid lease: holder\.(id|host|user): must not contain control or bidi/);
    }
    const note = { ...sampleLease({ key: 'note' }), note: 'see \u202eevil' };
    expect(() => writeRecord(discoverRepo(dir), LeaseType, note)).toThrow(/control or bidi/);
    const list = await cli(dir, ['list']);
    expectSafe(list, 'list');
    expect(list.stderr).toContain('corrupt record refs/coord/leases/bidi');
  });
});
