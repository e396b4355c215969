import { readFileSync } from 'node:fs';
import { displaySafe } from '../../display.js';
import { inputFromEnv, preReceive } from '../../hooks/server/receive.js';
import { faultPoint } from '../../refs/fault.js';
import { discoverRepo } from '../../refs/repo.js';
import type { ServerHookArgs } from '../commands/server-hook.js';

/**
 * `git coord server-hook pre-receive`: decides the push (src/hooks/server/receive.ts) and sets the
 * exit status git acts on. Any failure refuses the push (fails closed), with the reason on stderr
 * (`remote:` lines for the pusher); COORD_DEBUG=1 adds the stack.
 */
export async function handle(_argv: ServerHookArgs): Promise<void> {
  try {
    const repo = discoverRepo(process.cwd());
    const code = preReceive(repo, inputFromEnv(readFileSync(0, 'utf8')), {
      err: (line) => process.stderr.write(`${line}\n`),
    });
    faultPoint('receive-judged'); // killed here, git sees the hook die and refuses the push
    process.exitCode = code;
  } catch (err) {
    const e = err as Error;
    process.stderr.write(
      `git-coord: the server's pre-receive check failed, refusing the push: ${displaySafe(e.message)}\n`,
    );
    if (process.env.COORD_DEBUG === '1' && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  }
}
