import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommands, runCommands, withOutputs } from '../../demo/docs-runner.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'git-coord.mjs');
const docs = readdirSync(join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .sort();
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the docs runner', () => {
  const sample = [
    'text',
    '```sh runnable',
    '$ echo one',
    'stale output',
    '$ false   # exit 1',
    '$ printf "a\\n" \\',
    '    && echo b',
    'old',
    '```',
    '```sh',
    '$ not-runnable',
    '```',
  ].join('\n');

  it('finds commands, continuation lines and documented exit codes only in runnable blocks', () => {
    const cmds = parseCommands(sample);
    expect(cmds.map((c) => [c.cmd, c.expectedExit])).toEqual([
      ['echo one', 0],
      ['false   # exit 1', 1],
      ['printf "a\\n" \\\n    && echo b', 0],
    ]);
  });

  it('runs them in one session in a fresh project and rewrites the outputs', () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'coord-docs-test-')));
    dirs.push(dir);
    const runs = runCommands(parseCommands(sample), dir, CLI);
    expect(runs.map((r) => r.code)).toEqual([0, 1, 0]);
    expect(withOutputs(sample, runs)).toContain('$ echo one\none\n$ false   # exit 1\n$ printf');
    expect(withOutputs(sample, runs)).toContain('    && echo b\na\nb\n```');
  });
});

describe('every runnable command in docs/ exits as documented', () => {
  it('docs/ holds runnable examples', () => {
    const total = docs.reduce(
      (n, f) => n + parseCommands(readFileSync(join(ROOT, 'docs', f), 'utf8')).length,
      0,
    );
    expect(total).toBeGreaterThan(0);
  });
  for (const file of docs) {
    const commands = parseCommands(readFileSync(join(ROOT, 'docs', file), 'utf8'));
    if (commands.length === 0) continue;
    it(`docs/${file} (${commands.length} commands)`, () => {
      const dir = realpathSync(mkdtempSync(join(tmpdir(), 'coord-docs-test-')));
      dirs.push(dir);
      const runs = runCommands(commands, dir, CLI);
      const wrong = runs
        .filter((r) => r.code !== r.command.expectedExit)
        .map(
          (r) =>
            `docs/${file}:${r.command.line + 1}: \`${r.command.cmd}\` exited ${r.code}, ` +
            `documented ${r.command.expectedExit}\n${r.output}`,
        );
      expect(wrong).toEqual([]);
    });
  }
});
