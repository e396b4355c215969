import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Lease } from '../../src/records/schemas.js';
import { cli, expectConsistent, makeCoordRepo, record } from '../cli/helpers.js';
import { cleanup, collect, GIT_ENV, type RunResult, sh, tempDir } from '../fixtures/repo.js';
import { findLocks } from '../refs/helpers.js';
import { cliPath, showLease } from './helpers.js';

/**
 * The write paths of `git coord run` (attempt start, attempt end, closing failed) under the project
 * rule: racing runners on one key (count what ran and what survived), and SIGKILL at every fault
 * point of each of its writes.
 */

afterAll(cleanup);

const CONFIG = { leases: { ttl: '15m', skew: '0s' } };

/** Starts every `run` at a barrier (a shell waiting on stdin) and releases them together. */
async function together(dir: string, jobs: Array<{ args: string[]; holder: string }>): Promise<RunResult[]> {
  const children = jobs.map((job) =>
    spawn('sh', ['-c', 'read _go; exec "$@"', 'sh', process.execPath, cliPath(), ...job.args], {
      cwd: dir,
      env: { ...process.env, ...GIT_ENV, NO_COLOR: '1', COORD_PID: undefined, COORD_HOLDER: job.holder },
    }),
  );
  const done = children.map(collect);
  await Promise.all(children.map((c) => new Promise((r) => c.once('spawn', r))));
  for (const c of children) c.stdin.end('go\n');
  return Promise.all(done);
}

/** The reflog of lease `key`: verbs and records, oldest first; checks the chain is unbroken. */
function leaseLog(dir: string, key: string): Array<{ verb: string; lease: Lease }> {
  const lines = readFileSync(join(dir, '.git', 'logs', 'refs', 'coord', 'leases', key), 'utf8')
    .split('\n')
    .filter(Boolean);
  let prev: string | null = null;
  return lines.map((line) => {
    const [head, message = ''] = line.split('\t');
    const [oldOid, newOid] = head!.split(' ');
    if (prev) expect(oldOid).toBe(prev);
    prev = newOid!;
    return {
      verb: /^coord: (\S+)/.exec(message)![1]!,
      lease: JSON.parse(sh(dir, 'cat-file', 'blob', newOid!)) as Lease,
    };
  });
}

describe('racing runs of one key (real processes, released together)', () => {
  it('6 holders run one key at once: the command runs once, one exit 0, five exit 3; one attempt', async () => {
    const dir = makeCoordRepo(CONFIG);
    const count = join(tempDir('coord-count-'), 'ran');
    const cmd = ['sh', '-c', `echo "$COORD_HOLDER" >> ${count}; sleep 1`];
    const rs = await together(
      dir,
      Array.from({ length: 6 }, (_, i) => ({ args: ['run', 'r', '--', ...cmd], holder: `agent-${i}` })),
    );
    const codes = rs.map((r) => r.code).sort();
    expect(codes, rs.map((r) => r.stderr).join('\n')).toEqual([0, 3, 3, 3, 3, 3]);
    const ran = readFileSync(count, 'utf8').trim().split('\n');
    expect(ran).toHaveLength(1);
    const winner = rs.findIndex((r) => r.code === 0);
    expect(ran[0]).toBe(`agent-${winner}`);
    const lease = record(dir, 'refs/coord/leases/r')!;
    expect(lease).toMatchObject({
      state: 'closed',
      outcome: 'done',
      token: 1,
      holder: { id: `agent-${winner}` },
    });
    expect(lease.attempts).toEqual([
      expect.objectContaining({ number: 1, result: 'done', holder: `agent-${winner}` }),
    ]);
    for (const r of rs.filter((x) => x.code === 3)) expect(r.stderr).toMatch(/held by agent-|lost|being run/);
    const log = leaseLog(dir, 'r');
    expect(log.map((e) => e.verb)).toEqual([
      'claim',
      'run-start',
      ...log.slice(2, -2).map(() => 'renew'),
      'run-end',
      'done',
    ]);
  });

  it('4 runs of one key by the same holder at once: one runs it, the others are refused (exit 3) and leave its pid in place', async () => {
    const dir = makeCoordRepo(CONFIG);
    const count = join(tempDir('coord-count-'), 'ran');
    const cmd = ['sh', '-c', `echo "$COORD_PID" >> ${count}; sleep 2`];
    const rs = await together(
      dir,
      Array.from({ length: 4 }, () => ({
        args: ['run', 'same', '--ttl', '3s', '--', ...cmd],
        holder: 'agent-a',
      })),
    );
    expect(rs.map((r) => r.code).sort(), rs.map((r) => r.stderr).join('\n')).toEqual([0, 3, 3, 3]);
    const ran = readFileSync(count, 'utf8').trim().split('\n');
    expect(ran).toHaveLength(1);
    const log = leaseLog(dir, 'same');
    // While the attempt ran, every record written named its runner as holder.pid (or briefly a refused
    // runner, put back by that runner or the next heartbeat); the last open record names the runner.
    const open = log.filter((e) => e.lease.state === 'open');
    expect(open.at(-1)!.lease.holder.pid).toBe(Number(ran[0]));
    const lease = log.at(-1)!.lease;
    expect(lease).toMatchObject({ state: 'closed', outcome: 'done', token: 1 });
    expect(lease.attempts).toHaveLength(1);
    expect(lease.attempts![0]).toMatchObject({ result: 'done', pid: Number(ran[0]) });
  });
});

