/**
 * Section (1): 8 concurrent writers × 100 read-modify-write updates of one shared record, as real
 * processes started behind a barrier, same machine, same run. Compares git-coord's CAS ref store with
 * a JSON-file registry written with tmp + rename and with a JSON file guarded by an O_EXCL lock file.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LeaseType } from '../../src/records/schemas.js';
import { readRecord, writeRecord } from '../../src/records/store.js';
import { discoverRepo, git, RefTransaction } from '../../src/refs/index.js';
import { benchLease } from '../lease.js';
import { scratchDir } from '../scratch.js';
import { type BenchSection, median } from '../table.js';
import type { WriterResult } from '../workers/barrier.js';

const WRITERS = 8;
const UPDATES = 100;
/** Rounds of the target comparison (git-coord with the write lock, SQLite) per directory, interleaved. */
const ROUNDS = 3;
const ROOT = join(import.meta.dirname, '..', '..');
const WORKERS = join(ROOT, 'bench', 'workers');

/** Outcome of one approach: what the writers reported and the wall time from `go` to the last result. */
interface Trial {
  /** One per writer; `null` for a writer killed with SIGKILL. */
  results: Array<WriterResult | null>;
  wallMs: number;
}

/**
 * Starts `WRITERS` copies of `script` (`node --import tsx`), waits until all print `ready`, sends `go`
 * to all at once and measures until the last one has printed its result.
 */
async function runWriters(
  script: string,
  args: string[],
  lastArgs: (i: number) => string[] = () => [],
): Promise<Trial> {
  const children = Array.from({ length: WRITERS }, (_, i) =>
    spawn(process.execPath, ['--import', 'tsx', join(WORKERS, script), ...args, ...lastArgs(i)], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const lines = children.map((c) => createInterface({ input: c.stdout })[Symbol.asyncIterator]());
  const next = async (i: number) => {
    const r = await lines[i]!.next();
    if (r.done) throw new Error(`${script} writer ${i} exited early`);
    return r.value as string;
  };
  await Promise.all(children.map((_, i) => next(i)));
  const t0 = performance.now();
  for (const c of children) c.stdin.end('go\n');
  // A writer that SIGKILLed itself (the kill trial) reports nothing: its result is null.
  const results = await Promise.all(
    children.map(async (_, i) => {
      try {
        return JSON.parse(await next(i)) as WriterResult;
      } catch (err) {
        if ((await exitSignal(children[i]!)) === 'SIGKILL') return null;
        throw err;
      }
    }),
  );
  const wallMs = performance.now() - t0;
  await Promise.all(children.map(exitSignal));
  return { results, wallMs };
}

function exitSignal(c: ReturnType<typeof spawn>): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) =>
    c.exitCode !== null || c.signalCode !== null
      ? resolve(c.signalCode)
      : c.on('exit', (_code, sig) => resolve(sig)),
  );
}

/** One trial's outcome: the final count and the trial. */
interface Outcome {
  final: number;
  trial: Trial;
}

/**
 * A table row for one approach from its trials (one, or several rounds): counts summed, wall time
 * and ops/s the median trial's.
 */
function row(
  approach: string,
  runs: Outcome[],
  target = '—',
  verdict = '—',
  attemptedPerRun = WRITERS * UPDATES,
): Array<string | number> {
  const attempted = runs.length * attemptedPerRun;
  const final = runs.reduce((a, r) => a + r.final, 0);
  return [
    approach,
    WRITERS,
    attempted,
    final,
    attempted - final,
    Math.round(median(runs.map((r) => r.trial.wallMs))),
    median(runs.map((r) => opsPerSecond(r.final, r.trial))),
    target,
    verdict,
  ];
}

const opsPerSecond = (final: number, trial: Trial) => Math.round(final / (trial.wallMs / 1000));

/** The killed writer of the kill trial stops at this update (it SIGKILLs itself holding the write lock). */
const KILL_AT = 50;

/**
 * What one ref update costs the file system alone, as git's protocol does it: create `<ref>.lock`
 * (O_EXCL), write 41 bytes, close, rename it over the ref (which frees the old file's inode and block).
 * Median and mean in µs over 500 updates of one file in a fresh directory under `dir`.
 */
