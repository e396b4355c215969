import { fstatSync, statSync, writeSync } from 'node:fs';
import { sleepSync } from '../refs/lock.js';

/**
 * The CLI's standard output and error, written with `write(2)` on file descriptors 1 and 2 as git
 * writes them (write_in_full: partial writes continued, EAGAIN waited out), never through
 * `process.stdout` / `process.stderr`. Those streams are made on first use and, for a pipe or a
 * terminal, load node's `net` and `stream` modules: ~5 ms of a ~90 ms command whose output is read by
 * a pipe (issue 12, measured on the 2-core machine: `process.stdout.write` to a pipe +5.8 ms wall over
 * an empty script, `fs.writeSync(1)` +0.9 ms).
 *
 * A reader that went away (`git coord list --json | head -c 300`) makes a write fail with EPIPE
 * (node ignores SIGPIPE, where git is killed by it): from then on everything written to that
 * descriptor is dropped without a message, and the command finishes its work and exits with its own
 * status (a write half done is never cut short by a closed pipe).
 */

/** File descriptors whose reader has gone (EPIPE): nothing more is written to them. */
const closed = new Set<number>();

/** Writes `text` (UTF-8) to fd `fd` in full. @throws the fs error for anything but EPIPE and EAGAIN */
function writeAll(fd: 1 | 2, text: string): void {
  if (closed.has(fd) || text === '') return;
  const bytes = Buffer.from(text, 'utf8');
  for (let off = 0, waits = 0; off < bytes.length; ) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off);
      waits = 0;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') {
        closed.add(fd);
        return;
      }
      // A non-blocking descriptor shared with another process (a terminal or pipe its parent made
      // O_NONBLOCK) is full: wait for the reader, 1 ms then longer, up to 50 ms a round.
      if (code !== 'EAGAIN') throw err;
      sleepSync(Math.min(50, ++waits));
    }
  }
}

/** Writes `text` to standard output. */
export function writeOut(text: string): void {
  writeAll(1, text);
}

/** Writes `text` to standard error. */
export function writeErr(text: string): void {
  writeAll(2, text);
}

/**
 * True when fd `fd` is a terminal (isatty(3)). Only a character device can be one, so pipes and files
 * are answered by one fstat, and `/dev/null` (a character device, never a terminal: `git coord list
 * > /dev/null`) by a stat of it; node's `tty` module (which loads `net` and `stream`, ~5 ms) is asked
 * only for another character device.
 */
export function isTerminal(fd: 1 | 2): boolean {
  try {
    const st = fstatSync(fd);
    if (!st.isCharacterDevice() || st.rdev === statSync('/dev/null', { throwIfNoEntry: false })?.rdev)
      return false;
  } catch {
    return false; // closed
  }
  return process.getBuiltinModule('node:tty').isatty(fd);
}