type Verb = 'run-start' | 'run-end' | 'fail';
const FAULTS = ['blob-temp', 'ref-locked', 'ref-written', 'packed-locked'] as const;
const CASES = (['run-start', 'run-end', 'fail'] as Verb[]).flatMap((v) => FAULTS.map((f) => [v, f] as const));

describe('run killed with SIGKILL at the fault points of its own writes', () => {
  it.concurrent.each(CASES)(
    '%s at %s: the record is the one before that write; a new run recovers',
    async (verb, fault) => {
      const dir = makeCoordRepo(CONFIG);
      const env = { COORD_HOLDER: 'agent-a' };
      const killed = await cli(dir, ['run', 'x', '--', 'sh', '-c', 'exit 1'], {
        ...env,
        GIT_COORD_TEST_FAULT: `${fault}:${verb}`,
      });
      // Only `fail` deletes refs (the index entries of a closed lease), so only it takes packed-refs.lock.
      if (fault === 'packed-locked' && verb !== 'fail') {
        expect(killed.code, killed.stderr).toBe(1);
        return;
      }
      expect(killed.signal, `${killed.code} ${killed.stderr}`).toBe('SIGKILL');
      const lease = expectConsistent(dir, 'x');
      expect(lease.state).toBe('open');
      const attempts = (lease.attempts ?? []).map((a) => [a.number, a.result, a.exit]);
      expect(attempts).toEqual(
        verb === 'run-start' ? [] : verb === 'run-end' ? [[1, 'running', null]] : [[1, 'failed', 1]],
      );
      expect(log(dir).at(-1)).toBe(
        verb === 'run-start' ? 'claim' : verb === 'run-end' ? 'run-start' : 'run-end',
      );
      // The runner is gone: the lease says so at once.
      expect((await showLease(dir, 'x')).stale).toBe('holder-dead');

      // Its locks stay (they block the next write of those refs until removed; the refs tests cover
      // how they are named); once they are gone, the same holder runs the key again.
      const gitDir = join(dir, '.git');
      for (const f of findLocks(gitDir)) rmSync(join(gitDir, f));
      const again = await cli(dir, ['run', 'x', '--', 'true'], env);
      expect(again.code, again.stderr).toBe(0);
      const after = record(dir, 'refs/coord/leases/x')!;
      expect(after).toMatchObject({ state: 'closed', outcome: 'done' });
      expect(after.attempts!.map((a) => [a.number, a.result])).toEqual(
        verb === 'run-start'
          ? [[1, 'done']]
          : verb === 'run-end'
            ? [
                [1, 'crashed'],
                [2, 'done'],
              ]
            : [
                [1, 'failed'],
                [2, 'done'],
              ],
      );
    },
  );
});

/** Reflog verbs of lease x. */
function log(dir: string): string[] {
  return leaseLog(dir, 'x').map((e) => e.verb);
}
