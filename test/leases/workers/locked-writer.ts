// A long-lived lease writer for the write-lock tests, run as `node --import tsx locked-writer.ts
// <repo> <key> <n> <host>`: prints `ready`, waits for a line on stdin (the start gun), then does `n`
// read-modify-CAS increments of `refs/coord/leases/<key>`'s `revision`, each under the lease's write
// lock (src/leases/write-lock.ts), so every lock after the first is a link to the same owner file.
// Update i runs with fault scope `update-<i>` (GIT_COORD_TEST_FAULT=write-locked:update-3 dies
// holding the lock at the 4th). Prints `ok <CAS retries>` and exits 0; errors go to stderr, exit 1.

import { withWriteLock } from '../../../src/leases/write-lock.js';
import { optimistic } from '../../../src/records/optimistic.js';
import { LeaseType } from '../../../src/records/schemas.js';
import { readRecord, writeRecord } from '../../../src/records/store.js';
import { faultScope } from '../../../src/refs/fault.js';
import { discoverRepo, RefTransaction } from '../../../src/refs/index.js';

const [dir, key, count, host] = process.argv.slice(2);
const repo = discoverRepo(dir);
const ref = `refs/coord/leases/${key}`;
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.destroy();
let retries = 0;
for (let i = 0; i < Number(count); i++) {
  faultScope(`update-${i}`);
  await withWriteLock(repo, key!, host!, () =>
    optimistic(
      async (attempt) => {
        if (attempt > 1) retries++;
        const cur = await readRecord(repo, ref, LeaseType);
        if (!cur) throw new Error(`${ref} does not exist`);
        const next = { ...cur.record, revision: cur.record.revision + 1 };
        new RefTransaction(repo)
          .update(ref, writeRecord(repo, LeaseType, next), cur.oid, `coord: renew ${key} by ${process.pid}`)
          .commit();
      },
      { budgetMs: 60_000 },
    ),
  );
}
process.stdout.write(`ok ${retries}\n`);
