/**
 * The ref store, side by side with canonical git doing the same work, same machine, same run:
 * CAS latency uncontended (in-process RefTransaction vs spawning `git update-ref <ref> <new> <old>`),
 * throughput of 8 contending processes doing read-modify-CAS increments of one ref (git-coord's
 * optimistic record update vs 8 bash loops of `git rev-parse` + `git update-ref <ref> <new> <old>`),
 * and listing 1,000 / 10,000 refs, loose and packed (listRefs vs `git for-each-ref`).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LeaseType } from '../../src/records/schemas.js';
import { readRecord, writeRecord } from '../../src/records/store.js';
import {
  discoverRepo,
  listRefs,
  RefTransaction,
  type Repo,
  readObject,
  readRef,
  writeBlob,
} from '../../src/refs/index.js';
import { sampleLease } from '../../test/records/sample.js';
import { scratchDir } from '../scratch.js';
import { type BenchSection, median, percentile } from '../table.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CAS_WORKER = join(ROOT, 'test', 'refs', 'workers', 'cas-worker.ts');
const CAS_ITERATIONS = 1000;
const GIT_ITERATIONS = 200;
const PROCS = 8;
const PER_PROC = 100;
const ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'b@x',
};

function gitIn(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', args, { cwd, env: ENV, input, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
}

function freshRepo(): { dir: string; repo: Repo } {
  const dir = scratchDir('refs');
  gitIn(dir, ['init', '-q', '-b', 'main']);
  gitIn(dir, ['commit', '-q', '--allow-empty', '-m', 'init']);
  return { dir, repo: discoverRepo(dir) };
}

const ms = (t0: number) => performance.now() - t0;

/** Uncontended CAS: `n` alternating updates of one ref; per-update latencies in ms. */
function casLatency(repo: Repo, dir: string): { ours: number[]; git: number[] } {
  const ref = 'refs/coord/leases/bench';
  const a = writeBlob(repo, Buffer.from('{"v":"a"}\n'));
  const b = writeBlob(repo, Buffer.from('{"v":"b"}\n'));
  new RefTransaction(repo).create(ref, a, 'coord: claim bench').commit();
  const ours: number[] = [];
  let cur = a;
  for (let i = 0; i < CAS_ITERATIONS; i++) {
    const next = cur === a ? b : a;
    const t0 = performance.now();
    new RefTransaction(repo).update(ref, next, cur, 'coord: renew bench').commit();
    ours.push(ms(t0));
    cur = next;
  }
  const git: number[] = [];
  for (let i = 0; i < GIT_ITERATIONS; i++) {
    const next = cur === a ? b : a;
    const t0 = performance.now();
    const r = spawnSync(
      'git',
      ['-c', 'core.warnAmbiguousRefs=false', 'update-ref', '-m', 'renew', ref, next, cur],
      {
        cwd: dir,
        env: ENV,
      },
    );
    git.push(ms(t0));
    if (r.status !== 0) throw new Error(`git update-ref failed: ${r.stderr}`);
    cur = next;
  }
  return { ours, git };
}

/** Full optimistic record update, uncontended: readRecord + new blob + CAS, as every CLI write does. */
async function recordUpdateLatency(repo: Repo): Promise<number[]> {
  const ref = 'refs/coord/leases/record';
  new RefTransaction(repo).create(ref, writeRecord(repo, LeaseType, sampleLease({ key: 'record' }))).commit();
  const out: number[] = [];
  for (let i = 0; i < CAS_ITERATIONS; i++) {
    const t0 = performance.now();
    const cur = (await readRecord(repo, ref, LeaseType))!;
    const oid = writeRecord(repo, LeaseType, { ...cur.record, revision: cur.record.revision + 1 });
    new RefTransaction(repo).update(ref, oid, cur.oid, 'coord: renew record').commit();
    out.push(ms(t0));
  }
  return out;
}

