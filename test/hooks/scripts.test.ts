import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hookScript, shQuote } from '../../src/hooks/scripts.js';
import { worktreeId } from '../../src/refs/repo.js';

/** The shell's `coord_slug` function, taken from the installed script. */
const script = hookScript('pre-commit', { node: null, cli: '/nonexistent/git-coord.mjs' });
const fn = /coord_slug\(\) \{[\s\S]*?\n\}/.exec(script)![0];

function shellSlug(shell: string, name: string): string {
  return execFileSync(shell, ['-c', `${fn}\ncoord_slug "$1"; printf '%s' "$coord_slug_out"`, 'sh', name], {
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C.UTF-8' },
  });
}

const NAMES = [
  'main',
  'My Repo',
  '__x',
  '-_a',
  '_!a',
  'a!!',
  'a_!',
  'Über-Projekt (2)',
  'ÄÖÜ',
  '65',
  'coord.65',
  'x'.repeat(100),
  `${'a'.repeat(79)}!!b`,
  '...',
  "it's",
  'tab\there',
];

describe('hook scripts', () => {
  for (const shell of ['dash', 'bash']) {
    it(`${shell} computes the same worktree slug as worktreeId`, () => {
      for (const name of NAMES) {
        const expected = worktreeId(`/some/dir/${name}`, 'h').replace(/-[0-9a-f]{8}$/, '');
        expect([name, shellSlug(shell, name)]).toEqual([name, expected]);
      }
    });
  }

  it('every script is valid POSIX sh (dash -n) and embeds the CLI path quoted', () => {
    for (const name of ['pre-commit', 'commit-msg', 'pre-push'] as const) {
      const text = hookScript(name, { node: '/usr/bin/node', cli: "/odd path/it's/git-coord.mjs" });
      execFileSync('dash', ['-n', '-c', text]);
      expect(text).toContain(shQuote("/odd path/it's/git-coord.mjs"));
    }
  });
});
