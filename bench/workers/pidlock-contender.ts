/**
 * Crash-recovery benchmark contender: a pid lock file as commonly written. For each line `<lockfile>`
 * on stdin it tries to take the lock: `open(…, 'wx')` and write its pid; if the file exists and names
 * a pid that is no longer alive, the lock is stale: unlink it and retry. An empty or unreadable file is
 * treated as busy (someone is writing it). Having taken the lock it works for 100 ms without releasing
 * it and answers `{"held": true}`; it answers `{"held": false}` if it could not take it within 300 ms.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { sleepSync } from '../../src/refs/lock.js';

/** True when a process with this pid exists (signal 0 probes without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function contend(file: string): boolean {
  const deadline = Date.now() + 300;
  while (Date.now() < deadline) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      sleepSync(100);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let pid = 0;
    try {
      pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    } catch {
      continue;
    }
    if (pid > 0 && !alive(pid)) {
      try {
        unlinkSync(file);
      } catch {
        // someone else removed it first
      }
      continue;
    }
    sleepSync(1);
  }
  return false;
}

process.stdout.write('ready\n');
for await (const file of createInterface({ input: process.stdin })) {
  process.stdout.write(`${JSON.stringify({ held: contend(file) })}\n`);
}
