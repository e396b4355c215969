import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { snapshotCli } from '../../demo/project.js';
import type { Lease } from '../../src/records/schemas.js';
import { CLI, expectConsistent, record, sleep } from '../cli/helpers.js';
import { cleanup, collect, GIT_ENV, sh, tempDir } from '../fixtures/repo.js';
import { as, claim, commitAs, initRepo, TEST_CONFIG } from './helpers.js';

/**
 * The pre-commit hook renews the holder's lease (a CAS on the lease ref, by `git update-ref --stdin`
 * in the shell or by the ref store in node). Here it races a takeover of the same (expired) lease by
 * another holder: whichever CAS lands first decides, and a commit is allowed only when its renewal is
 * recorded before the takeover. A takeover that lands after pre-commit but before git moves the branch
 * is caught by the reference-transaction hook (test/hooks/reference-transaction.test.ts holds commits
 * in that window on purpose): the old holder's commit never lands after a takeover.
 */

afterAll(cleanup);

const CONFIG = { ...TEST_CONFIG, leases: { ttl: '15m', skew: '0s' } };

let snapshot: string | null = null;
function cliPath(): string {
  snapshot ??= snapshotCli(CLI, tempDir('coord-cli-'));
  return snapshot;
}

/** A child process held at a barrier: it runs `cmd` after `delay` seconds once `go()` is called. */
function held(cwd: string, delay: string, cmd: string[], env: Record<string, string | undefined>) {
  const child = spawn('sh', ['-c', `read _go; sleep ${delay}; exec "$@"`, 'sh', ...cmd], {
    cwd,
    env: { ...process.env, ...GIT_ENV, ...env },
  });
  const result = collect(child);
  const spawned = new Promise((r) => child.once('spawn', r));
  return { spawned, result, go: () => child.stdin.end('go\n') };
}

/** The pid of a process that has exited. */
/**
 * A real agent process that can be killed: `claim --pid` refuses a pid with no process, so a
 * holder-dead lease is made as it happens, by the agent dying after its claim.
 */
function agentProcess(): { pid: number; kill: () => Promise<void> } {
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    pid: child.pid!,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

interface LogEntry {
  oldOid: string;
  newOid: string;
  verb: string;
  by: string;
  token: number;
  lease: Lease;
}

/** The lease's reflog, oldest first, with the record each entry wrote. */
function leaseLog(dir: string, key: string): LogEntry[] {
  return readFileSync(join(dir, '.git', 'logs', 'refs', 'coord', 'leases', key), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [head, message = ''] = line.split('\t');
      const [oldOid, newOid] = head!.split(' ') as [string, string];
      const m = /^coord: (\S+) (\S+) by (\S+) token (\d+)$/.exec(message);
      expect(m, `reflog message ${message}`).not.toBeNull();
      const lease = JSON.parse(sh(dir, 'cat-file', 'blob', newOid)) as Lease;
      return { oldOid, newOid, verb: m![1]!, by: m![3]!, token: Number(m![4]), lease };
    });
}

