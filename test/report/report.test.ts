import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OUTPUT_SCHEMAS } from '../../src/cli/schemas.js';
import type { Report } from '../../src/report/index.js';
import { cli, sleep } from '../cli/helpers.js';
import { cleanup, sh } from '../fixtures/repo.js';
import { claim, commitAs, initRepo, write } from '../hooks/helpers.js';

afterAll(cleanup);

/** Every file under `dir` (the .git directory and worktrees included): path, mode, size, content hash. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out.push(`${p}/ ${st.mode.toString(8)}`);
        walk(p);
      } else if (st.isSymbolicLink()) {
        out.push(`${p} -> ${readlinkSync(p)}`);
      } else {
        const hash = createHash('sha1').update(readFileSync(p)).digest('hex');
        out.push(`${p} ${st.mode.toString(8)} ${st.size} ${hash} ${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out;
}

const refsOf = (dir: string) => sh(dir, 'for-each-ref', '--format=%(objectname) %(objecttype) %(refname)');

describe('git coord report', () => {
  it('tags other open leases BLOCK, its own INFO, stale and crashed WARN; exit 4; changes nothing', async () => {
    const dir = await initRepo();
    const wtA = await claim(dir, '65', 'agent-a');
    await claim(dir, '66', 'agent-b');
    await claim(dir, '67', 'agent-c', ['--ttl', '1s']);
    await claim(dir, '68', 'agent-d');
    expect(
      (await cli(dir, ['crash', '68', '--reason', 'agent died'], { COORD_HOLDER: 'agent-d' })).code,
    ).toBe(0);
    write(wtA, '.planning/lessons-learned.md', '# lessons\n');
    write(wtA, '.planning/phases/65-auth/65-PLAN-CHECK.md', 'plan\n');
    expect((await commitAs(wtA, 'agent-a', 'plan 65')).code).toBe(0);
    await sleep(2300); // 67: ttl 1s + skew 1s → expired

    const refsBefore = refsOf(dir);
    const filesBefore = snapshot(dir);

    // Default key: the lease of the current worktree.
    const human = await cli(wtA, ['report'], { COORD_HOLDER: 'agent-a' });
    expect(human.code).toBe(4);
    expect(human.stdout).toMatch(/\[INFO\] your lease 65: open/);
    expect(human.stdout).toMatch(/\[BLOCK\] lease 66 is open: held by agent-b .*branch coord\/66.*age/);
    expect(human.stdout).toMatch(/\[WARN\] lease 67 is stale/);
    expect(human.stdout).toMatch(/\[WARN\] lease 68 crashed/);
    expect(human.stdout).toMatch(/\[WARN\] gate done for 65 .*failed.*65-VERIFICATION\.md/);
    expect(human.stdout).toMatch(/next_safe_action: wait: 1 other open lease/);

    const res = await cli(dir, ['report', '--key', '65', '--json'], { COORD_HOLDER: 'agent-a' });
    expect(res.code).toBe(4);
    const report = OUTPUT_SCHEMAS.report!.parse(JSON.parse(res.stdout)) as Report;
    expect(report.key).toBe('65');
    expect(report.items.map((i) => [i.tag, i.key])).toEqual([
      ['INFO', '65'],
      ['BLOCK', '66'],
      ['WARN', '67'],
      ['WARN', '68'],
      ['WARN', '65'],
    ]);
    expect(report.gate?.result).toBe('failed');

    // Nothing changed: every ref and every file (the .git directory included) is as it was, even
    // though 67 is stale and 68 crashed (the report never marks, renews or repairs anything).
    expect(refsOf(dir)).toBe(refsBefore);
    expect(snapshot(dir)).toEqual(filesBefore);

    // Once the other open lease is released, nothing blocks: exit 0 (WARN does not block).
    expect((await cli(dir, ['release', '66'], { COORD_HOLDER: 'agent-b' })).code).toBe(0);
    const after = await cli(dir, ['report', '--key', '65', '--json']);
    expect(after.code).toBe(0);
    const r2 = JSON.parse(after.stdout) as Report;
    expect(r2.items.some((i) => i.tag === 'BLOCK')).toBe(false);
    expect(r2.next_safe_action).toContain('65-VERIFICATION.md');

    write(wtA, '.planning/phases/65-auth/65-VERIFICATION.md', 'verified\n');
    expect((await commitAs(wtA, 'agent-a', 'verify 65')).code).toBe(0);
    const r3 = JSON.parse((await cli(dir, ['report', '--key', '65', '--json'])).stdout) as Report;
    expect(r3.gate?.result).toBe('passed');
    expect(r3.next_safe_action).toContain('git coord done 65');
  });

  it('from a worktree without a lease, every open lease blocks', async () => {
    const dir = await initRepo();
    await claim(dir, '1', 'agent-a');
    const res = await cli(dir, ['report', '--json']);
    expect(res.code).toBe(4);
    const r = JSON.parse(res.stdout) as Report;
    expect(r.key).toBeNull();
    expect(r.items).toEqual([expect.objectContaining({ tag: 'BLOCK', key: '1' })]);
    const none = await initRepo();
    const empty = await cli(none, ['report']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain('(no leases)');
  });
});
