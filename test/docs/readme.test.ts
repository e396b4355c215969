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

/** The command lines of the README's Quickstart block, comments stripped, install step excluded. */
function quickstartCommands(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quickstart'));
  const start = section.indexOf('```sh\n') + 6;
  const block = section.slice(start, section.indexOf('\n```', start));
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'))
    .filter((l) => !/^(git clone|npm |cd ~)/.test(l));
}

/**
 * The Quickstart, steps 2-6, as run here: every README command in order (with its documented exit
 * code), plus the edits a user makes between them ("filler"), in the demo project with a phase 12.
 */
const SESSION: Array<[cmd: string, exit: number, fromReadme: boolean]> = [
  [
    "rm -r .coord && mkdir -p .planning/phases/12-login && echo '# 12 login: plan' > .planning/phases/12-login/12-PLAN.md && git add -A && git commit -qm 'phase 12 planned'",
    0,
    false,
  ],
  ['git coord init', 0, true],
  ['git add .coord/config.json && git commit -m "coord: config"', 0, true],
  ['export COORD_HOLDER=agent-1', 0, true],
  ['git coord claim 12', 0, true],
  ['cd .coord/worktrees/12', 0, true],
  ["echo 'export const login = () => true;' >> src/auth.js", 0, false],
  ['git commit -am "login: first cut"', 0, true],
  ['git coord done 12', 4, true],
  [
    "printf '# check\\nok\\n' > .planning/phases/12-login/12-PLAN-CHECK.md && printf '# verified\\nok\\n' > .planning/phases/12-login/12-VERIFICATION.md",
    0,
    false,
  ],
  ['git add .planning && git commit -m "12: plan check and verification"', 0, true],
  ['git coord done 12', 0, true],
  ['git coord report --key 12', 0, true],
  ['git coord list', 0, true],
];

describe('README Quickstart', () => {
  it('is exactly the command sequence this test runs', () => {
    expect(SESSION.filter(([, , r]) => r).map(([c]) => c)).toEqual(quickstartCommands());
  });

  it('runs as written on a fresh repository, each command exiting as described', () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'coord-readme-test-')));
    dirs.push(dir);
    const commands: DocCommand[] = SESSION.map(([cmd, exit], i) => ({
      cmd,
      expectedExit: exit,
      line: i,
      output: [0, 0],
    }));
    const runs = runCommands(commands, dir, CLI);
    const wrong = runs
      .filter((r) => r.code !== r.command.expectedExit)
      .map((r) => `\`${r.command.cmd}\` exited ${r.code}, expected ${r.command.expectedExit}\n${r.output}`);
    expect(wrong).toEqual([]);
    expect(runs.at(-1)!.output).toMatch(/12\s+closed \(done\)\s+agent-1/);
  });
});
