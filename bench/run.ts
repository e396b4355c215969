// `npm run bench`: every section in bench/sections/, one run, one table per section, machine named.
// `npm run bench -- <name> …` runs only the named sections (file names without .ts).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { removeScratchDirs } from './scratch.js';
import { type BenchSectionRunner, renderSection } from './table.js';

const dir = join(import.meta.dirname, 'sections');
const only = process.argv.slice(2);
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort()
  .filter((n) => only.length === 0 || only.includes(n));

const gitVersion = execFileSync('git', ['--version'], { encoding: 'utf8' }).trim();
console.log('## git-coord benchmarks\n');
console.log(
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
    `${process.platform} ${process.arch}, node ${process.version}, ${gitVersion}; ${new Date().toISOString()}\n`,
);
try {
  for (const name of names) {
    const mod = (await import(join(dir, `${name}.ts`))) as { default: BenchSectionRunner };
    console.log(renderSection(await mod.default()));
  }
} finally {
  removeScratchDirs(); // at the end, not per section: see bench/scratch.ts
}