function refUpdateFloor(dir: string): { median: number; mean: number } {
  const at = mkdtempSync(join(dir, 'floor-'));
  const ref = join(at, 'ref');
  const line = Buffer.from(`${'0'.repeat(40)}\n`);
  writeFileSync(ref, line);
  const times: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    const fd = openSync(`${ref}.lock`, 'wx');
    writeSync(fd, line);
    closeSync(fd);
    renameSync(`${ref}.lock`, ref);
    times.push((performance.now() - t0) * 1000);
  }
  rmSync(at, { recursive: true, force: true });
  return { median: median(times), mean: times.reduce((x, y) => x + y, 0) / times.length };
}

async function gitCoordTrial(dir: string, mode: 'locked' | 'optimistic', kill = false): Promise<Outcome> {
  git(['init', '-q', dir], { cwd: ROOT });
  const repo = discoverRepo(dir);
  const ref = 'refs/coord/leases/bench';
  new RefTransaction(repo)
    .create(ref, writeRecord(repo, LeaseType, benchLease('bench', new Date(), 'bench')), 'coord: bench start')
    .commit();
  const trial = await runWriters('coord-writer.ts', [dir, ref, String(UPDATES), mode], (i) =>
    kill && i === 0 ? [String(KILL_AT)] : [],
  );
  const end = await readRecord(repo, ref, LeaseType);
  return { final: end!.record.revision - 1, trial };
}

async function jsonTrial(dir: string, script: string): Promise<Outcome> {
  const file = join(dir, 'registry.json');
  writeFileSync(file, '{"count":0}\n');
  const trial = await runWriters(script, [file, String(UPDATES)]);
  return { final: (JSON.parse(readFileSync(file, 'utf8')) as { count: number }).count, trial };
}

/** True when the `sqlite3` command-line shell is on PATH. */
function hasSqliteCli(): boolean {
  return spawnSync('sqlite3', ['-version'], { encoding: 'utf8' }).status === 0;
}

async function sqliteTrial(dir: string): Promise<Outcome> {
  const db = join(dir, 'registry.db');
  const setup =
    'PRAGMA journal_mode=WAL; CREATE TABLE registry (id INTEGER PRIMARY KEY, count INTEGER NOT NULL); INSERT INTO registry VALUES (1, 0);';
  execFileSync('sqlite3', [db, setup], { stdio: 'ignore' });
  const trial = await runWriters('sqlite-writer.ts', [db, String(UPDATES)]);
  const final = Number(
    execFileSync('sqlite3', [db, 'SELECT count FROM registry WHERE id = 1;'], { encoding: 'utf8' }).trim(),
  );
  return { final, trial };
}

/** The target comparison: `ROUNDS` interleaved rounds of git-coord (write lock + CAS) and SQLite, each in a fresh directory under `base`. */
async function targetRounds(base: string, sqlite: boolean) {
  const coord: Outcome[] = [];
  const lite: Outcome[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    coord.push(await gitCoordTrial(join(base, `repo-${r}`), 'locked'));
    if (sqlite) lite.push(await sqliteTrial(mkdtempSync(join(base, 'sqlite-'))));
  }
  return { coord, lite };
}

