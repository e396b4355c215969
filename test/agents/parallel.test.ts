import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, makeCoordRepo, record } from '../cli/helpers.js';
import { cleanup, collect, GIT_ENV, sh, tempDir } from '../fixtures/repo.js';
import { alive, cliPath, start, waitFor } from './helpers.js';

/**
 * `git coord parallel` with real processes: the concurrency limit measured by the commands' own
 * timestamps, refused keys, Ctrl-C, a pool shared by two parallel processes, the confirmation on a
 * real terminal (util-linux `script`), and --merge.
 */

afterAll(cleanup);

const CONFIG = { leases: { ttl: '15m', skew: '0s' }, protect: ['main'] };
const as = (holder: string) => ({ COORD_HOLDER: holder });

/**
 * A command for `parallel` that appends `start <key> <ms>` / `end <key> <ms>` to `log`, works `ms`
 * milliseconds and commits a file named after its key.
 */
function timedWork(log: string, seconds = 1): string[] {
  return [
    'sh',
    '-c',
    `echo "start {key} $(date +%s%3N)" >> ${log}; sleep ${seconds}; echo {key} > "{key}.txt"; ` +
      `git add "{key}.txt"; git commit -qm "work {key}"; echo "end {key} $(date +%s%3N)" >> ${log}`,
  ];
}

/** The most commands running at once, from the start/end lines the commands wrote. */
function maxConcurrent(log: string): { max: number; starts: number; ends: number } {
  const events = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
    .map(([kind, , ms]) => ({ kind: kind!, at: Number(ms) }))
    // At equal times an end comes first (it happened before the other start could be counted).
    .sort((a, b) => a.at - b.at || (a.kind === 'end' ? -1 : 1));
  let now = 0;
  let max = 0;
  for (const e of events) {
    now += e.kind === 'start' ? 1 : -1;
    max = Math.max(max, now);
  }
  const starts = events.filter((e) => e.kind === 'start').length;
  return { max, starts, ends: events.length - starts };
}

/** Rows of the final table: key → RESULT. */
function table(stdout: string): Record<string, string> {
  const lines = stdout.split('\n');
  const head = lines.findIndex((l) => l.startsWith('KEY  RESULT'));
  expect(head, stdout).toBeGreaterThanOrEqual(0);
  const rows: Record<string, string> = {};
  for (const l of lines.slice(head + 1)) {
    const m = /^(\S+)\s+(done|failed|refused|conflict|aborted)\s/.exec(l);
    if (m) rows[m[1]!] = m[2]!;
  }
  return rows;
}

