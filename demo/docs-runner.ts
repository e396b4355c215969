/**
 * Runs the shell examples in docs/*.md. A fenced block whose info string is `sh runnable` holds
 * commands (`$ cmd`, continued with a trailing `\`) each followed by its output; `# exit N` at the end of
 * a command says it is expected to exit N (default 0). All commands of one document run in order in one
 * bash session (so `cd` and `export` carry over), starting in a fresh copy of the demo project
 * (demo/project.ts) with a `git-coord` shim on PATH. Used by `test/docs` (every command exits as
 * documented) and by demo/docs-examples.ts (rewrites the outputs with real ones).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, PROJECT_GIT_ENV, snapshotCli, writeShim } from './project.js';

/** One documented command. */
export interface DocCommand {
  /** The command as shown, without the `$ ` prompt (continuation lines joined with newlines). */
  cmd: string;
  /** Exit code the document states (`# exit N`), default 0. */
  expectedExit: number;
  /** Line index (0-based) of the first `$ ` line of the command in the document. */
  line: number;
  /** Line indices [start, end) of the output shown under the command. */
  output: [number, number];
}

/** The result of running one {@link DocCommand}. */
export interface DocRun {
  command: DocCommand;
  /** Exit status. */
  code: number;
  /** stdout and stderr, interleaved as on a terminal. */
  output: string;
}

const FENCE_OPEN = /^```sh runnable\s*$/;
const EXIT_NOTE = /\s#\s*exit\s+(\d+)\s*$/;

/** Finds every command in the `sh runnable` blocks of a markdown document. */
export function parseCommands(markdown: string): DocCommand[] {
  const lines = markdown.split('\n');
  const commands: DocCommand[] = [];
  let inBlock = false;
  let current: DocCommand | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!inBlock) {
      inBlock = FENCE_OPEN.test(line);
      continue;
    }
    if (line.startsWith('```')) {
      if (current) current.output[1] = i;
      current = null;
      inBlock = false;
      continue;
    }
    if (line.startsWith('$ ')) {
      if (current) current.output[1] = i;
      const parts = [line.slice(2)];
      const start = i;
      while (parts[parts.length - 1]!.endsWith('\\') && i + 1 < lines.length) parts.push(lines[++i]!);
      const text = parts.join('\n');
      const m = EXIT_NOTE.exec(text);
      current = { cmd: text, expectedExit: m ? Number(m[1]) : 0, line: start, output: [i + 1, i + 1] };
      commands.push(current);
    }
  }
  return commands;
}

/** Environment for documented commands: shim on PATH, git isolated from the user's configuration. */
export function docsEnv(workDir: string, cli: string): Record<string, string> {
  const bin = join(workDir, 'bin');
  writeShim(bin, cli);
  const globalConfig = join(workDir, 'gitconfig');
  writeFileSync(globalConfig, '');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('COORD_') && !k.startsWith('GIT_')) env[k] = v;
  }
  return {
    ...env,
    ...PROJECT_GIT_ENV,
    GIT_CONFIG_GLOBAL: globalConfig,
    PATH: `${bin}:${process.env.PATH}`,
    NO_COLOR: '1',
  };
}

/**
 * Runs `commands` in order in one bash session started in a fresh demo project at `<workDir>/shop`.
 * Each command's stdin is /dev/null; its stdout and stderr go to one capture file. The CLI runs from a
 * copy of its build directory (see {@link snapshotCli}).
 *
 * @throws Error when bash itself cannot run.
 */
export function runCommands(commands: DocCommand[], workDir: string, cli: string): DocRun[] {
  const repo = join(workDir, 'shop');
  const snapshot = snapshotCli(cli, workDir);
  makeProject(repo);
  const out = join(workDir, 'out');
  mkdirSync(out, { recursive: true });
  const script = commands
    .map((c, i) => `{\n${c.cmd}\n} </dev/null >${out}/${i}.out 2>&1\necho $? >${out}/${i}.rc`)
    .join('\n');
  const res = spawnSync('bash', ['-c', script], {
    cwd: repo,
    env: docsEnv(workDir, snapshot),
    encoding: 'utf8',
  });
  if (res.error) throw res.error;
  return commands.map((command, i) => {
    let code = -1;
    let output = '';
    try {
      code = Number(readFileSync(join(out, `${i}.rc`), 'utf8').trim());
      output = readFileSync(join(out, `${i}.out`), 'utf8');
    } catch {
      output = '(did not run: the session ended before this command)';
    }
    return { command, code, output };
  });
}

/** Returns `markdown` with each command's shown output replaced by the real output of `runs`. */
export function withOutputs(markdown: string, runs: DocRun[]): string {
  const lines = markdown.split('\n');
  for (const run of [...runs].reverse()) {
    const [start, end] = run.command.output;
    const text = run.output.replace(/\s+$/, '');
    lines.splice(start, end - start, ...(text ? text.split('\n') : []));
  }
  return lines.join('\n');
}
