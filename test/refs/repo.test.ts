import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RepositoryError } from '../../src/errors.js';
import { discoverRepo, listRefs, readRef, worktreeId, writeBlob } from '../../src/refs/index.js';
import { addWorktree, cleanup, makeBareRemote, makeRepo, sh, tempDir } from '../fixtures/repo.js';

afterAll(cleanup);

const savedEnv = { GIT_DIR: process.env.GIT_DIR, GIT_COMMON_DIR: process.env.GIT_COMMON_DIR };
afterEach(() => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('discoverRepo', () => {
  it('finds the main worktree from a subdirectory', () => {
    const dir = makeRepo();
    const sub = join(dir, 'a', 'b');
    mkdirSync(sub, { recursive: true });
    const repo = discoverRepo(sub);
    expect(repo.worktreeTop).toBe(dir);
    expect(repo.gitDir).toBe(join(dir, '.git'));
    expect(repo.commonDir).toBe(join(dir, '.git'));
    expect(repo.isLinked).toBe(false);
    expect(repo.isBare).toBe(false);
    expect(repo.config().get('user.email')).toBe('user@example.com');
  });

  it('from a linked worktree (and its subdirectory): per-worktree git dir, shared common dir', () => {
    const dir = makeRepo();
    const wt = addWorktree(dir, 'coord/65');
    const sub = join(wt, 'deep');
    mkdirSync(sub);
    const repo = discoverRepo(sub);
    expect(repo.worktreeTop).toBe(wt);
    expect(repo.commonDir).toBe(join(dir, '.git'));
    expect(repo.gitDir).toBe(realpathSync(sh(wt, 'rev-parse', '--absolute-git-dir')));
    expect(repo.gitDir.startsWith(join(dir, '.git', 'worktrees'))).toBe(true);
    expect(repo.isLinked).toBe(true);
    // refs/coord/* written from the linked worktree land in the common dir
    const oid = writeBlob(repo, Buffer.from('x\n'));
    sh(wt, 'update-ref', 'refs/coord/leases/65', oid);
    expect(readRef(discoverRepo(dir), 'refs/coord/leases/65')).toBe(oid);
  });

  it('honours GIT_DIR and GIT_COMMON_DIR', () => {
    const dir = makeRepo();
    const wt = addWorktree(dir, 'feature');
    const elsewhere = tempDir();
    const wtGitDir = realpathSync(sh(wt, 'rev-parse', '--absolute-git-dir'));
    process.env.GIT_DIR = wtGitDir;
    process.env.GIT_COMMON_DIR = join(dir, '.git');
    const repo = discoverRepo(elsewhere);
    expect(repo.gitDir).toBe(wtGitDir);
    expect(repo.commonDir).toBe(join(dir, '.git'));
    expect(repo.isLinked).toBe(true);

    process.env.GIT_DIR = join(dir, '.git');
    delete process.env.GIT_COMMON_DIR;
    const main = discoverRepo(elsewhere);
    expect(main.gitDir).toBe(join(dir, '.git'));
    expect(main.commonDir).toBe(join(dir, '.git'));
    expect(main.isLinked).toBe(false);
  });

  it('works read-only in a bare repository', () => {
    const work = makeRepo();
    const bare = makeBareRemote();
    const head = sh(work, 'rev-parse', 'HEAD');
    sh(work, 'update-ref', 'refs/coord/leases/a', head);
    sh(work, 'push', '-q', bare, 'refs/coord/*:refs/coord/*');
    const repo = discoverRepo(bare);
    expect(repo.isBare).toBe(true);
    expect(repo.worktreeTop).toBeNull();
    expect(repo.commonDir).toBe(bare);
    expect(listRefs(repo, 'refs/coord/')).toEqual([{ ref: 'refs/coord/leases/a', oid: head }]);
    expect(readRef(repo, 'refs/coord/leases/a')).toBe(head);
  });

  it('refuses extensions.refStorage=reftable (core.repositoryformatversion=1) with a clear message', () => {
    const dir = makeRepo();
    sh(dir, 'config', 'core.repositoryformatversion', '1');
    sh(dir, 'config', 'extensions.refStorage', 'reftable');
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    for (const cwd of [dir, sub]) {
      let err: unknown;
      try {
        discoverRepo(cwd);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RepositoryError);
      expect((err as RepositoryError).code).toBe('unsupported-ref-storage');
      expect((err as RepositoryError).message).toMatch(/extensions\.refStorage=reftable/);
      expect((err as RepositoryError).message).toMatch(/"files" backend only/);
    }
  });

  it('refuses a refStorage extension even where git ignores it (repositoryformatversion=0)', () => {
    const dir = makeRepo();
    sh(dir, 'config', 'extensions.refStorage', 'reftable');
    expect(() => discoverRepo(dir)).toThrow(/extensions\.refStorage=reftable/);
  });

  it('reports "not a git repository" outside any repository', () => {
    const dir = tempDir();
    process.env.GIT_CEILING_DIRECTORIES = dir;
    try {
      expect(() => discoverRepo(dir)).toThrow(expect.objectContaining({ code: 'not-a-repository' }));
    } finally {
      delete process.env.GIT_CEILING_DIRECTORIES;
    }
  });
});

describe('worktreeId', () => {
  it('is slug + 8 hex of sha256(host:realpath), stable and host-specific', () => {
    const a = worktreeId('/tmp/My Project.v2', 'host1');
    expect(a).toMatch(/^my-project-v2-[0-9a-f]{8}$/);
    expect(worktreeId('/tmp/My Project.v2', 'host1')).toBe(a);
    expect(worktreeId('/tmp/My Project.v2', 'host2')).not.toBe(a);
    expect(worktreeId('/other/My Project.v2', 'host1')).not.toBe(a);
  });
});
