import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { benchLease } from '../../bench/lease.js';
import { writeShim } from '../../demo/project.js';
import { LeaseType } from '../../src/records/schemas.js';
import { writeRecord } from '../../src/records/store.js';
import { discoverRepo, RefTransaction } from '../../src/refs/index.js';
import { cleanup, collect, GIT_ENV, run, tempDir } from '../fixtures/repo.js';
import { cli, cliPath, expectExit, makeCoordRepo } from './helpers.js';

afterAll(cleanup);

const VERSION = (
  JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

/** Runs `git coord …` through real git, with a `git-coord` shim on PATH (as `npm link` makes it). */
function gitCoord(cwd: string, args: string[]) {
  const bin = tempDir('coord-bin-');
  writeShim(bin, cliPath());
  return run('git', ['coord', ...args], {
    cwd,
    env: { NO_COLOR: '1', COORD_HOLDER: undefined, PATH: `${bin}:${process.env.PATH}` },
  });
}

/** The words of `text`, whitespace collapsed (so a line break between words does not count). */
const words = (text: string) => text.replace(/\s+/g, ' ');

describe('CLI conventions (issue 9 item 10)', () => {
  it('--version prints "git-coord version <package.json version>" and exits 0', async () => {
    const dir = makeCoordRepo();
    const res = await expectExit(dir, ['--version'], 0);
    expect(res.stdout).toBe(`git-coord version ${VERSION}\n`);
    expect(res.stderr).toBe('');
    // Through git as well (git passes --version after the subcommand on to git-coord).
    const viaGit = await gitCoord(dir, ['--version']);
    expect([viaGit.code, viaGit.stdout]).toEqual([0, `git-coord version ${VERSION}\n`]);
  });

  it('bare git-coord prints the usage on stdout and exits 1, as bare git does', async () => {
    const dir = makeCoordRepo();
    const res = await expectExit(dir, [], 1);
    expect(res.stdout).toMatch(/^git-coord <command> \[options\]/);
    expect(res.stdout).toContain('git-coord claim <key>');
    expect(res.stderr).toBe('');
    const git = await run('git', [], { cwd: dir });
    expect(git.code).toBe(1); // the convention followed
  });

  it('help lists no internal hook command and `help claim` is `claim --help`', async () => {
    const dir = makeCoordRepo();
    const top = await expectExit(dir, ['--help'], 0);
    expect(top.stdout).not.toMatch(/git-coord hook\b(?!s)/);
    const help = await expectExit(dir, ['help', 'claim'], 0);
    expect(help.stderr).toBe('');
    expect(help.stdout).toMatch(/^git-coord claim <key>/);
    expect(help.stdout).toContain('--no-worktree');
    expect(help.stdout).toBe((await expectExit(dir, ['claim', '--help'], 0)).stdout);
    // A typo is suggested a real command, never `hook`.
    const typo = await expectExit(dir, ['hlp'], 2);
    expect(typo.stderr).not.toMatch(/\bhook\b/);
    const near = await expectExit(dir, ['clam', '1'], 2);
    expect(near.stderr).toMatch(/Did you mean claim\?/);
  });

  it('errors point to git-coord --help or git coord <cmd> -h, never to git coord --help', async () => {
    const dir = makeCoordRepo();
    const unknown = await expectExit(dir, ['nosuch'], 2);
    expect(unknown.stderr).toContain('`git-coord --help` lists the commands');
    const option = await expectExit(dir, ['claim', '1', '--bogus'], 2);
    expect(option.stderr).toContain('`git coord claim -h`');
    const json = await expectExit(dir, ['--json'], 2);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'usage' } });
    for (const r of [unknown, option, json]) expect(r.stdout + r.stderr).not.toContain('git coord --help');
    // And what the messages suggest works through git: `git coord claim -h` shows claim's help.
    const viaGit = await gitCoord(dir, ['claim', '-h']);
    expect([viaGit.code, viaGit.stdout.split('\n')[0]]).toEqual([0, 'git-coord claim <key>']);
  });

  it('`git coord hooks` alone prints the hooks actions (exit 2), not yargs internals', async () => {
    const dir = makeCoordRepo();
    const res = await gitCoord(dir, ['hooks']);
    expect(res.code).toBe(2);
    expect(res.stderr).not.toMatch(/non-option arguments/);
    expect(res.stderr).toMatch(/^git-coord: hooks needs <action>\n/);
    expect(res.stderr).toContain('git-coord hooks <action>');
    expect(res.stderr).toMatch(/"install", "uninstall", "status"/);
    const claim = await expectExit(dir, ['claim'], 2);
    expect(claim.stderr).toMatch(/^git-coord: claim needs <key>\n/);
  });

  it('help text off a terminal wraps between words, never inside one', async () => {
    const dir = makeCoordRepo();
    const top = (await expectExit(dir, ['--help'], 0)).stdout;
    const claim = (await expectExit(dir, ['claim', '-h'], 0)).stdout;
    // Every description appears with its words intact (a mid-word break would split one).
    expect(words(top)).toContain('acquire a lease and provision (or reuse) its worktree');
    expect(words(top)).toContain(
      'clear a lease: a tombstone keeps its token, its index refs are deleted (an open lease needs --force); audit event',
    );
    expect(words(claim)).toContain(
      'A leftover branch with no lease is adopted: `git worktree add PATH BRANCH`, keeping its commits.',
    );
    for (const line of `${top}\n${claim}`.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });
});