/** Starts `PROCS` processes, waits for all to print `ready`, fires them at once; wall ms to the last. */
async function race(cmd: string, args: string[], cwd: string): Promise<{ wallMs: number; lines: string[] }> {
  const kids = Array.from({ length: PROCS }, () =>
    spawn(cmd, args, { cwd, env: { ...ENV, CAS_WORKER_BARRIER: '1' }, stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const its = kids.map((k) => createInterface({ input: k.stdout })[Symbol.asyncIterator]());
  const next = async (i: number) => {
    const r = await its[i]!.next();
    if (r.done) throw new Error(`${cmd} process ${i} exited early`);
    return r.value as string;
  };
  await Promise.all(kids.map((_, i) => next(i)));
  const t0 = performance.now();
  for (const k of kids) k.stdin.end('go\n');
  const lines = await Promise.all(kids.map((_, i) => next(i)));
  return { wallMs: ms(t0), lines };
}

/** 8 contending processes, git-coord: optimistic read-modify-CAS of one lease's revision. */
/** One contention trial's outcome. */
interface Contended {
  opsPerSec: number;
  lost: number;
  attempts: number;
  wallMs: number;
}

async function contendedOurs(): Promise<Contended> {
  const { dir, repo } = freshRepo();
  const ref = 'refs/coord/leases/counter';
  new RefTransaction(repo)
    .create(ref, writeRecord(repo, LeaseType, sampleLease({ key: 'counter' })))
    .commit();
  const { wallMs, lines } = await race(
    process.execPath,
    ['--import', 'tsx', CAS_WORKER, 'increment', dir, ref, String(PER_PROC)],
    ROOT,
  );
  const attempts = lines.reduce((n, l) => n + Number(l.split(' ')[1]), 0);
  const applied = (await readRecord(repo, ref, LeaseType))!.record.revision - 1;
  const total = PROCS * PER_PROC;
  return { opsPerSec: (applied / wallMs) * 1000, lost: total - applied, attempts, wallMs };
}

/**
 * 8 contending processes, canonical git: each a bash loop of `cur=$(git rev-parse ref)` and
 * `git update-ref ref <next> <cur>` until it has made 100 increments; values are a chain of 801
 * pre-written blobs, so the final value tells how many increments really landed.
 */
async function contendedGit(): Promise<Contended> {
  const { dir, repo } = freshRepo();
  const ref = 'refs/coord/counter';
  const total = PROCS * PER_PROC;
  const chain = Array.from({ length: total + 1 }, (_, i) => writeBlob(repo, Buffer.from(`{"n":${i}}\n`)));
  const index = new Map(chain.map((oid, i) => [oid, i]));
  const map = `${dir}.map`;
  writeFileSync(
    map,
    `${chain
      .slice(0, -1)
      .map((o, i) => `${o} ${chain[i + 1]}`)
      .join('\n')}\n`,
  );
  new RefTransaction(repo).create(ref, chain[0]!).commit();
  const script = `declare -A NEXT; while read a b; do NEXT[$a]=$b; done < "${map}"
echo ready; read go; done_=0; tries=0
while [ $done_ -lt ${PER_PROC} ]; do
  tries=$((tries+1)); cur=$(git rev-parse ${ref})
  if git -c core.warnAmbiguousRefs=false update-ref ${ref} \${NEXT[$cur]} $cur 2>/dev/null; then done_=$((done_+1)); fi
done
echo "ok $tries"`;
  const { wallMs, lines } = await race('bash', ['-c', script], dir);
  rmSync(map, { force: true });
  const attempts = lines.reduce((n, l) => n + Number(l.split(' ')[1]), 0);
  const applied = index.get(readRef(repo, ref)!)!;
  return { opsPerSec: (applied / wallMs) * 1000, lost: total - applied, attempts, wallMs };
}

/** Listing `n` refs under refs/coord/, loose then packed: median ms of in-process vs git. */
function listing(n: number): Array<{ label: string; ours: number; git: number }> {
  const { dir, repo } = freshRepo();
  const oid = writeBlob(repo, Buffer.from('{}\n'));
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`create refs/coord/leases/k${String(i).padStart(5, '0')} ${oid}`);
  gitIn(dir, ['update-ref', '--stdin'], `${lines.join('\n')}\n`);
  const rows: Array<{ label: string; ours: number; git: number }> = [];
  for (const layout of ['loose', 'packed']) {
    if (layout === 'packed') gitIn(dir, ['pack-refs', '--all']);
    const runs = n >= 10_000 ? 15 : 40;
    const ours: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const got = listRefs(repo, 'refs/coord/');
      ours.push(ms(t0));
      if (got.length !== n) throw new Error(`listRefs found ${got.length} of ${n}`);
    }
    const git: number[] = [];
    for (let i = 0; i < Math.min(runs, 15); i++) {
      const t0 = performance.now();
      const out = gitIn(dir, ['for-each-ref', '--format=%(objectname) %(refname)', 'refs/coord/']);
      git.push(ms(t0));
      if (out.split('\n').length !== n) throw new Error('git for-each-ref count differs');
    }
    rows.push({
      label: `list ${n.toLocaleString('en')} refs, ${layout}`,
      ours: median(ours),
      git: median(git),
    });
  }
  return rows;
}

/**
 * Reading one packed record from a repository whose pack also holds 100 MB of other data (as any real
 * repository after `git gc`): readObject vs `git cat-file -p` vs isomorphic-git's readObject with a
 * fresh cache (what a new CLI or hook process would pay).
 */
async function packedRead(): Promise<{ ours: number; git: number; iso: number }> {
  const { dir, repo } = freshRepo();
  for (let i = 0; i < 100; i++) writeFileSync(join(dir, `blob${i}`), randomBytes(1024 * 1024));
  gitIn(dir, ['add', '.']);
  gitIn(dir, ['commit', '-q', '-m', 'payload']);
  const oid = writeRecord(repo, LeaseType, sampleLease());
  new RefTransaction(repo).create('refs/coord/leases/65', oid).commit();
  gitIn(dir, ['config', 'gc.refs/coord/*.reflogExpireUnreachable', 'never']); // see git coord doctor
  gitIn(dir, ['gc', '-q', '--prune=now']);
  const ours: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    await readObject(repo, oid);
    ours.push(ms(t0));
  }
  const git: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    gitIn(dir, ['cat-file', '-p', oid]);
    git.push(ms(t0));
  }
  const iso = await import('isomorphic-git');
  const fs = await import('node:fs');
  const isoMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await iso.readObject({ fs, gitdir: repo.commonDir, oid, format: 'content', cache: {} });
    isoMs.push(ms(t0));
  }
  return { ours: median(ours), git: median(git), iso: median(isoMs) };
}

