/**
 * Prints the demo as a numbered story (what is attempted, the command, its output, the expected
 * outcome) and stops at the first outcome that differs from what was expected.
 */
import type { CommandResult } from './agents.js';

/** An expected outcome did not happen: names the step and what was expected. */
export class UnexpectedOutcome extends Error {
  constructor(step: number, title: string, expected: string, detail?: string) {
    super(`step ${step} (${title}): expected ${expected}${detail ? `\n${detail}` : ''}`);
    this.name = 'UnexpectedOutcome';
  }
}

const MAX_OUTPUT_LINES = 40;

/** The story printer and checker. */
export class Story {
  private n = 0;
  private title = '';
  private checks = 0;
  /** Absolute path prefix shown as `<label>` in command locations. */
  private readonly root: string;
  private readonly label: string;
  private readonly out: (s: string) => void;

  constructor(root: string, label: string, out: (s: string) => void = (s) => process.stdout.write(s)) {
    this.root = root;
    this.label = label;
    this.out = out;
  }

  /** Starts the next numbered step. */
  step(title: string, why?: string): void {
    this.n++;
    this.title = title;
    this.out(`\n${String(this.n).padStart(2)}. ${title}\n`);
    if (why) this.out(`    ${why}\n`);
  }

  /** Prints a command as `who  dir $ cmd` followed by its (indented, shortened) output. */
  command(who: string, cwd: string, cmd: string, res: CommandResult): void {
    const where = cwd.startsWith(this.root) ? `${this.label}${cwd.slice(this.root.length)}` : cwd;
    this.out(`    [${who}] ${where} $ ${cmd}\n`);
    const text = `${res.stdout}${res.stderr}`.replace(/\s+$/, '');
    if (text) {
      const lines = text.split('\n');
      const shown = lines.length > MAX_OUTPUT_LINES ? [...lines.slice(0, MAX_OUTPUT_LINES), '…'] : lines;
      this.out(`${shown.map((l) => `      ${l}`).join('\n')}\n`);
    }
    this.out(`      (exit ${res.code})\n`);
  }

  /** A remark in the story. */
  say(text: string): void {
    this.out(`    ${text}\n`);
  }

  /**
   * Checks one expected outcome: prints `✓ <expected>` or throws {@link UnexpectedOutcome}.
   *
   * @throws UnexpectedOutcome when `ok` is false.
   */
  expect(ok: boolean, expected: string, detail?: string): void {
    if (!ok) throw new UnexpectedOutcome(this.n, this.title, expected, detail);
    this.checks++;
    this.out(`    ✓ ${expected}\n`);
  }

  /** Number of checks that passed so far. */
  get passed(): number {
    return this.checks;
  }

  /** Number of steps so far. */
  get steps(): number {
    return this.n;
  }
}
