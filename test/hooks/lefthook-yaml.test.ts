import { describe, expect, it } from 'vitest';
import { addLefthookCommand } from '../../src/hooks/install.js';

/** What uninstall does to a lefthook config: drop every line git-coord marked. */
const strip = (t: string) =>
  t
    .split(/(?<=\n)/)
    .filter((l) => !l.trimEnd().endsWith('# git-coord-hook'))
    .join('');

describe('adding the git-coord command to a lefthook config', () => {
  it('appends a hook section that is not there', () => {
    const text = 'pre-commit:\n  commands:\n    lint:\n      run: eslint\n';
    const out = addLefthookCommand(text, 'pre-push')!;
    expect(out.startsWith(text)).toBe(true);
    expect(out.slice(text.length).split('\n')).toEqual([
      'pre-push: # git-coord-hook',
      '  commands: # git-coord-hook',
      '    git-coord: # git-coord-hook',
      expect.stringMatching(
        /^ {6}run: '.*coord\/hooks\/pre-push".* sh "\$coord_hook" \{1\} \{2\}; fi' # git-coord-hook$/,
      ),
      '      use_stdin: true # git-coord-hook',
      '',
    ]);
    expect(strip(out)).toBe(text);
  });

  it('inserts into existing commands with their indentation, and is idempotent', () => {
    const text =
      'pre-commit:\n    parallel: true\n    commands:\n        lint:\n            run: eslint\n# trailing comment\n';
    const out = addLefthookCommand(text, 'pre-commit')!;
    expect(out).toContain('    commands:\n        git-coord: # git-coord-hook\n            run: ');
    expect(out).toContain('        lint:\n            run: eslint');
    expect(addLefthookCommand(out, 'pre-commit')).toBe(out);
    expect(strip(out)).toBe(text);
  });

  it('adds a job to a jobs list', () => {
    const text = 'commit-msg:\n  jobs:\n    - name: lint message\n      run: commitlint --edit {1}\n';
    const out = addLefthookCommand(text, 'commit-msg')!;
    expect(out).toContain("  jobs:\n    - name: git-coord # git-coord-hook\n      run: '");
    expect(out).toContain('coord/hooks/commit-msg"; ');
    expect(out).toContain('sh "$coord_hook" {1}; fi');
    expect(strip(out)).toBe(text);
  });

  it('fills an empty hook section and one with other settings only', () => {
    expect(strip(addLefthookCommand('pre-commit:\nother: 1\n', 'pre-commit')!)).toBe(
      'pre-commit:\nother: 1\n',
    );
    const settings = 'pre-commit:\n  parallel: true\n\npre-push:\n  commands: {}\n';
    const out = addLefthookCommand(settings, 'pre-commit')!;
    expect(out).toContain(
      '  parallel: true\n  commands: # git-coord-hook\n    git-coord: # git-coord-hook\n',
    );
    expect(strip(out)).toBe(settings);
  });

  it('leaves flow style alone (the caller prints the lines to add)', () => {
    expect(addLefthookCommand('pre-commit: {commands: {}}\n', 'pre-commit')).toBeNull();
  });

  it('handles a file without a final newline', () => {
    const out = addLefthookCommand('pre-push:\n  commands:\n    x:\n      run: y', 'commit-msg')!;
    expect(out).toContain('run: y\ncommit-msg: # git-coord-hook\n');
  });
});
