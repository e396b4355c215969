/**
 * Section (4): wall time and peak memory of a cold `git-coord list --json` with 10 / 1,000 / 10,000
 * open leases (real process, median of several runs; peak RSS from GNU time `%M`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaseType } from '../../src/records/schemas.js';
import { writeRecord } from '../../src/records/store.js';
import { discoverRepo, git, RefTransaction } from '../../src/refs/index.js';
import { benchLease } from '../lease.js';
import { type BenchSection, percentile } from '../table.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'git-coord.mjs');
const SIZES = [10, 1_000, 10_000];
const RUNS = 5;
/** Refs created per transaction while seeding (keeps open lock files well under the fd limit). */
const BATCH = 500;

/** Creates a repository holding `n` lease records (loose refs, loose blobs) and returns its path. */
function seed(base: string, n: number): string {
  const dir = join(base, `repo-${n}`);
  git(['init', '-q', dir], { cwd: base });
  const repo = discoverRepo(dir);
  const at = new Date().toISOString();
  for (let start = 0; start < n; start += BATCH) {
    const tx = new RefTransaction(repo);
    for (let i = start; i < Math.min(n, start + BATCH); i++) {
      const key = `p${String(i).padStart(5, '0')}`;
      tx.create(
        `refs/coord/leases/${key}`,
        writeRecord(repo, LeaseType, benchLease(key, new Date(at))),
        `coord: claim ${key}`,
      );
    }
    tx.commit();
  }
  return dir;
}

/** Runs `args` under GNU time `RUNS` times; returns median wall ms, max peak RSS (KiB) and the last stdout. */
function measure(args: string[], cwd: string): { ms: number; rssKiB: number; stdout: string } {
  const times: number[] = [];
  let rss = 0;
  let stdout = '';
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const res = spawnSync('/usr/bin/time', ['-f', '%M', ...args], {
      cwd,
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    times.push(performance.now() - t0);
    if (res.status !== 0) throw new Error(`${args.join(' ')} exited ${res.status}: ${res.stderr}`);
    rss = Math.max(rss, Number(res.stderr.trim().split('\n').pop()));
    stdout = res.stdout;
  }
  return { ms: percentile(times, 50), rssKiB: rss, stdout };
}

/** A table row: command, leases, median ms, peak RSS MiB, output KiB. */
function row(
  label: string,
  n: number,
  r: { ms: number; rssKiB: number; stdout: string },
): Array<string | number> {
  return [label, n, r.ms, (r.rssKiB / 1024).toFixed(1), (r.stdout.length / 1024).toFixed(0)];
}

export default async function list(): Promise<BenchSection> {
  if (!existsSync('/usr/bin/time')) throw new Error('bench list needs GNU time at /usr/bin/time');
  const base = mkdtempSync(join(tmpdir(), 'coord-bench-list-'));
  try {
    const rows: Array<Array<string | number>> = [];
    const bare = measure([process.execPath, '-e', '0'], base);
    rows.push(['`node -e 0` (reference)', '—', bare.ms, (bare.rssKiB / 1024).toFixed(1), '—']);
    for (const n of SIZES) {
      const dir = seed(base, n);
      const r = measure([process.execPath, CLI, 'list', '--json'], dir);
      const listed = (JSON.parse(r.stdout) as { leases: unknown[] }).leases.length;
      if (listed !== n) throw new Error(`list --json returned ${listed} leases, expected ${n}`);
      rows.push(row('`git-coord list --json`', n, r));
      if (n === SIZES.at(-1)) {
        git(['pack-refs', '--all'], { cwd: dir });
        rows.push(
          row('… after `git pack-refs --all`', n, measure([process.execPath, CLI, 'list', '--json'], dir)),
        );
      }
    }
    return {
      title: '`list --json` at 10 / 1,000 / 10,000 leases: wall time and peak memory',
      columns: ['command', 'leases', 'median wall ms', 'peak RSS MiB', 'JSON KiB'],
      rows,
      notes: [
        `Cold process each time, median of ${RUNS} runs; peak RSS = max of GNU time %M over the runs.`,
        'Leases are open records with no pid (liveness by TTL), stored as loose refs pointing at loose blobs, ' +
          'as claims leave them before any `git pack-refs` / `git gc`; the last row packs the refs (the blobs stay loose).',
      ],
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
