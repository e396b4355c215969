import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UsageError } from '../errors.js';
import { commands } from './commands/index.js';
import { reportError } from './output.js';

/**
 * The `git-coord` entry point (also `git coord …`). Parses arguments with yargs, runs one command,
 * and maps errors to the exit codes of DESIGN §4.
 */
export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  let exitCode = 0;
  try {
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
    await parser.parseAsync();
    exitCode = process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    exitCode = reportError(err, json);
  }
  return exitCode;
}

main(hideBin(process.argv)).then((code) => {
  process.exitCode = code;
});
