import { afterAll, describe, expect, it } from 'vitest';
import { OUTPUT_SCHEMAS } from '../../src/cli/schemas.js';
import type { AuditEvent } from '../../src/records/schemas.js';
import { cli, record, refs } from '../cli/helpers.js';
import { cleanup, sh } from '../fixtures/repo.js';
import { claim, commitAs, initRepo, write } from '../hooks/helpers.js';

afterAll(cleanup);

const A = { COORD_HOLDER: 'agent-a' };

/** Lease 65 of agent-a with the plan check and lessons committed, the verification missing. */
async function phase65() {
  const dir = await initRepo();
  const wt = await claim(dir, '65', 'agent-a');
  write(wt, '.planning/lessons-learned.md', '# lessons\n');
  write(wt, '.planning/phases/65-auth/65-PLAN-CHECK.md', 'plan checked\n');
  expect((await commitAs(wt, 'agent-a', 'plan 65')).code).toBe(0);
  return { dir, wt };
}

describe('git coord gate', () => {
  it('prints every rule; exit 4 when failing, 0 when passing; --json matches the schema', async () => {
    const { dir, wt } = await phase65();
    const human = await cli(dir, ['gate', '65'], A);
    expect(human.code).toBe(4);
    expect(human.stdout).toContain('[pass] when .planning/phases/65-*');
    expect(human.stdout).toContain('[pass] require .planning/phases/65-*/65-PLAN-CHECK.md');
    expect(human.stdout).toContain('[fail] require .planning/phases/65-*/65-VERIFICATION.md');
    expect(human.stdout).toContain('[pass] fresh .planning/lessons-learned.md within 7d');
    const failing = await cli(dir, ['gate', '65', '--json'], A);
    expect(failing.code).toBe(4);
    const doc = OUTPUT_SCHEMAS.gate!.parse(JSON.parse(failing.stdout)) as { result: string; commit: string };
    expect(doc.result).toBe('failed');
    expect(doc.commit).toBe(sh(wt, 'rev-parse', 'HEAD'));
    // Uncommitted files do not count.
    write(wt, '.planning/phases/65-auth/65-VERIFICATION.md', 'verified\n');
    expect((await cli(dir, ['gate', '65'], A)).code).toBe(4);
    expect((await commitAs(wt, 'agent-a', 'verify')).code).toBe(0);
    const passing = await cli(dir, ['gate', '65', '--json'], A);
    expect(passing.code).toBe(0);
    expect(JSON.parse(passing.stdout).result).toBe('passed');
    // No phase folder: skipped, exit 0.
    const skipped = await cli(dir, ['gate', '99', '--json'], A);
    expect(skipped.code).toBe(0);
    expect(JSON.parse(skipped.stdout).result).toBe('skipped');
    // --rev evaluates any commit: the plan commit lacks the verification.
    const planCommit = sh(wt, 'rev-parse', 'HEAD~1');
    const atRev = await cli(dir, ['gate', '65', '--rev', planCommit, '--json'], A);
    expect(atRev.code).toBe(4);
    expect(JSON.parse(atRev.stdout).commit).toBe(planCommit);
    expect((await cli(dir, ['gate', '65', '--rev', 'no-such-rev'], A)).code).toBe(2);
    // An invalid key is a usage error.
    expect((await cli(dir, ['gate', '../x'], A)).code).toBe(2);
  });
});

describe('git coord done runs the gate', () => {
  it('failing gate: exit 4 listing what is missing, the lease stays open', async () => {
    const { dir } = await phase65();
    const res = await cli(dir, ['done', '65'], A);
    expect(res.code).toBe(4);
    expect(res.stderr).toContain('65-VERIFICATION.md');
    expect(res.stderr).toContain('stays open');
    expect(res.stderr).toContain('--force --reason');
    expect(record(dir, 'refs/coord/leases/65')!.state).toBe('open');
    const json = await cli(dir, ['done', '65', '--json'], A);
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout).error.code).toBe('gate-failed');
  });

  it('--force without --reason is exit 2 and changes nothing', async () => {
    const { dir } = await phase65();
    const before = sh(dir, 'rev-parse', 'refs/coord/leases/65');
    expect((await cli(dir, ['done', '65', '--force'], A)).code).toBe(2);
    expect((await cli(dir, ['done', '65', '--force', '--reason', '  '], A)).code).toBe(2);
    expect(sh(dir, 'rev-parse', 'refs/coord/leases/65')).toBe(before);
  });

  it('--force --reason closes it done, gate overridden, with an audit event (who, when, reason, missing, commit)', async () => {
    const { dir, wt } = await phase65();
    const head = sh(wt, 'rev-parse', 'HEAD');
    const res = await cli(
      dir,
      ['done', '65', '--force', '--reason', 'verified by hand in staging', '--json'],
      A,
    );
    expect(res.code, res.stderr).toBe(0);
    const lease = JSON.parse(res.stdout);
    expect(lease).toMatchObject({ state: 'closed', outcome: 'done' });
    expect(lease.gate).toMatchObject({
      result: 'overridden',
      reason: 'verified by hand in staging',
      by: 'agent-a',
      commit: head,
    });
    expect(lease.gate.missing.join('\n')).toContain('65-VERIFICATION.md');
    const audits = refs(dir, 'refs/coord/audit/');
    expect(audits).toHaveLength(1);
    const event = record<AuditEvent>(dir, audits[0]!)!;
    expect(event).toMatchObject({
      action: 'override',
      key: '65',
      by: { id: 'agent-a' },
      reason: 'verified by hand in staging',
      commit: head,
    });
    expect(event.missing.join('\n')).toContain('65-VERIFICATION.md');
    expect(Date.now() - Date.parse(event.at)).toBeLessThan(60_000);
  });

  it('a passing gate closes it with gate passed and no audit event; only the holder gets that far', async () => {
    const { dir, wt } = await phase65();
    write(wt, '.planning/phases/65-auth/65-VERIFICATION.md', 'verified\n');
    expect((await commitAs(wt, 'agent-a', 'verify')).code).toBe(0);
    expect((await cli(dir, ['done', '65'], { COORD_HOLDER: 'agent-b' })).code).toBe(3);
    const res = await cli(dir, ['done', '65', '--json'], A);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).gate).toMatchObject({ result: 'passed', missing: [], reason: null });
    expect(refs(dir, 'refs/coord/audit/')).toEqual([]);
  });

  it('a skipped gate records gate null', async () => {
    const dir = await initRepo();
    await claim(dir, '5', 'agent-a');
    const res = await cli(dir, ['done', '5', '--json'], A);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ state: 'closed', outcome: 'done', gate: null });
  });
});
