// Placeholder until the demo issue lands: proves the build runs against a fresh repository.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'coord-demo-'));
execFileSync('git', ['init', '-q', dir]);
console.log(
  execFileSync('node', [join(process.cwd(), 'dist/git-coord.mjs'), '--help'], { cwd: dir, encoding: 'utf8' }),
);
rmSync(dir, { recursive: true, force: true });