export default async function registry(): Promise<BenchSection> {
  const haveSqlite = hasSqliteCli();
  const sqliteVersion = haveSqlite
    ? execFileSync('sqlite3', ['-version'], { encoding: 'utf8' }).split(' ')[0]
    : null;
  const base = scratchDir('registry');
  const floor = refUpdateFloor(base);
  const target = await targetRounds(base, haveSqlite);
  const optimisticOnly = await gitCoordTrial(join(base, 'repo-optimistic'), 'optimistic');
  const killed = await gitCoordTrial(join(base, 'repo-kill'), 'locked', true);
  const rename = await jsonTrial(mkdtempSync(join(base, 'rename-')), 'json-rename-writer.ts');
  const locked = await jsonTrial(mkdtempSync(join(base, 'lock-')), 'json-lock-writer.ts');
  const sum = (t: Trial, f: keyof WriterResult) => t.results.reduce((a, r) => a + (r?.[f] ?? 0), 0);
  const killAttempted = (WRITERS - 1) * UPDATES + KILL_AT;
  // Each round's git-coord trial is compared with the SQLite trial run right after it (same machine
  // state); the verdict takes the median of those ratios.
  const ratio = median(
    target.coord.map(
      (c, r) => opsPerSecond(c.final, c.trial) / opsPerSecond(target.lite[r]!.final, target.lite[r]!.trial),
    ),
  );
  const coordLost = target.coord.reduce((a, r) => a + WRITERS * UPDATES - r.final, 0);
  const allCoord = target.coord.map((r) => r.trial);
  const allLite = target.lite.map((r) => r.trial);
  const total = (trials: Trial[], f: keyof WriterResult) => trials.reduce((a, t) => a + sum(t, f), 0);
  return {
    title: `Registry: ${WRITERS} concurrent writers × ${UPDATES} updates — lost updates and throughput`,
    columns: [
      'approach',
      'writers',
      'updates attempted',
      'final count',
      'lost',
      'wall ms',
      'ops/s',
      'target',
      'verdict',
    ],
    rows: [
      row(
        `git-coord: lease write lock, then CAS on refs/coord (as lease writes run); median of ${ROUNDS} rounds`,
        target.coord,
        '>= 0.5× SQLite ops/s, 0 lost',
        haveSqlite
          ? `${ratio >= 0.5 && coordLost === 0 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}×, ${coordLost} lost)`
          : 'not measured (no sqlite3)',
      ),
      row('git-coord: CAS only, lost CAS retried (no write lock)', [optimisticOnly]),
      row(
        `git-coord: write lock + CAS, writer 1 SIGKILLed holding the write lock at update ${KILL_AT + 1}`,
        [killed],
        '0 lost, nobody stuck',
        killed.final === killAttempted ? 'met' : 'NOT met',
        killAttempted,
      ),
      row('JSON file, tmp + rename', [rename]),
      row('JSON file + O_EXCL lock file', [locked]),
      ...(haveSqlite
        ? [
            row(
              `SQLite ${sqliteVersion} table (sqlite3 CLI, BEGIN IMMEDIATE, WAL); median of ${ROUNDS} rounds`,
              target.lite,
            ),
          ]
        : []),
    ],
    notes: [
      'Each writer is a real process (`node --import tsx bench/workers/<writer>.ts`) doing read → +1 → write ' +
        'of one shared counter; all start together behind a stdin barrier, so process start-up is not timed. ' +
        'wall ms = from `go` to the last writer reporting; ops/s = final count / wall time.',
      `The target comparison runs ${ROUNDS} rounds, git-coord and SQLite interleaved, each in a fresh repository or ` +
        "database; the rows show the median round (ops/s) and all rounds' counts, the verdict the median of the rounds' ratios. One git-coord update needs two new " +
        "files (the object's temp file, the ref's `.lock`) and frees one (the ref's old file, replaced by rename); SQLite's " +
        `WAL needs none. That part alone, measured here (500 × O_EXCL create, write, rename over a ref): median ` +
        `${floor.median.toFixed(0)} µs, mean ${floor.mean.toFixed(0)} µs a ref update.`,
      `git-coord with the write lock: ${total(allCoord, 'retries')} CAS retries over all rounds; without it: ` +
        `${sum(optimisticOnly.trial, 'retries')}; updates given up: ${total(allCoord, 'gaveUp')} and ` +
        `${sum(optimisticOnly.trial, 'gaveUp')} (CasLostError after the 5 s retry budget; counted as lost, never silently).`,
      `Kill trial: writer 1 applies ${KILL_AT} updates, then kills itself with SIGKILL holding the lease's write lock; ` +
        `the next writer finds its pid gone and breaks the lock at once (src/leases/write-lock.ts), so the other ` +
        `${WRITERS - 1} writers finish all their updates: updates attempted = ${killAttempted}.`,
      `O_EXCL lock file: ${sum(locked.trial, 'retries')} busy-lock retries (1–2 ms sleeps). ` +
        'Correct while all writers live; a writer killed holding the lock blocks everyone until the file is removed by hand.',
      haveSqlite
        ? `SQLite: node 20 has no \`node:sqlite\`, so each writer drives the system \`sqlite3\` shell over a pipe ` +
          `(one long-lived shell per writer; ${total(allLite, 'gaveUp')} updates failed with SQLITE_BUSY after the 5 s timeout). ` +
          'Single host only: the database cannot be shared through a git remote.'
        : 'SQLite was not measured: node 20 has no `node:sqlite`, no `sqlite3` shell is on PATH, and no packages are installed for the benchmark.',
    ],
  };
}