describe('pre-commit renewals racing takeovers (real git commit, real processes)', () => {
  it.each(['expired', 'holder-dead'] as const)(
    '5 rounds on %s leases: one holder after each, a monotonic reflog, no commit admitted after the takeover',
    async (stale) => {
      const dir = await initRepo(CONFIG);
      const rounds = [0, 1, 2, 3, 4];
      const wts: string[] = [];
      const claimed: Lease[] = [];
      // expired: ttl 1 s, skew 0 s, and a wait; holder-dead: the recorded agent process is gone (a
      // renewal does not bring it back, so the takeover wins even after the commit's renewal).
      const agent = stale === 'holder-dead' ? agentProcess() : null;
      const staleArgs = agent ? ['--pid', String(agent.pid)] : ['--ttl', '1s'];
      for (const i of rounds) {
        wts.push(await claim(dir, `r${i}`, 'agent-old', staleArgs));
        claimed.push(record(dir, `refs/coord/leases/r${i}`)!);
      }
      if (agent) await agent.kill();
      else await sleep(1200);

      // Round i: the takeover starts at once, the commit i × 150 ms later, so both orders happen. Odd
      // rounds send the hook's renewal through node instead of the shell.
      const heads = rounds.map((i) => sh(wts[i]!, 'rev-parse', 'HEAD'));
      const procs = rounds.flatMap((i) => {
        writeFileSync(join(wts[i]!, `round-${i}.txt`), `${i}\n`);
        sh(wts[i]!, 'add', '-A');
        const hookNode = i % 2 === 1 ? { COORD_HOOK_NODE: '1' } : {};
        return [
          held(dir, '0', [process.execPath, cliPath(), 'takeover', `r${i}`], {
            NO_COLOR: '1',
            COORD_HOLDER: `agent-new-${i}`,
            COORD_PID: undefined,
          }),
          held(wts[i]!, (i * 0.15).toFixed(2), ['git', 'commit', '-q', '-m', `round ${i}`], {
            ...as('agent-old', hookNode),
          }),
        ];
      });
      await Promise.all(procs.map((p) => p.spawned));
      for (const p of procs) p.go();
      const results = await Promise.all(procs.map((p) => p.result));

      for (const i of rounds) {
        const [tk, commit] = [results[2 * i]!, results[2 * i + 1]!];
        const key = `r${i}`;
        const why = `round ${i}: takeover exit ${tk.code} ${tk.stderr}\ncommit exit ${commit.code} ${commit.stderr}`;
        expect([0, 3], why).toContain(tk.code);
        // 1: pre-commit refused; 128: the reference-transaction hook refused the branch update.
        expect([0, 1, 128], why).toContain(commit.code);
        // Someone must have won: a commit is refused only because the takeover landed first.
        expect(tk.code === 0 || commit.code === 0, why).toBe(true);

        const lease = expectConsistent(dir, key);
        expect(lease.state, why).toBe('open');
        const log = leaseLog(dir, key);
        for (let j = 1; j < log.length; j++) {
          expect(log[j]!.oldOid, `${why}\nreflog chain`).toBe(log[j - 1]!.newOid);
          expect(log[j]!.lease.revision).toBe(log[j - 1]!.lease.revision + 1);
          expect(log[j]!.lease.token).toBeGreaterThanOrEqual(log[j - 1]!.lease.token);
        }
        const verbs = log.map((e) => `${e.verb}:${e.by}`);
        const tkAt = log.findIndex((e) => e.verb === 'takeover');
        const renewAt = log.findIndex((e) => e.verb === 'renew' && e.by === 'agent-old');

        if (tk.code === 0) {
          expect(lease.holder.id, why).toBe(`agent-new-${i}`);
          expect(lease.token).toBe(claimed[i]!.token + 1);
          expect(log[tkAt]!.token).toBe(lease.token);
        } else {
          expect(stale, why).toBe('expired');
          expect(tk.stderr, why).toContain('is live: held by agent-old');
          expect(lease.holder.id, why).toBe('agent-old');
          expect(lease.token).toBe(claimed[i]!.token);
          expect(tkAt).toBe(-1);
        }
        const branchHead = sh(wts[i]!, 'rev-parse', 'HEAD');
        if (commit.code === 0) {
          // The commit's renewal is recorded, with the old token, before any takeover.
          expect(renewAt, `${why}\n${verbs}`).toBeGreaterThan(0);
          expect(log[renewAt]!.token).toBe(claimed[i]!.token);
          if (tkAt >= 0) expect(renewAt, verbs.join(' ')).toBeLessThan(tkAt);
          expect(sh(wts[i]!, 'rev-parse', 'HEAD~1')).toBe(heads[i]);
        } else if (commit.code === 1) {
          expect(commit.stderr, why).toContain('refusing the commit');
          expect(commit.stderr, why).toContain(`agent-new-${i}`);
          expect(renewAt, verbs.join(' ')).toBe(-1);
          expect(branchHead, why).toBe(heads[i]);
        } else {
          // pre-commit renewed, then the takeover landed before git moved the branch: the
          // reference-transaction hook judged the update against the new holder and aborted it.
          expect(commit.stderr, why).toContain('refusing to update refs/heads/');
          expect(commit.stderr, why).toContain(`agent-new-${i}`);
          expect(tkAt, verbs.join(' ')).toBeGreaterThan(renewAt);
          expect(branchHead, why).toBe(heads[i]);
        }
        // Nothing by the old holder after a takeover.
        if (tkAt >= 0) expect(log.slice(tkAt + 1).filter((e) => e.by === 'agent-old')).toEqual([]);
        expect(log.length).toBe(1 + (tk.code === 0 ? 1 : 0) + (renewAt >= 0 ? 1 : 0));

        // Once taken over, the old holder's next commit is refused and writes nothing.
        if (tk.code === 0) {
          const before = sh(dir, 'rev-parse', `refs/coord/leases/${key}`);
          const again = await commitAs(wts[i]!, 'agent-old', 'after takeover');
          expect(again.code, again.stderr).not.toBe(0);
          expect(again.stderr).toContain('refusing the commit');
          expect(sh(dir, 'rev-parse', `refs/coord/leases/${key}`)).toBe(before);
          expect(sh(wts[i]!, 'rev-parse', 'HEAD')).toBe(branchHead);
        }
      }
    },
  );
});
