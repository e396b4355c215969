import { spawnSync } from 'node:child_process';
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { discoverFromFiles } from '../../src/refs/discover.js';
import { discoverRepo } from '../../src/refs/repo.js';
import { addWorktree, cleanup, GIT_ENV, makeBareRemote, makeRepo, sh, tempDir } from '../fixtures/repo.js';

afterAll(cleanup);

const ENV_KEYS = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_COMMON_DIR', 'GIT_CEILING_DIRECTORIES'] as const;
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
afterEach(() => {
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

/** What real `git rev-parse` says from `cwd` (real paths; top `null` where it has none). */
function gitSays(cwd: string): { gitDir: string; commonDir: string; worktreeTop: string | null } | null {
  const res = spawnSync(
    'git',
    ['rev-parse', '--path-format=absolute', '--git-dir', '--git-common-dir', '--show-toplevel'],
    { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' },
  );
  const lines = res.stdout.split('\n');
  if (lines.length < 3) return null;
  return {
    gitDir: realpathSync(lines[0]!),
    commonDir: realpathSync(lines[1]!),
    worktreeTop: res.status === 0 && lines[2] ? realpathSync(lines[2]) : null,
  };
}

/** discoverRepo (and the file-based answer, when it gives one) equal git's; returns the file-based one. */
function expectSameAsGit(cwd: string) {
  const git = gitSays(cwd);
  const files = discoverFromFiles(cwd);
  if (files) expect(files, `from files in ${cwd}`).toEqual(git);
  const repo = discoverRepo(cwd);
  expect({ gitDir: repo.gitDir, commonDir: repo.commonDir, worktreeTop: repo.worktreeTop }, cwd).toEqual(git);
  return files;
}

describe('discovery from git’s own files gives exactly what git rev-parse gives', () => {
  it('main worktree: top, a deep subdirectory, through a symlinked path', () => {
    const dir = makeRepo();
    const deep = join(dir, 'a', 'b', 'c');
    mkdirSync(deep, { recursive: true });
    const link = join(tempDir(), 'link');
    symlinkSync(deep, link);
    for (const cwd of [dir, deep, link]) expect(expectSameAsGit(cwd), cwd).not.toBeNull();
  });

  it('linked worktree and its subdirectory; a worktree nested inside the main one', () => {
    const dir = makeRepo();
    const wt = addWorktree(dir, 'coord/7');
    mkdirSync(join(wt, 'src'));
    sh(dir, 'worktree', 'add', '-q', '-b', 'nested', join(dir, '.coord', 'worktrees', 'n'));
    const nested = join(dir, '.coord', 'worktrees', 'n');
    mkdirSync(join(nested, 'x'));
    for (const cwd of [wt, join(wt, 'src'), nested, join(nested, 'x')]) {
      const found = expectSameAsGit(cwd);
      expect(found, cwd).not.toBeNull();
      expect(found!.gitDir).not.toBe(found!.commonDir);
    }
  });

  it('a repository nested in another one’s worktree; a separate git dir; a relative gitdir file', () => {
    const outer = makeRepo();
    const inner = join(outer, 'vendor', 'inner');
    mkdirSync(inner, { recursive: true });
    sh(inner, 'init', '-q', '-b', 'main');
    mkdirSync(join(inner, 'lib'));
    expect(expectSameAsGit(join(inner, 'lib'))!.worktreeTop).toBe(realpathSync(inner));
    const separate = join(tempDir(), 'work');
    const gitStore = join(tempDir(), 'store.git');
    sh(tempDir(), 'init', '-q', '--separate-git-dir', gitStore, separate);
    expect(expectSameAsGit(separate)).not.toBeNull();
    // the same repository reached through a gitfile with a relative path
    const rel = join(tempDir(), 'rel');
    mkdirSync(rel);
    writeFileSync(join(rel, '.git'), `gitdir: ${relative(rel, gitStore)}\n`);
    expect(expectSameAsGit(rel)).not.toBeNull();
  });

  it('asks git (and agrees with it) for bare repositories, the git dir itself, core.worktree, extensions', () => {
    const bare = makeBareRemote();
    for (const cwd of [bare, join(bare, 'refs')]) expect(expectSameAsGit(cwd)).toBeNull();
    const dir = makeRepo();
    expect(expectSameAsGit(join(dir, '.git'))).toBeNull();
    expect(expectSameAsGit(join(dir, '.git', 'refs'))).toBeNull();
    const moved = makeRepo();
    const tree = tempDir();
    sh(moved, 'config', 'core.worktree', tree);
    expect(expectSameAsGit(moved)).toBeNull();
    const wtc = makeRepo();
    sh(wtc, 'config', 'extensions.worktreeConfig', 'true');
    expect(expectSameAsGit(wtc)).toBeNull();
    const inc = makeRepo();
    sh(inc, 'config', 'include.path', '/dev/null');
    expect(expectSameAsGit(inc)).toBeNull();
  });

  it('asks git when GIT_DIR, GIT_WORK_TREE or GIT_CEILING_DIRECTORIES are set', () => {
    const dir = makeRepo();
    const wt = addWorktree(dir, 'feature');
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    process.env.GIT_DIR = join(wt, '.git');
    expect(discoverFromFiles(sub)).toBeNull();
    delete process.env.GIT_DIR;
    process.env.GIT_CEILING_DIRECTORIES = dirname(dir);
    expect(expectSameAsGit(sub)).toBeNull();
    delete process.env.GIT_CEILING_DIRECTORIES;
    process.env.GIT_DIR = join(dir, '.git');
    process.env.GIT_WORK_TREE = dir;
    expect(expectSameAsGit(sub)).toBeNull();
  });

  it('skips an invalid .git directory the way git does (by asking git)', () => {
    const dir = makeRepo();
    const sub = join(dir, 'pkg');
    mkdirSync(join(sub, '.git'), { recursive: true });
    expect(expectSameAsGit(sub)).toBeNull();
    expect(discoverRepo(sub).worktreeTop).toBe(dir);
  });

  it('outside any repository: no answer from files, and discoverRepo fails', () => {
    const dir = tempDir();
    process.env.GIT_CEILING_DIRECTORIES = dir; // git must not find a repository above the temp dir
    expect(discoverFromFiles(dir)).toBeNull();
    expect(() => discoverRepo(dir)).toThrow(/not a git repository/);
  });
});
