import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('npm run demo (demo/run.ts as a real process)', () => {
  it('exits 0 and tells the whole story', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'demo/run.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 110_000,
    });
    const out = res.stdout;
    expect(res.status, `${out}\n${res.stderr}`).toBe(0);
    for (const line of [
      '✓ `git coord init` exits 0',
      '✓ all three claims exit 0',
      '✓ both are refused with exit 3 (conflict)',
      '✓ the real pre-commit hook refuses the commit',
      '✓ the refusal names the holder, agent-a',
      '✓ the report exits 4: other open leases block the closeout',
      '✓ `done` is refused by the gate with exit 4',
      '✓ lease 65 is closed, outcome done, gate passed',
      '✓ an override audit event for 66 is stored under refs/coord/audit/',
      '✓ `git coord list` shows lease 67 as open (holder dead)',
      '✓ `takeover 67` exits 0',
      '$ git for-each-ref refs/coord',
      "$ git show 'refs/coord/leases/67@{1}'",
      "✓ the ref's reflog file records every write: claim by agent-c, takeover by agent-b",
      '✓ `git coord parallel` exits 0: every task done and merged',
      '✓ never more than 2 tasks ran at once (from the timestamps the tasks wrote)',
    ]) {
      expect(out).toContain(line);
    }
    expect(out).toMatch(/All \d+ expected outcomes happened in \d+ steps\. ✓/);
    expect(out).not.toContain('✗');
  });
});
