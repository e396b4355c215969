/**
 * Driver side of the demo agents (demo/agent.ts): starts each agent as a real child process with its
 * own identity and sends it shell commands to run.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Outcome of one shell command. */
export interface CommandResult {
  /** Exit status (128 + signal number style 128 when killed). */
  code: number;
  stdout: string;
  stderr: string;
}

/** A running agent process. */
export class Agent {
  /** Holder id (`COORD_HOLDER`). */
  readonly name: string;
  /** Process id of the agent, recorded as `holder.pid` in the leases it claims. */
  readonly pid: number;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;

  private constructor(name: string, child: ChildProcessWithoutNullStreams, lines: AsyncIterator<string>) {
    this.name = name;
    this.child = child;
    this.lines = lines;
    this.pid = child.pid!;
  }

  /**
   * Starts `demo/agent.ts` as holder `name` with `env` added to this process's environment. Resolves
   * once the agent has announced itself.
   */
  static async start(name: string, env: Record<string, string>): Promise<Agent> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'agent.ts')], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, ...env, COORD_HOLDER: name },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const agent = new Agent(name, child, lines);
    await agent.nextLine();
    return agent;
  }

  private async nextLine(): Promise<string> {
    const r = await this.lines.next();
    if (r.done) throw new Error(`agent ${this.name} (pid ${this.pid}) exited unexpectedly`);
    return r.value;
  }

  /** Runs `cmd` with `bash -c` in `cwd` inside the agent process; resolves with its result. */
  async run(cmd: string, cwd: string): Promise<CommandResult> {
    this.child.stdin.write(`${JSON.stringify({ cmd, cwd })}\n`);
    return JSON.parse(await this.nextLine()) as CommandResult;
  }

  /** Kills the agent with SIGKILL and waits until it is gone. */
  async kill(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }

  /** Ends the agent normally (closes its stdin) and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    await exited;
  }
}
