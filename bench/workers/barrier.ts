/**
 * Start barrier shared by the registry benchmark writers: a writer prints `ready`, waits for one line
 * (`go`) on stdin, runs, and prints one JSON line with its result. Process start-up (node + tsx) is
 * therefore outside the measured window and every writer starts at the same moment.
 */
import { createInterface } from 'node:readline';

/** What one writer reports when it is done. */
export interface WriterResult {
  /** Updates this writer believes it applied. */
  applied: number;
  /** Updates it gave up on (e.g. a CAS lost for the whole retry budget). */
  gaveUp: number;
  /** Retries (lost CAS or lock found busy) along the way. */
  retries: number;
}

/** Waits for `go` on stdin, runs `body`, prints its result as one JSON line on stdout. */
export async function runAfterGo(body: () => Promise<WriterResult> | WriterResult): Promise<void> {
  process.stdout.write('ready\n');
  const rl = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => rl.once('line', () => resolve()));
  rl.close();
  const result = await body();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
