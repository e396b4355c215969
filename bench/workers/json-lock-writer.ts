/**
 * Registry benchmark writer (c): `json-lock-writer.ts <file> <n>` takes `<file>.lock` with
 * `open(…, 'wx')` (O_CREAT|O_EXCL), retrying after a 1–2 ms sleep while it exists, then reads the JSON
 * registry, increments `count`, writes tmp + rename, and removes the lock; `n` times. Correct while
 * every writer is alive; a writer killed while holding the lock blocks everyone until a human removes it.
 */
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { sleepSync } from '../../src/refs/lock.js';
import { runAfterGo } from './barrier.js';

const [file, n] = process.argv.slice(2);
const lock = `${file}.lock`;
const tmp = `${file}.${process.pid}.tmp`;

await runAfterGo(() => {
  let retries = 0;
  for (let i = 0; i < Number(n); i++) {
    let fd: number;
    for (;;) {
      try {
        fd = openSync(lock, 'wx');
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        retries++;
        sleepSync(1 + Math.random());
      }
    }
    try {
      const data = JSON.parse(readFileSync(file!, 'utf8')) as { count: number };
      data.count++;
      writeFileSync(tmp, `${JSON.stringify(data)}\n`);
      renameSync(tmp, file!);
    } finally {
      closeSync(fd);
      unlinkSync(lock);
    }
  }
  return { applied: Number(n), gaveUp: 0, retries };
});
