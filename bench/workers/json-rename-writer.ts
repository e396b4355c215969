/**
 * Registry benchmark writer (b), the common approach: `json-rename-writer.ts <file> <n>` reads a JSON
 * registry, increments `count`, writes a temporary file and renames it over the registry, `n` times.
 * Each write is atomic (readers never see a torn file) but nothing stops two writers from reading the
 * same value: the later rename silently drops the other's update.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { runAfterGo } from './barrier.js';

const [file, n] = process.argv.slice(2);
const tmp = `${file}.${process.pid}.tmp`;

await runAfterGo(() => {
  for (let i = 0; i < Number(n); i++) {
    const data = JSON.parse(readFileSync(file!, 'utf8')) as { count: number };
    data.count++;
    writeFileSync(tmp, `${JSON.stringify(data)}\n`);
    renameSync(tmp, file!);
  }
  return { applied: Number(n), gaveUp: 0, retries: 0 };
});
