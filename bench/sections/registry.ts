/**
 * Section (1): 8 concurrent writers × 100 read-modify-write updates of one shared record, as real
 * processes started behind a barrier, same machine, same run. Compares git-coord's CAS ref store with
 * a JSON-file registry written with tmp + rename and with a JSON file guarded by an O_EXCL lock file.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LeaseType } from '../../src/records/schemas.js';
import { readRecord, writeRecord } from '../../src/records/store.js';
import { discoverRepo, git, RefTransaction } from '../../src/refs/index.js';
import { benchLease } from '../lease.js';
import type { BenchSection } from '../table.js';
import type { WriterResult } from '../workers/barrier.js';

const WRITERS = 8;
const UPDATES = 100;
const ROOT = join(import.meta.dirname, '..', '..');
const WORKERS = join(ROOT, 'bench', 'workers');

/** Outcome of one approach: what the writers reported and the wall time from `go` to the last result. */
interface Trial {
  results: WriterResult[];
  wallMs: number;
}

/**
 * Starts `WRITERS` copies of `script` (`node --import tsx`), waits until all print `ready`, sends `go`
 * to all at once and measures until the last one has printed its result.
 */
async function runWriters(script: string, args: string[]): Promise<Trial> {
  const children = Array.from({ length: WRITERS }, () =>
    spawn(process.execPath, ['--import', 'tsx', join(WORKERS, script), ...args], {
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
  const results = await Promise.all(children.map(async (_, i) => JSON.parse(await next(i)) as WriterResult));
  const wallMs = performance.now() - t0;
  await Promise.all(
    children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(0) : c.on('exit', resolve)))),
  );
  return { results, wallMs };
}

/** A table row for one approach. */
function row(approach: string, final: number, trial: Trial): Array<string | number> {
  const attempted = WRITERS * UPDATES;
  return [
    approach,
    WRITERS,
    attempted,
    final,
    attempted - final,
    Math.round(trial.wallMs),
    Math.round(final / (trial.wallMs / 1000)),
  ];
}

async function gitCoordTrial(dir: string): Promise<{ final: number; trial: Trial }> {
  git(['init', '-q', dir], { cwd: ROOT });
  const repo = discoverRepo(dir);
  const ref = 'refs/coord/leases/bench';
  new RefTransaction(repo)
    .create(ref, writeRecord(repo, LeaseType, benchLease('bench', new Date(), 'bench')), 'coord: bench start')
    .commit();
  const trial = await runWriters('coord-writer.ts', [dir, ref, String(UPDATES)]);
  const end = await readRecord(repo, ref, LeaseType);
  return { final: end!.record.revision - 1, trial };
}

async function jsonTrial(dir: string, script: string): Promise<{ final: number; trial: Trial }> {
  const file = join(dir, 'registry.json');
  writeFileSync(file, '{"count":0}\n');
  const trial = await runWriters(script, [file, String(UPDATES)]);
  return { final: (JSON.parse(readFileSync(file, 'utf8')) as { count: number }).count, trial };
}

/** True when the `sqlite3` command-line shell is on PATH. */
function hasSqliteCli(): boolean {
  return spawnSync('sqlite3', ['-version'], { encoding: 'utf8' }).status === 0;
}

async function sqliteTrial(dir: string): Promise<{ final: number; trial: Trial }> {
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

export default async function registry(): Promise<BenchSection> {
  const base = mkdtempSync(join(tmpdir(), 'coord-bench-registry-'));
  try {
    const coord = await gitCoordTrial(join(base, 'repo'));
    const rename = await jsonTrial(mkdtempSync(join(base, 'rename-')), 'json-rename-writer.ts');
    const locked = await jsonTrial(mkdtempSync(join(base, 'lock-')), 'json-lock-writer.ts');
    const sqlite = hasSqliteCli() ? await sqliteTrial(mkdtempSync(join(base, 'sqlite-'))) : null;
    const sqliteVersion = sqlite
      ? execFileSync('sqlite3', ['-version'], { encoding: 'utf8' }).split(' ')[0]
      : null;
    const sum = (t: Trial, f: keyof WriterResult) => t.results.reduce((a, r) => a + r[f], 0);
    return {
      title: `Registry: ${WRITERS} concurrent writers × ${UPDATES} updates — lost updates and throughput`,
      columns: ['approach', 'writers', 'updates attempted', 'final count', 'lost', 'wall ms', 'ops/s'],
      rows: [
        row('git-coord (CAS on refs/coord, git lockfile protocol)', coord.final, coord.trial),
        row('JSON file, tmp + rename', rename.final, rename.trial),
        row('JSON file + O_EXCL lock file', locked.final, locked.trial),
        ...(sqlite
          ? [
              row(
                `SQLite ${sqliteVersion} table (sqlite3 CLI, BEGIN IMMEDIATE, WAL)`,
                sqlite.final,
                sqlite.trial,
              ),
            ]
          : []),
      ],
      notes: [
        'Each writer is a real process (`node --import tsx bench/workers/<writer>.ts`) doing read → +1 → write ' +
          'of one shared counter; all start together behind a stdin barrier, so process start-up is not timed. ' +
          'wall ms = from `go` to the last writer reporting; ops/s = final count / wall time.',
        `git-coord: ${sum(coord.trial, 'retries')} CAS retries, ${sum(coord.trial, 'gaveUp')} updates given up ` +
          '(CasLostError after the 5 s retry budget; counted as lost, never silently).',
        `O_EXCL lock file: ${sum(locked.trial, 'retries')} busy-lock retries (1–2 ms sleeps). ` +
          'Correct while all writers live; a writer killed holding the lock blocks everyone until the file is removed by hand.',
        sqlite
          ? `SQLite: node 20 has no \`node:sqlite\`, so each writer drives the system \`sqlite3\` shell over a pipe ` +
            `(one long-lived shell per writer; ${sum(sqlite.trial, 'gaveUp')} updates failed with SQLITE_BUSY after the 5 s timeout). ` +
            'Single host only: the database cannot be shared through a git remote.'
          : 'SQLite was not measured: node 20 has no `node:sqlite`, no `sqlite3` shell is on PATH, and no packages are installed for the benchmark.',
      ],
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