describe('a reader that closes the pipe early (issue 9 item 12)', () => {
  it('`git-coord list --json | head -c 300` exits quietly: no stack trace, exit status of list', async () => {
    const dir = makeCoordRepo();
    const repo = discoverRepo(dir);
    // Enough leases for more output than a pipe buffers (64 KiB), so writes meet the closed pipe.
    const tx = new RefTransaction(repo);
    const now = new Date();
    for (let i = 0; i < 200; i++) {
      const lease = { ...benchLease(`k${i}`, now), note: 'n'.repeat(400) };
      tx.create(`refs/coord/leases/k${i}`, writeRecord(repo, LeaseType, lease), 'test: seed');
    }
    tx.commit();
    const full = await cli(dir, ['list', '--json']);
    expect(full.stdout.length).toBeGreaterThan(128 * 1024);
    for (const args of [['list', '--json'], ['list']]) {
      // A real shell pipeline: node writes into a pipe whose reader exits after 300 bytes.
      const child = spawn(
        'bash',
        [
          '-c',
          `set -o pipefail; node ${JSON.stringify(cliPath())} ${args.join(' ')} | head -c 300 >/dev/null`,
        ],
        { cwd: dir, env: { ...process.env, ...GIT_ENV, NO_COLOR: '1' } },
      );
      child.stdin.end();
      const res = await collect(child);
      expect(res.stderr, args.join(' ')).toBe('');
      expect(res.code, args.join(' ')).toBe(0);
    }
  });
});

describe('standard output without node stdio streams (issue 12: src/cli/stdio.ts)', () => {
  /** Runs the CLI with `script`, so its stdout and stderr are a real terminal (a pty). */
  function onTerminal(cwd: string, args: string[], env: Record<string, string | undefined> = {}) {
    const command = ['node', cliPath(), ...args].map((a) => `'${a}'`).join(' ');
    return run('script', ['-qec', command, '/dev/null'], {
      cwd,
      env: { ...GIT_ENV, NO_COLOR: undefined, COORD_HOLDER: 'me', ...env },
    });
  }

  it('colours only a terminal: a pty gets escapes, a pipe, a file and NO_COLOR do not', async () => {
    const dir = makeCoordRepo();
    await expectExit(dir, ['claim', 'k', '--no-worktree'], 0);
    const tty = await onTerminal(dir, ['show', 'k']);
    expect(tty.code).toBe(0);
    expect(tty.stdout).toContain('\x1b[');
    expect(tty.stdout).toMatch(/state\s.*open/);
    const plain = await onTerminal(dir, ['show', 'k'], { NO_COLOR: '1' });
    expect(plain.stdout).not.toContain('\x1b[');
    expect(plain.stdout).toMatch(/state\s+open/);
    const piped = await cli(dir, ['show', 'k'], { NO_COLOR: undefined });
    expect(piped.stdout).not.toContain('\x1b[');
    const file = join(tempDir('coord-out-'), 'out.txt');
    const res = await run('bash', ['-c', `node '${cliPath()}' show k > '${file}'`], {
      cwd: dir,
      env: { ...GIT_ENV, NO_COLOR: undefined, COORD_HOLDER: 'me' },
    });
    expect(res.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^key\s+k\n/);
    expect(readFileSync(file, 'utf8')).not.toContain('\x1b[');
  });

  it("output to /dev/null is no terminal and does not load node's tty module (nor net)", async () => {
    const dir = makeCoordRepo();
    await expectExit(dir, ['claim', 'k', '--no-worktree'], 0);
    // Preloaded into the CLI's process: at exit, which of those modules node loaded, on fd 2.
    const probe = join(tempDir('coord-probe-'), 'probe.cjs');
    writeFileSync(
      probe,
      "process.on('exit', () => require('node:fs').writeSync(2, '\\nloaded:' + " +
        "['tty', 'net'].filter((m) => process.moduleLoadList.includes('NativeModule ' + m)).join(',')));\n",
    );
    const script = (target: string) => `node -r '${probe}' '${cliPath()}' show k > ${target}`;
    const env = { ...GIT_ENV, NO_COLOR: undefined, COORD_HOLDER: 'me' };
    const devNull = await run('bash', ['-c', script('/dev/null')], { cwd: dir, env });
    expect(devNull.code).toBe(0);
    expect(devNull.stderr.trim().split('\n').pop()).toBe('loaded:');
    // The probe can see the modules: on a terminal, tty is asked (and loads net).
    const tty = await run('script', ['-qec', script('/dev/tty'), '/dev/null'], { cwd: dir, env });
    expect(tty.code).toBe(0);
    expect(tty.stdout).toMatch(/loaded:tty,net/);
  });

  it('an error on a terminal is one coloured line on stderr with exit 2, help is wrapped to the terminal (at most 110 columns)', async () => {
    const dir = makeCoordRepo();
    const bad = await onTerminal(dir, ['show', '../x']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/\x1b\[31mgit-coord:\x1b\[39m .*key/);
    const help = await onTerminal(dir, ['claim', '-h']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('git-coord claim <key>');
    // On a terminal yargs wraps at its width, at most 110 columns (src/cli/main.ts).
    for (const line of help.stdout.split(/\r?\n/)) expect(line.length).toBeLessThanOrEqual(110);
  });
});
