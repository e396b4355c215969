/**
 * Registry benchmark writer (d): `sqlite-writer.ts <db> <n>` drives one long-lived `sqlite3` CLI process
 * (the system's; node 20 has no `node:sqlite`) and does `n` application-level read-modify-write
 * increments, each in its own `BEGIN IMMEDIATE` transaction (SELECT, then UPDATE with the value + 1,
 * COMMIT) with a 5 s busy timeout: the usual single-host SQLite lease table.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { runAfterGo } from './barrier.js';

const [db, n] = process.argv.slice(2);
const sqlite = spawn('sqlite3', ['-batch', db!], { stdio: ['pipe', 'pipe', 'pipe'] });
const lines = createInterface({ input: sqlite.stdout })[Symbol.asyncIterator]();
let errors = '';
sqlite.stderr.on('data', (b) => {
  errors += b;
});

/** Sends SQL followed by a marker and returns the output lines printed before the marker. */
async function exec(sql: string): Promise<string[]> {
  sqlite.stdin.write(`${sql}\n.print @@done\n`);
  const out: string[] = [];
  for (;;) {
    const r = await lines.next();
    if (r.done) throw new Error(`sqlite3 exited: ${errors}`);
    if (r.value === '@@done') return out;
    out.push(r.value);
  }
}

await exec('.timeout 5000');
await runAfterGo(async () => {
  let applied = 0;
  let gaveUp = 0;
  for (let i = 0; i < Number(n); i++) {
    const before = errors.length;
    const rows = await exec('BEGIN IMMEDIATE;\nSELECT count FROM registry WHERE id = 1;');
    if (errors.length > before || rows.length !== 1) {
      gaveUp++;
      await exec('ROLLBACK;');
      continue;
    }
    await exec(`UPDATE registry SET count = ${Number(rows[0]) + 1} WHERE id = 1;\nCOMMIT;`);
    if (errors.length > before) gaveUp++;
    else applied++;
  }
  sqlite.stdin.end();
  return { applied, gaveUp, retries: 0 };
});
