/**
 * Registry benchmark writer (a): `node --import tsx coord-writer.ts <repo> <ref> <n>` increments the
 * `revision` of the lease record at `<ref>` `n` times, each as read → new blob → CAS ref update
 * through git-coord's own ref store (src/records `optimistic` + `readRecord` + `writeRecord`, src/refs
 * `RefTransaction`, git's lockfile protocol).
 */
import { CasLostError, optimistic } from '../../src/records/optimistic.js';
import { LeaseType } from '../../src/records/schemas.js';
import { readRecord, writeRecord } from '../../src/records/store.js';
import { discoverRepo, RefTransaction } from '../../src/refs/index.js';
import { runAfterGo } from './barrier.js';

const [dir, ref, n] = process.argv.slice(2);
const repo = discoverRepo(dir);

await runAfterGo(async () => {
  let applied = 0;
  let gaveUp = 0;
  let retries = 0;
  for (let i = 0; i < Number(n); i++) {
    try {
      await optimistic(async (attempt) => {
        if (attempt > 1) retries++;
        const cur = await readRecord(repo, ref!, LeaseType);
        if (!cur) throw new Error(`${ref} is missing`);
        const next = { ...cur.record, revision: cur.record.revision + 1 };
        const oid = writeRecord(repo, LeaseType, next);
        new RefTransaction(repo).update(ref!, oid, cur.oid, `coord: bench ${next.revision}`).commit();
      });
      applied++;
    } catch (err) {
      if (!(err instanceof CasLostError)) throw err;
      gaveUp++;
    }
  }
  return { applied, gaveUp, retries };
});
