import { UsageError } from '../errors.js';

/**
 * The `git-coord` entry point (also `git coord …`). Parses arguments with yargs, runs one command,
 * and maps errors to the exit codes of DESIGN §4.
 */
export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  let exitCode = 0;
  try {
    // Loaded here, not at the top: `git-coord hook …` (below) must not pay for them (nor for
    // output.js, whose picocolors loads `tty`).
    const [{ default: yargs }, { commands }] = await Promise.all([
      import('yargs'),
      import('./commands/index.js'),
    ]);
    let parser = yargs(argv)
      .scriptName('git-coord')
      .usage(
        '$0 <command> [options]\n\nLeases and worktree ownership for parallel work, stored in refs/coord/*.',
      )
      .strict()
      .demandCommand(1, 'name a command (git coord --help lists them)')
      .recommendCommands()
      .help()
      .alias('h', 'help')
      .version(false)
      .wrap(Math.min(110, process.stdout.columns || 80))
      .fail((msg, err) => {
        throw err ?? new UsageError(msg);
      });
    for (const cmd of commands) parser = parser.command(cmd);
    skipHelpCache(parser);
    await parser.parseAsync();
    exitCode = process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    const { reportError } = await import('./output.js');
    exitCode = reportError(err, json);
  }
  return exitCode;
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
