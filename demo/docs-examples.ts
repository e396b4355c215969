/**
 * Regenerates the example outputs in docs/*.md: `node --import tsx demo/docs-examples.ts [file…]`
 * runs every `sh runnable` command of each document in a fresh demo project at /tmp/git-coord-docs/shop
 * (see demo/docs-runner.ts) and writes the real output under each command. Exits 1 if a command does
 * not exit as its document says (that document is then left unchanged).
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseCommands, runCommands, withOutputs } from './docs-runner.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'git-coord.mjs');
const WORK = '/tmp/git-coord-docs';
const files =
  process.argv.length > 2
    ? process.argv.slice(2)
    : readdirSync(join(ROOT, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => join('docs', f));

let bad = 0;
for (const file of files) {
  const path = resolve(ROOT, file);
  const markdown = readFileSync(path, 'utf8');
  const commands = parseCommands(markdown);
  if (commands.length === 0) continue;
  rmSync(WORK, { recursive: true, force: true });
  const runs = runCommands(commands, WORK, CLI);
  const wrong = runs.filter((r) => r.code !== r.command.expectedExit);
  bad += wrong.length;
  for (const r of wrong) {
    process.stderr.write(
      `${file}:${r.command.line + 1}: \`${r.command.cmd}\` exited ${r.code}, documented ${r.command.expectedExit}\n${r.output}\n`,
    );
  }
  if (wrong.length > 0) {
    process.stderr.write(`${file}: not rewritten (${wrong.length} commands did not exit as documented)\n`);
    continue;
  }
  writeFileSync(path, withOutputs(markdown, runs));
  process.stdout.write(`${file}: ${runs.length} commands\n`);
}
rmSync(WORK, { recursive: true, force: true });
process.exitCode = bad === 0 ? 0 : 1;