export default async function refs(): Promise<BenchSection> {
  const { dir, repo } = freshRepo();
  const cas = casLatency(repo, dir);
  const record = await recordUpdateLatency(repo);
  const ours = await contendedOurs();
  const theirs = await contendedGit();
  const list = [...listing(1000), ...listing(10_000)];
  const packed = await packedRead();
  const casP50 = median(cas.ours);
  const packed10k = list.find((r) => r.label === 'list 10,000 refs, packed')!.ours;
  const na = '–';
  return {
    title: 'Ref store: git-coord in-process vs canonical git, same work',
    columns: ['measure', 'git-coord (in-process)', 'git (spawned)', 'unit'],
    rows: [
      [
        `CAS update of one ref, uncontended, p50 (${CAS_ITERATIONS} / ${GIT_ITERATIONS} runs)`,
        casP50,
        median(cas.git),
        'ms',
      ],
      ['CAS update of one ref, uncontended, p99', percentile(cas.ours, 99), percentile(cas.git, 99), 'ms'],
      ['record update (readRecord + new blob + CAS), p50', median(record), na, 'ms'],
      ['record update (readRecord + new blob + CAS), p99', percentile(record, 99), na, 'ms'],
      [
        `${PROCS} processes x ${PER_PROC} read-modify-CAS increments: throughput`,
        ours.opsPerSec,
        theirs.opsPerSec,
        'ops/s',
      ],
      [`${PROCS} x ${PER_PROC}: lost updates (of ${PROCS * PER_PROC})`, ours.lost, theirs.lost, 'updates'],
      [`${PROCS} x ${PER_PROC}: attempts (CAS retries included)`, ours.attempts, theirs.attempts, 'attempts'],
      [`${PROCS} x ${PER_PROC}: wall time from a common start`, ours.wallMs, theirs.wallMs, 'ms'],
      ...list.map((r) => [`${r.label}, p50`, r.ours, r.git, 'ms']),
      ['read one packed record next to 100 MB of other packed data, p50', packed.ours, packed.git, 'ms'],
      ['  same with isomorphic-git readObject (fresh cache, as a new process)', packed.iso, na, 'ms'],
    ],
    notes: [
      `target in-process CAS p50 <= 1 ms: ${casP50 <= 1 ? 'met' : 'MISSED'} (${casP50.toFixed(2)} ms)`,
      `target listing 10,000 packed refs <= 50 ms: ${packed10k <= 50 ? 'met' : 'MISSED'} (${packed10k.toFixed(1)} ms)`,
      'git-coord contenders: `node --import tsx` processes running optimistic() + readRecord + RefTransaction; ' +
        'git contenders: bash loops of `git rev-parse` + `git update-ref <ref> <new> <old>`; both started behind a barrier',
      'listing: listRefs(repo, "refs/coord/") vs `git for-each-ref --format="%(objectname) %(refname)" refs/coord/`, ' +
        'refs created with one `git update-ref --stdin`, packed with `git pack-refs --all`',
    ],
  };
}
