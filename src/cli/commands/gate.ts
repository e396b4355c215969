import type { CommandModule } from 'yargs';
import { type JsonArgs, withJson, withKey } from '../options.js';

/** Options of `git coord gate`. */
export interface GateArgs extends JsonArgs {
  key: string;
  rev?: string;
  gate?: string;
}

export const gateCommand: CommandModule<object, GateArgs> = {
  command: 'gate <key>',
  describe: "evaluate a lease's artifact gate on its branch head (changes nothing)",
  builder: (y) =>
    withJson(withKey(y))
      .option('rev', { type: 'string', describe: 'evaluate on this commit instead of the lease branch head' })
      .option('gate', { type: 'string', describe: 'gate name in .coord/config.json (default: done)' })
      .epilogue(
        'Prints every rule with pass / fail / skip. Exit 0 when the gate passes or is skipped (no `when` match), ' +
          '4 when it fails.',
      ) as never,
  handler: async (argv) => (await import('../run/gate.js')).handle(argv),
};
