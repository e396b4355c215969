import { afterAll, describe, expect, it } from 'vitest';
import { cli, record } from '../cli/helpers.js';
import { cleanup, run, sh } from '../fixtures/repo.js';
import { claim, commitAs, initRepo } from './helpers.js';

/**
 * Issue 9 item 3: one validation rule for every reader. Records written with plain git that the CLI
 * calls corrupt are never renewed by either hook path (the sh fast path hands them to node, which
 * refuses the commit naming the record), and list/show/release refuse them too.
 */

afterAll(cleanup);

/** Writes `text` as a blob with plain git and points `ref` at it. */
async function plant(dir: string, ref: string, text: string): Promise<string> {
  const res = await run('git', ['hash-object', '-w', '--stdin'], { cwd: dir, input: text });
  expect(res.code, res.stderr).toBe(0);
  const oid = res.stdout.trim();
  sh(dir, 'update-ref', ref, oid);
  return oid;
}

const HOSTILE: Array<[string, (text: string) => string, string]> = [
  ['schema coord.lease/v99', (t) => t.replace('coord.lease/v1', 'coord.lease/v99'), 'unknown schema version'],
  ['an unknown field', (t) => t.replace('{\n', '{\n  "extra": "x",\n'), 'extra'],
  [
    'a key that differs from the ref name',
    (t) => t.replace('"key": "k"', '"key": "other"'),
    'does not match its ref name',
  ],
  [
    'a 2 MiB record',
    (t) => t.replace('"note": null', `"note": "${'n'.repeat(2 * 1024 * 1024)}"`),
    'records are limited to',
  ],
];

describe('hostile lease records: the hooks refuse what the CLI refuses', () => {
  for (const [what, mutate, reason] of HOSTILE) {
    for (const path of ['sh', 'node'] as const) {
      it(`${what} (${path} path): not renewed, the commit refused, show refuses it`, async () => {
        const dir = await initRepo();
        const wt = await claim(dir, 'k', 'agent-a');
        const ref = 'refs/coord/leases/k';
        const text = sh(dir, 'cat-file', 'blob', ref);
        const oid = await plant(dir, ref, `${mutate(`${text}\n`)}`);
        const extra = path === 'node' ? { COORD_HOOK_NODE: '1' } : {};
        const res = await commitAs(wt, 'agent-a', 'on a hostile record', extra);
        expect(res.code, res.stderr).not.toBe(0);
        expect(res.stderr).toContain('corrupt record refs/coord/leases/k');
        expect(sh(dir, 'rev-parse', ref)).toBe(oid);
        const show = await cli(dir, ['show', 'k']);
        expect(show.code).toBe(1);
        expect(show.stderr.toLowerCase()).toContain(reason.toLowerCase());
      });
    }
  }

  it('list and show refuse a lease whose key differs from its ref; a copy at another name is not that lease', async () => {
    const dir = await initRepo();
    await claim(dir, 'k', 'agent-a', ['--no-worktree']);
    const text = sh(dir, 'cat-file', 'blob', 'refs/coord/leases/k');
    await plant(dir, 'refs/coord/leases/copy', `${text}\n`);
    const show = await cli(dir, ['show', 'copy']);
    expect(show.code).toBe(1);
    expect(show.stderr).toContain('lease key "k" does not match its ref name');
    const list = await cli(dir, ['list', '--json']);
    const keys = (JSON.parse(list.stdout).leases as Array<{ key: string }>).map((l) => l.key);
    expect(keys).toEqual(['k']);
  });

  it('a symbolic ref under refs/coord is never followed: show and release refuse it, the target is untouched', async () => {
    const dir = await initRepo();
    await claim(dir, 'k', 'agent-a', ['--no-worktree']);
    sh(dir, 'symbolic-ref', 'refs/coord/leases/alias', 'refs/coord/leases/k');
    const show = await cli(dir, ['show', 'alias']);
    expect(show.code).toBe(1);
    expect(show.stderr).toContain('refs/coord/leases/alias is a symbolic ref');
    const rel = await cli(dir, ['release', 'alias'], { COORD_HOLDER: 'agent-a' });
    expect(rel.code).toBe(1);
    expect(rel.stderr).toContain('is a symbolic ref');
    expect(record(dir, 'refs/coord/leases/k')!.state).toBe('open');
  });
});
