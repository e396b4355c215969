/**
 * Registry benchmark writer (a): `node --import tsx coord-writer.ts <repo> <ref> <n> <mode> [killAt]`
 * increments the `revision` of the lease record at `<ref>` `n` times, each as read → new blob → CAS ref
 * update through git-coord's own ref store (src/records `optimistic` + `readRecord` + `writeRecord`,
 * src/refs `RefTransaction`, git's lockfile protocol). `mode` `locked`: each update under the lease's
 * write lock (src/leases/write-lock.ts), as lease writes run; `optimistic`: no write lock, lost CAS
 * retried. With `killAt`, the writer SIGKILLs itself holding the write lock at that update.
 */
import { withWriteLock } from '../../src/leases/write-lock.js';
import { CasLostError, optimistic } from '../../src/records/optimistic.js';
import { LeaseType } from '../../src/records/schemas.js';
import { readRecord, writeRecord } from '../../src/records/store.js';
import { discoverRepo, RefTransaction } from '../../src/refs/index.js';
import { currentHost } from '../../src/refs/repo.js';
import { runAfterGo } from './barrier.js';

const [dir, ref, n, mode, killAt] = process.argv.slice(2);
const repo = discoverRepo(dir);
const host = currentHost();

await runAfterGo(async () => {
  let applied = 0;
  let gaveUp = 0;
  let retries = 0;
  const update = () =>
    optimistic(async (attempt) => {
      if (attempt > 1) retries++;
      const cur = await readRecord(repo, ref!, LeaseType);
      if (!cur) throw new Error(`${ref} is missing`);
      const next = { ...cur.record, revision: cur.record.revision + 1 };
      const oid = writeRecord(repo, LeaseType, next);
      new RefTransaction(repo).update(ref!, oid, cur.oid, `coord: bench ${next.revision}`).commit();
    });
  for (let i = 0; i < Number(n); i++) {
    try {
      if (killAt !== undefined && i === Number(killAt)) {
        await withWriteLock(repo, ref!, host, async () => process.kill(process.pid, 'SIGKILL'));
      }
      await (mode === 'locked' ? withWriteLock(repo, ref!, host, update) : update());
      applied++;
    } catch (err) {
      if (!(err instanceof CasLostError)) throw err;
      gaveUp++;
    }
  }
  return { applied, gaveUp, retries };
});
