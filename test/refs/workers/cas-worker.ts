// A real writer process for the concurrency and crash tests, run as `node --import tsx cas-worker.ts`.
//   increment <repo> <ref> <n>  n optimistic read-modify-CAS increments of the lease's `revision`
//   bump <repo> <ref>           one increment (crash tests set GIT_COORD_TEST_FAULT to die inside it)
//   delete <repo> <ref>         one CAS delete of the ref (takes packed-refs.lock: `packed-locked`)
// Prints `ok <attempts> <ms>` and exits 0; any error goes to stderr with exit 1. With
// CAS_WORKER_BARRIER=1 it first prints `ready` and waits for a line on stdin (the benchmark's start gun).

import { optimistic } from '../../../src/records/optimistic.js';
import { LeaseType } from '../../../src/records/schemas.js';
import { readRecord, writeRecord } from '../../../src/records/store.js';
import { discoverRepo, RefTransaction } from '../../../src/refs/index.js';

const [mode, dir, ref, count] = process.argv.slice(2);
const repo = discoverRepo(dir);
let attempts = 0;

async function bump(): Promise<void> {
  await optimistic(
    async () => {
      attempts++;
      const cur = await readRecord(repo, ref!, LeaseType);
      if (!cur) throw new Error(`${ref} does not exist`);
      const next = { ...cur.record, revision: cur.record.revision + 1 };
      const oid = writeRecord(repo, LeaseType, next);
      new RefTransaction(repo)
        .update(ref!, oid, cur.oid, `coord: renew ${next.key} by worker ${process.pid}`)
        .commit();
    },
    { budgetMs: 60_000 },
  );
}

if (process.env.CAS_WORKER_BARRIER === '1') {
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy();
}
const t0 = performance.now();
if (mode === 'increment') {
  for (let i = 0; i < Number(count); i++) await bump();
} else if (mode === 'bump') {
  await bump();
} else if (mode === 'delete') {
  const cur = await readRecord(repo, ref!, LeaseType);
  new RefTransaction(repo).delete(ref!, cur?.oid, `coord: clear by worker ${process.pid}`).commit();
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(`ok ${attempts} ${(performance.now() - t0).toFixed(1)}\n`);
