/**
 * Section (4): wall time and peak memory of a cold `git-coord list --json` with 10 / 1,000 / 10,000
 * open leases (real process, median of several runs; peak RSS from GNU time `%M`), and at 10,000 the
 * read commands that list every lease (`list --json`, `list`, `report`, `doctor --json`) beside
 * `git for-each-ref --format='%(objectname) %(contents)' refs/coord/leases` on the same repository,
 * runs interleaved: loose (as claims leave them) and after `git gc` (packed refs, one pack).
 * Targets (issue 12): each <= 1.5x that for-each-ref and <= 64 MiB peak RSS.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LeaseType } from '../../src/records/schemas.js';
import { writeRecord } from '../../src/records/store.js';
import { discoverRepo, git, RefTransaction } from '../../src/refs/index.js';
import { benchLease } from '../lease.js';
import { scratchDir } from '../scratch.js';
import { type BenchSection, percentile } from '../table.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'git-coord.cjs');
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

interface Measured {
  ms: number;
  rssKiB: number;
  stdout: string;
}

/**
 * Runs each command `RUNS` times under GNU time, round-robin (machine noise hits all alike); returns
 * per command the median wall ms, max peak RSS (KiB) and the last stdout. `ok` lists accepted exits.
 */
function measureAll(cmds: Array<{ args: string[]; ok?: number[] }>, cwd: string): Measured[] {
  const times = cmds.map(() => [] as number[]);
  const out = cmds.map(() => ({ ms: 0, rssKiB: 0, stdout: '' }));
  for (let i = 0; i < RUNS; i++) {
    cmds.forEach((c, j) => {
      const t0 = performance.now();
      const res = spawnSync('/usr/bin/time', ['-f', '%M', ...c.args], {
        cwd,
        encoding: 'utf8',
        maxBuffer: 1 << 30,
      });
      times[j]!.push(performance.now() - t0);
      if (!(c.ok ?? [0]).includes(res.status ?? -1))
        throw new Error(`${c.args.join(' ')} exited ${res.status}: ${res.stderr}`);
      out[j]!.rssKiB = Math.max(out[j]!.rssKiB, Number(res.stderr.trim().split('\n').pop()));
      out[j]!.stdout = res.stdout;
    });
  }
  return out.map((o, j) => ({ ...o, ms: percentile(times[j]!, 50) }));
}

function measure(args: string[], cwd: string): Measured {
  return measureAll([{ args }], cwd)[0]!;
}

/** A table row: command, leases, median ms, peak RSS MiB, output KiB, ratio, target, verdict. */
function row(label: string, n: number, r: Measured, ref?: Measured): Array<string | number> {
  const mib = r.rssKiB / 1024;
  const ratio = ref ? r.ms / ref.ms : null;
  return [
    label,
    n,
    r.ms,
    mib.toFixed(1),
    (r.stdout.length / 1024).toFixed(0),
    ratio === null ? '—' : `${ratio.toFixed(2)}x`,
    ref ? '<= 1.5x for-each-ref, <= 64 MiB' : '—',
    ratio === null
      ? '—'
      : ratio <= 1.5 && mib <= 64
        ? 'met'
        : `missed (${[ratio > 1.5 ? 'time' : '', mib > 64 ? 'memory' : ''].filter(Boolean).join(', ')})`,
  ];
}

export default async function list(): Promise<BenchSection> {
  if (!existsSync('/usr/bin/time')) throw new Error('bench list needs GNU time at /usr/bin/time');
  const base = scratchDir('list');
  const rows: Array<Array<string | number>> = [];
  const bare = measure([process.execPath, '-e', '0'], base);
  rows.push(['`node -e 0` (reference)', '—', bare.ms, (bare.rssKiB / 1024).toFixed(1), '—', '—', '—', '—']);
  for (const n of SIZES) {
    const dir = seed(base, n);
    const r = measure([process.execPath, CLI, 'list', '--json'], dir);
    const listed = (JSON.parse(r.stdout) as { leases: unknown[] }).leases.length;
    if (listed !== n) throw new Error(`list --json returned ${listed} leases, expected ${n}`);
    if (n !== SIZES.at(-1)) {
      rows.push(row('`git-coord list --json`', n, r));
      continue;
    }
    for (const layout of ['loose', 'after `git gc`']) {
      if (layout !== 'loose') git(['gc', '-q'], { cwd: dir });
      const [ref, ...cmds] = measureAll(
        [
          { args: ['git', 'for-each-ref', '--format=%(objectname) %(contents)', 'refs/coord/leases'] },
          { args: [process.execPath, CLI, 'list', '--json'] },
          { args: [process.execPath, CLI, 'list'] },
          { args: [process.execPath, CLI, 'report'], ok: [0, 4] },
          { args: [process.execPath, CLI, 'doctor', '--json'], ok: [0, 1] },
        ],
        dir,
      );
      const names = ['`list --json`', '`list`', '`report`', '`doctor --json`'];
      rows.push(row(`\`git for-each-ref … %(contents)\` (reference), ${layout}`, n, ref!));
      for (const [i, c] of cmds.entries())
        rows.push(row(`\`git-coord ${names[i]!.slice(1)}, ${layout}`, n, c, ref));
    }
  }
  return {
    title: '`list --json` at 10 / 1,000 / 10,000 leases: wall time and peak memory',
    columns: [
      'command',
      'leases',
      'median wall ms',
      'peak RSS MiB',
      'stdout KiB',
      'ratio',
      'target',
      'verdict',
    ],
    rows,
    notes: [
      `Cold process each time, median of ${RUNS} runs (at 10,000 the commands interleaved round-robin); ` +
        'peak RSS = max of GNU time %M over the runs. Ratio = median wall time over the for-each-ref reference ' +
        'of the same layout.',
      'Leases are open records with no pid (liveness by TTL), stored as loose refs pointing at loose blobs, ' +
        'as claims leave them before any `git pack-refs` / `git gc`; the `after git gc` rows pack refs and objects.',
    ],
  };
}
