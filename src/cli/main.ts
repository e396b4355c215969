import pkg from '../../package.json' with { type: 'json' };
import { UsageError } from '../errors.js';
import { isTerminal, writeOut } from './stdio.js';

/**
 * The `git-coord` entry point (also `git coord …`). Parses arguments with yargs, runs one command,
 * and maps errors to the exit codes of DESIGN §4.
 *
 * Conventions follow git's: bare `git-coord` prints the usage on stdout and returns 1 (as bare `git`
 * does); `git-coord help <command>` is `git-coord <command> --help`; `--version` prints
 * `git-coord version <v>`. A command missing an argument (`git coord hooks`) or given a bad one returns 2
 * with the message, and, for a missing argument, the command's usage on stderr (as `git worktree`
 * alone prints its usage). Messages point to `git-coord --help` and `git coord <command> -h`, never to
 * `git coord --help`, which git turns into a man-page lookup (`git help coord`).
 */
export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const args = argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv;
  if (args.length === 1 && args[0] === '--version') {
    writeOut(`git-coord version ${pkg.version}\n`);
    return 0;
  }
  ignoreClosedPipes();
  let exitCode = 0;
  try {
    // Loaded here, not at the top: `git-coord hook …` (below) must not pay for them (nor for
    // output.js and picocolors).
    const [{ default: yargs }, { commands }] = await Promise.all([
      import('yargs'),
      import('./commands/index.js'),
    ]);
    let parser = yargs(args)
      .scriptName('git-coord')
      .usage(
        '$0 <command> [options]\n$0 --version\n\nLeases and worktree ownership for parallel work, stored in refs/coord/*.',
      )
      .epilogue(
        "`git coord <command> -h` (or `git-coord help <command>`) shows a command's options. " +
          '(`git coord --help` makes git look for a man page.)',
      )
      .strict()
      .demandCommand(1, 'name a command')
      .recommendCommands()
      .help()
      .alias('h', 'help')
      .version(false)
      // Word-wrapped to the terminal's width; off a terminal (pipes, files, docs) at a fixed 100.
      .wrap(isTerminal(1) ? Math.min(110, process.stdout.columns || 80) : 100)
      .fail((msg, err, usage) => {
        throw err ?? usageFailure(msg, (usage as unknown as YargsUsage).help());
      });
    for (const cmd of invoked(commands, args)) parser = parser.command(cmd);
    skipHelpCache(parser);
    if (args.length === 0) {
      writeOut(`${(await parser.getHelp()).trimEnd()}\n`);
      return 1;
    }
    await parser.parseAsync();
    exitCode = process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    const { reportError } = await import('./output.js');
    exitCode = reportError(err, json);
  }
  return exitCode;
}

/**
 * A reader that goes away (`git coord list --json | head -c 300`) makes writes to stdout fail with
 * EPIPE, which node raises as an uncaught 'error' event with a stack trace. git is killed quietly by
 * SIGPIPE instead. Here the rest of the output is dropped and the command finishes its work (a write
 * half done is never cut short by a closed pipe), exiting with its own status, without a message.
 * Other stream errors are left to node. Most output goes through src/cli/stdio.ts, which does the
 * same for its writes; this covers what still writes to `process.stdout` / `process.stderr` (yargs'
 * help, `run` and `parallel`). The streams are not made here: node makes each on first use (loading
 * `net` for a pipe or terminal, ~5 ms), so the handler is attached when that happens.
 */
function ignoreClosedPipes(): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const made = Object.getOwnPropertyDescriptor(process, name);
    const getter = made?.get;
    if (!getter || !made.configurable) {
      guard(process[name]);
      continue;
    }
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: made.enumerable,
      get() {
        const stream = getter.call(process) as NodeJS.WriteStream;
        Object.defineProperty(process, name, { ...made, get: () => stream });
        guard(stream);
        return stream;
      },
    });
  }
}

function guard(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
}

/** The part of yargs' usage instance (the third argument of a `.fail` callback) used here. */
interface YargsUsage {
  help(): string;
}

/**
 * A yargs validation message as a UsageError that names the next step. `help` is the usage text of
 * the command being parsed (or of git-coord itself), whose first line (`git-coord claim <key>`) names
 * the command. A missing positional gets the command's whole usage attached.
 */
function usageFailure(msg: string, help: string): UsageError {
  const line = help.split('\n', 1)[0] ?? '';
  const command = /^git-coord ([a-z][\w-]*)/.exec(line)?.[1];
  const hint = command
    ? `\`git coord ${command} -h\` shows its arguments and options`
    : '`git-coord --help` lists the commands';
  const missing = /^Not enough non-option arguments: got (\d+)/.exec(msg);
  if (missing && command) {
    const names = (line.match(/<[^>]+>/g) ?? []).slice(Number(missing[1]));
    return new UsageError(`${command} needs ${names.join(' ') || 'an argument'}`, 'usage', help);
  }
  const text = /^Did you mean /.test(msg) ? `unknown command. ${msg}` : msg;
  return new UsageError(`${/[.?]$/.test(text) ? text : `${text}.`} ${hint}.`);
}

/**
 * The command modules to register: only the one named by the first word of `argv` when that names one
 * (yargs then builds and checks one command instead of all of them, ~2 ms of every start-up), else all
 * of them (top-level `--help`, a typo that yargs' `recommendCommands` answers, no command at all).
 * A subcommand's own help, options and errors are the same either way.
 */
function invoked<T extends { command?: string | readonly string[] }>(
  all: readonly T[],
  argv: string[],
): readonly T[] {
  const first = argv.find((a) => !a.startsWith('-'));
  const named = all.filter((c) => [c.command ?? []].flat().some((s) => s.split(' ')[0] === first));
  return named.length === 1 ? named : all;
}

/**
 * yargs 17 renders and caches the running command's whole help text right after starting its
 * handler (`usage.cacheHelpMessage()` in lib/command.js), for a `showHelp()` that git-coord never
 * makes once a handler runs (failures go through `.fail`, help only through `--help`, which never
 * reaches a handler). That is ~4 ms of every command's start-up, so it is switched off here
 * through yargs' internal-methods accessor, the one way to reach the usage instance.
 */
function skipHelpCache(parser: object): void {
  const internal = parser as {
    getInternalMethods?: () => { getUsageInstance(): { cacheHelpMessage(): void } };
  };
  const usage = internal.getInternalMethods?.().getUsageInstance();
  if (usage) usage.cacheHelpMessage = () => {};
}

const args = process.argv.slice(2);
// The installed git hooks run `git-coord hook <name>`: dispatched before yargs and the command modules
// are loaded, so a hook costs about one node start (src/hooks/fast.ts).
const done =
  args[0] === 'hook' ? import('../hooks/fast.js').then((m) => m.hookMain(args.slice(1))) : main(args);
done.then((code) => {
  process.exitCode = code;
});
