import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readConfigFiles } from '../../src/refs/config-files.js';
import { parseConfigList } from '../../src/refs/config-list.js';
import { discoverRepo } from '../../src/refs/repo.js';
import { cleanup, makeRepo, tempDir } from '../fixtures/repo.js';

afterAll(cleanup);

const KEYS = ['HOME', 'XDG_CONFIG_HOME', 'GIT_CONFIG_NOSYSTEM', 'GIT_CONFIG_GLOBAL', 'GIT_CONFIG_SYSTEM'];
const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
afterEach(() => {
  for (const k of KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

const OPTS: Array<[string, string]> = [['core.warnAmbiguousRefs', 'false']];

/** What `git -c core.warnAmbiguousRefs=false config --list -z` gives in `dir` (our git calls' -c). */
function gitSays(dir: string): Map<string, string> {
  const res = spawnSync('git', ['-c', 'core.warnAmbiguousRefs=false', 'config', '--list', '-z'], {
    cwd: dir,
    encoding: 'utf8',
  });
  expect(res.status, res.stderr).toBe(0);
  return parseConfigList(res.stdout);
}

/** A repository whose local config ends with `text`, with its own HOME holding `global`. */
function repoWith(text: string, global = ''): string {
  const dir = makeRepo();
  const home = tempDir('coord-home-');
  process.env.HOME = home;
  delete process.env.XDG_CONFIG_HOME;
  delete process.env.GIT_CONFIG_GLOBAL;
  writeFileSync(join(home, '.gitconfig'), global);
  writeFileSync(join(dir, '.git', 'config'), `${readLocal(dir)}${text}`);
  return dir;
}

function readLocal(dir: string): string {
  return spawnSync('cat', [join(dir, '.git', 'config')], { encoding: 'utf8' }).stdout;
}

function expectSame(dir: string): void {
  const ours = readConfigFiles(discoverRepo(dir).commonDir, OPTS);
  expect(ours, 'read from the files').not.toBeNull();
  expect([...ours!]).toEqual([...gitSays(dir)]);
  expect([...discoverRepo(dir).config()]).toEqual([...gitSays(dir)]);
}

describe('config read from the files equals git config --list', () => {
  it('plain sections, subsections, valueless keys, case, duplicates (last wins)', () => {
    expectSame(
      repoWith(
        '[Coord]\n\tHolder = agent-1\n[remote "Origin"]\n\turl = /x\n[Branch "A.B"]\n\tmerge\n' +
          '[coord] holder = agent-2\n[a.B]\nk=v\n[x]\n\tk = 1\n\tk = 2\n',
      ),
    );
  });

  it('quotes, escapes, inner and trailing spaces, comments, continuations, CRLF', () => {
    expectSame(
      repoWith(
        '[t]\n\ta = " spaced  out "\n\tb = one   two\t three   # comment\n\tc = x ; y\n' +
          '\td = "has # hash" and ; comment\n\te = tab\\tnew\\nline\\\\ \\"q\\"\n' +
          '\tf = con\\\n tinued\n\tg =\n\th = "" \n\ti = é ünï\r\n\tj = last',
      ),
    );
  });

  it('global config (~/.gitconfig and XDG) before the repository’s, and GIT_CONFIG_GLOBAL', () => {
    const dir = repoWith(
      '[user]\n\temail = local@x\n',
      '[user]\n\temail = global@x\n\tname = G\n[core]\n\teditor = vi\n',
    );
    const xdg = tempDir('coord-xdg-');
    mkdirSync(join(xdg, 'git'));
    writeFileSync(join(xdg, 'git', 'config'), '[core]\n\teditor = nano\n\tpager = less\n');
    process.env.XDG_CONFIG_HOME = xdg;
    expectSame(dir);
    const other = join(tempDir('coord-g-'), 'cfg');
    writeFileSync(other, '[coord]\n\tremote = team\n');
    process.env.GIT_CONFIG_GLOBAL = other;
    expectSame(dir);
    process.env.GIT_CONFIG_NOSYSTEM = '1';
    expectSame(dir);
  });

  it('asks git for includes, extensions, broken files and -c options', () => {
    const commonOf = (d: string) => join(d, '.git');
    for (const text of [
      '[include]\n\tpath = /dev/null\n',
      '[includeIf "gitdir:/x/"]\n\tpath = /dev/null\n',
      '[extensions]\n\tworktreeConfig = true\n',
      '[broken\n',
      '[s]\n\tk = "unterminated\n',
      '[s]\n\tk = bad \\q escape\n',
    ]) {
      const dir = repoWith(text);
      expect(readConfigFiles(commonOf(dir), OPTS), text).toBeNull();
    }
    const dir = repoWith('');
    process.env.GIT_CONFIG_PARAMETERS = "'a.b=c'";
    try {
      expect(readConfigFiles(commonOf(dir), OPTS)).toBeNull();
    } finally {
      delete process.env.GIT_CONFIG_PARAMETERS;
    }
  });
});