describe('git coord parallel', () => {
  it('6 keys with --max 2: never more than 2 at once (the commands’ timestamps), all 6 done, the table right', async () => {
    const dir = makeCoordRepo(CONFIG);
    const log = join(tempDir('coord-times-'), 'times');
    const keys = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
    const res = await cli(
      dir,
      ['parallel', ...keys, '--max', '2', '--yes', '--', ...timedWork(log)],
      as('agent-a'),
    );
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(maxConcurrent(log)).toEqual({ max: 2, starts: 6, ends: 6 });
    expect(table(res.stdout)).toEqual(Object.fromEntries(keys.map((k) => [k, 'done'])));
    expect(res.stdout).toContain('6 done;');
    // Plain lines off a terminal: one started and one ended line per key, each with a timestamp.
    for (const k of keys) {
      expect(res.stdout).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z  ${k}  started`, 'm'));
      expect(res.stdout).toMatch(new RegExp(`Z  ${k}  done exit 0`, 'm'));
      expect(record(dir, `refs/coord/leases/${k}`)).toMatchObject({ state: 'closed', outcome: 'done' });
      expect(sh(dir, 'log', '--format=%s', `coord/${k}`, '-1')).toBe(`work ${k}`);
    }
  });

  it('a key held by someone else is reported refused while the others run; --json has the same results', async () => {
    const dir = makeCoordRepo(CONFIG);
    expect((await cli(dir, ['claim', 'q2', '--no-worktree'], as('agent-b'))).code).toBe(0);
    const log = join(tempDir('coord-times-'), 'times');
    const res = await cli(
      dir,
      ['parallel', 'q1', 'q2', 'q3', '--yes', '--json', '--', ...timedWork(log, 0)],
      as('agent-a'),
    );
    expect(res.code, res.stdout + res.stderr).toBe(3);
    const doc = JSON.parse(res.stdout) as {
      jobs: Array<{ key: string; result: string; detail: string; log: string }>;
    };
    expect(doc.jobs.map((j) => [j.key, j.result])).toEqual([
      ['q1', 'done'],
      ['q2', 'refused'],
      ['q3', 'done'],
    ]);
    expect(doc.jobs[1]!.detail).toContain('held by agent-b');
    expect(readFileSync(doc.jobs[1]!.log, 'utf8')).toContain('held by agent-b');
    expect(maxConcurrent(log).starts).toBe(2);
    expect(record(dir, 'refs/coord/leases/q2')).toMatchObject({ state: 'open', holder: { id: 'agent-b' } });
  });

  it('Ctrl-C stops every run within the grace period: commands gone, leases aborted, queued keys not started, exit 130', async () => {
    const dir = makeCoordRepo(CONFIG);
    const pids = tempDir('coord-pids-');
    const work = ['sh', '-c', `echo $$ > ${pids}/{key}; while :; do sleep 0.1; done`];
    const par = start(
      dir,
      ['parallel', 'c1', 'c2', 'c3', 'c4', '--max', '3', '--yes', '--grace', '2s', '--', ...work],
      as('agent-a'),
    );
    await waitFor('three commands', () => (readdirSync(pids).length === 3 ? true : undefined));
    const running = readdirSync(pids).map((k) => Number(readFileSync(join(pids, k), 'utf8')));
    const sent = Date.now();
    par.child.kill('SIGINT');
    const res = await par.result;
    const took = Date.now() - sent;
    expect(res.code, res.stdout + res.stderr).toBe(130);
    expect(took).toBeLessThan(2000 + 8000);
    for (const pid of running) expect(alive(pid)).toBe(false);
    expect(table(res.stdout)).toEqual({ c1: 'aborted', c2: 'aborted', c3: 'aborted', c4: 'aborted' });
    for (const k of ['c1', 'c2', 'c3'])
      expect(record(dir, `refs/coord/leases/${k}`)).toMatchObject({ state: 'closed', outcome: 'aborted' });
    expect(record(dir, 'refs/coord/leases/c4')).toBeNull();
    expect(res.stdout).toContain('not started');
  });

  it('--pool agents:2 from two parallel processes at once: never more than 2 commands in total', async () => {
    const dir = makeCoordRepo(CONFIG);
    const log = join(tempDir('coord-times-'), 'times');
    const run = (keys: string[], holder: string) =>
      cli(
        dir,
        ['parallel', ...keys, '--max', '3', '--pool', 'agents:2', '--yes', '--', ...timedWork(log)],
        as(holder),
      );
    const [a, b] = await Promise.all([
      run(['a1', 'a2', 'a3'], 'agent-a'),
      run(['b1', 'b2', 'b3'], 'agent-b'),
    ]);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(maxConcurrent(log)).toEqual({ max: 2, starts: 6, ends: 6 });
    // The slots are ordinary leases, closed again after each run.
    for (const i of [1, 2])
      expect(record(dir, `refs/coord/leases/pool.agents.${i}`)).toMatchObject({ state: 'closed' });
    expect(record(dir, 'refs/coord/leases/pool.agents.3')).toBeNull();
  });

  it('off a terminal without --yes: usage error (exit 2), nothing started', async () => {
    const dir = makeCoordRepo(CONFIG);
    const res = await cli(dir, ['parallel', 'n1', '--', 'true'], as('agent-a'));
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--yes');
    expect(record(dir, 'refs/coord/leases/n1')).toBeNull();
  });

  it('on a terminal: the plan and [y/N]; "n" starts nothing (exit 1), "y" runs them with live lines', async () => {
    const dir = makeCoordRepo(CONFIG);
    const onTty = async (answer: string) => {
      // util-linux script(1) gives the CLI a real pseudo-terminal; the answer is typed after a moment.
      const cmd = `${process.execPath} ${cliPath()} parallel t1 t2 --max 1 -- sh -c 'echo {key} > {key}.txt'`;
      const child = spawn('script', ['-qec', cmd, '/dev/null'], {
        cwd: dir,
        env: { ...process.env, ...GIT_ENV, ...as('agent-a'), NO_COLOR: '1' },
      });
      const result = collect(child);
      let seen = '';
      child.stdout.on('data', (b) => {
        seen += b;
      });
      await waitFor('the question', () => (seen.includes('[y/N]') ? true : undefined));
      child.stdin.write(`${answer}\n`);
      return result;
    };
    const no = await onTty('n');
    expect(no.stdout).toMatch(/KEY\s+BRANCH\s+WORKTREE\s+LEASE/);
    expect(no.stdout).toMatch(/t1\s+coord\/t1\s+\S+\.coord\/worktrees\/t1\s+new/);
    expect(no.stdout).toContain('2 runs, at most 1 at once');
    expect(no.stdout).toContain('nothing was started');
    expect(record(dir, 'refs/coord/leases/t1')).toBeNull();
    const yes = await onTty('y');
    expect(yes.stdout).toContain('\x1b[2K'); // lines redrawn in place
    expect(yes.stdout).toMatch(/t1\s+done\s+0/);
    expect(record(dir, 'refs/coord/leases/t2')).toMatchObject({ outcome: 'done' });
  });

  it('--merge merges each done key in completion order; a conflicting one is reported (exit 4), main untouched by it', async () => {
    const dir = makeCoordRepo(CONFIG);
    writeFileSync(join(dir, 'shared.txt'), 'base\n');
    sh(dir, 'add', 'shared.txt');
    sh(dir, 'commit', '-qm', 'shared');
    const base = sh(dir, 'rev-parse', 'main');
    // All start from the same base (--base; by default a new branch starts at the main worktree's HEAD,
    // which the merges move). m1 and m2 write their own files; x1 and x2 both rewrite shared.txt: the
    // second of those merges conflicts.
    const work = [
      'sh',
      '-c',
      'case {key} in x*) echo {key} > shared.txt;; *) echo {key} > {key}.txt;; esac; git add -A; git commit -qm "work {key}"',
    ];
    const res = await cli(
      dir,
      ['parallel', 'm1', 'm2', 'x1', 'x2', '--max', '1', '--base', base, '--yes', '--merge', '--', ...work],
      as('agent-a'),
    );
    expect(res.code, res.stdout + res.stderr).toBe(4);
    expect(table(res.stdout)).toEqual({ m1: 'done', m2: 'done', x1: 'done', x2: 'done' });
    expect(res.stdout).toMatch(/x2\s+done\s+0\s+\S+\s+conflict/);
    const files = sh(dir, 'ls-tree', '--name-only', 'main').split('\n');
    expect(files).toEqual(expect.arrayContaining(['m1.txt', 'm2.txt', 'shared.txt']));
    expect(sh(dir, 'show', 'main:shared.txt')).toBe('x1');
    // Merged one after the other in the order the runs finished (here --max 1: m1, m2, x1): each
    // merge starts from where the one before left main.
    const merges = ['m1', 'm2', 'x1'].map((k) => record(dir, `refs/coord/leases/${k}`)!.merge!);
    expect(merges[0]).toMatchObject({ into: 'main', method: 'fast-forward' });
    expect(merges[1]!.before).toBe(merges[0]!.commit);
    expect(merges[2]!.before).toBe(merges[1]!.commit);
    expect(sh(dir, 'rev-parse', 'main')).toBe(merges[2]!.commit);
    expect(record(dir, 'refs/coord/leases/x2')!.merge ?? null).toBeNull();
    expect(existsSync(join(dir, '.coord', 'worktrees', 'x2'))).toBe(true);
  });
});
