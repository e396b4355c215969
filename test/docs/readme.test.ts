import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type DocCommand, runCommands } from '../../demo/docs-runner.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'git-coord.mjs');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** One Quickstart line: the command as written and the exit code its `# exit N` comment states. */
interface QuickstartLine {
  cmd: string;
  exit: number;
}

/** Every command line of the README's Quickstart block, in order, with comments stripped. */
function quickstart(): QuickstartLine[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quickstart'));
  const start = section.indexOf('```sh\n') + 6;
  const block = section.slice(start, section.indexOf('\n```', start));
  return block
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'))
    .map((l) => ({
      cmd: l.replace(/\s+#.*$/, '').trim(),
      exit: Number(/\s#\s*exit (\d+)/.exec(l)?.[1] ?? 0),
    }));
}

/**
 * Step 1 installs git-coord from a clone (the runner puts the built CLI on PATH as `git-coord`
 * instead), and `cd ~/src/your-project` enters the reader's own repository: here a new one with one
 * commit, made next to the runner's demo project. Everything else runs exactly as written.
 */
const INSTALL = /^(git clone|npm )/;
const YOUR_PROJECT = 'cd ~/src/your-project';
const NEW_PROJECT =
  'mkdir ../your-project && cd ../your-project && git init -q -b main && ' +
  "echo '# my project' > README.md && git add README.md && git commit -qm 'first commit'";

describe('README Quickstart', () => {
  it('holds the steps this test relies on', () => {
    const lines = quickstart().map((l) => l.cmd);
    expect(lines.filter((l) => INSTALL.test(l))).toHaveLength(2);
    expect(lines).toContain(YOUR_PROJECT);
    expect(lines.at(-1)).toBe('git coord list');
  });

  it('runs as written on a new repository, each command exiting as its comment says', () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'coord-readme-test-')));
    dirs.push(dir);
    const commands: DocCommand[] = quickstart()
      .filter((l) => !INSTALL.test(l.cmd))
      .map((l, i) => ({
        cmd: l.cmd === YOUR_PROJECT ? NEW_PROJECT : l.cmd,
        expectedExit: l.exit,
        line: i,
        output: [0, 0],
      }));
    const runs = runCommands(commands, dir, CLI);
    const wrong = runs
      .filter((r) => r.code !== r.command.expectedExit)
      .map((r) => `\`${r.command.cmd}\` exited ${r.code}, expected ${r.command.expectedExit}\n${r.output}`);
    expect(wrong).toEqual([]);
    const out = (cmd: string, nth = 0) => runs.filter((r) => r.command.cmd === cmd)[nth]!.output;
    // init protected the new repository's branch; the first done lists the three things its comment names.
    expect(out('git coord init')).toContain('protect: main');
    const refused = out('git coord done 12');
    for (const missing of ['12-PLAN-CHECK.md', '12-VERIFICATION.md', '.planning/lessons-learned.md'])
      expect(refused).toContain(missing);
    expect(out('git coord done 12', 1)).toMatch(/done/);
    expect(runs.at(-1)!.output).toMatch(/12\s+closed \(done\)\s+agent-1/);
  });
});
