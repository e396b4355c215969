import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `git coord parallel` (DESIGN §9): one `git coord run` child process per key, at most `max` at once,
 * each in its own process group with its output in a log file; a stop (Ctrl-C) sends SIGTERM to every
 * runner (which passes it to its command and closes its lease `aborted`) and SIGKILL after the grace
 * period; with `merge`, every key that ends `done` is merged (`git coord merge`) one at a time, in
 * the order they finished. Nothing here prints: the CLI renders {@link Job} changes.
 */

/** Where a key is: waiting, running, or its final category (the final table's RESULT). */
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'refused' | 'conflict' | 'aborted';

/** What `git coord run --report-file` writes (see src/cli/run/run.ts). */
export interface RunnerReport {
  status: string;
  exitCode: number | null;
  commandExit: number | null;
  signal: string | null;
  attempt: number | null;
  commandPid: number | null;
  message: string;
}

/** One key of a parallel run. */
export interface Job {
  key: string;
  state: JobState;
  /** The runner's status (`done`, `failed`, `gate-failed`, `lost`, `refused`, …) once known. */
  status: string | null;
  exitCode: number | null;
  /** ms since the epoch. */
  startedAt: number | null;
  endedAt: number | null;
  /** The runner's pid (its process group). */
  pid: number | null;
  /** One line: why it ended as it did. */
  detail: string;
  /** The runner's output (stdout and stderr of `run` and of the command). */
  log: string;
  /** With `merge`: `merged`, `conflict`, `failed`, `skipped` (not done), or null (not yet). */
  merge: string | null;
  mergeDetail: string;
}

/** Options of {@link Parallel}. */
export interface ParallelOptions {
  keys: string[];
  max: number;
  /** Where runs happen (the runners' working directory). */
  cwd: string;
  /** Directory for `<key>.log` and `<key>.json` of this parallel run. */
  logDir: string;
  /** Runner process argv (after `process.execPath`) for a key, writing its report to `reportFile`. */
  runnerArgv: (key: string, reportFile: string) => string[];
  /** Merge process argv for a finished key, or undefined for no merging. */
  mergeArgv?: (key: string) => string[];
  /** SIGTERM → SIGKILL, ms (the runners' own grace, plus a margin for them to close their leases). */
  graceMs: number;
  onChange?: (job: Job) => void;
}

/** Maps a runner's report status to the final table's category. */
export function categorize(status: string | null): JobState {
  switch (status) {
    case 'done':
    case 'released':
      return 'done';
    case 'refused':
      return 'refused';
    case 'lost':
    case 'conflict':
      return 'conflict';
    case 'aborted':
      return 'aborted';
    default:
      return 'failed';
  }
}

function readReport(path: string): RunnerReport | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunnerReport;
  } catch {
    return null;
  }
}

function killGroup(pid: number | null, signal: NodeJS.Signals): void {
  if (pid === null) return;
  try {
    process.kill(-pid, signal);
  } catch {}
}

/** Runs the keys; see the module comment. */
export class Parallel {
  readonly jobs: Job[];
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;
  private killTimer: NodeJS.Timeout | null = null;
  private mergeQueue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ParallelOptions) {
    this.jobs = opts.keys.map((key) => ({
      key,
      state: 'queued',
      status: null,
      exitCode: null,
      startedAt: null,
      endedAt: null,
      pid: null,
      detail: '',
      log: join(opts.logDir, `${key}.log`),
      merge: null,
      mergeDetail: '',
    }));
  }

  private changed(job: Job): void {
    this.opts.onChange?.(job);
  }

  /** Runs every key (at most `max` at once) and resolves when all have ended (and merged). */
  async run(): Promise<Job[]> {
    const running = new Set<Promise<void>>();
    for (const job of this.jobs) {
      while (running.size >= this.opts.max && !this.stopping) await Promise.race(running);
      if (this.stopping) break;
      const p = this.start(job).finally(() => running.delete(p));
      running.add(p);
    }
    await Promise.all(running);
    for (const job of this.jobs) {
      if (job.state === 'queued') {
        job.state = 'aborted';
        job.detail = 'not started (stopped)';
        this.changed(job);
      }
    }
    await this.mergeQueue;
    if (this.killTimer) clearTimeout(this.killTimer);
    return this.jobs;
  }

  private start(job: Job): Promise<void> {
    const report = join(this.opts.logDir, `${job.key}.json`);
    const out = openSync(job.log, 'w');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, this.opts.runnerArgv(job.key, report), {
        cwd: this.opts.cwd,
        detached: true,
        stdio: ['ignore', out, out],
      });
    } finally {
      closeSync(out);
    }
    this.children.set(job.key, child);
    job.state = 'running';
    job.startedAt = Date.now();
    job.pid = child.pid ?? null;
    job.detail = `pid ${child.pid}`;
    this.changed(job);
    return new Promise((resolve) => {
      const end = (code: number | null, signal: NodeJS.Signals | null, error?: Error) => {
        this.children.delete(job.key);
        const rep = readReport(report);
        // A runner killed before it could write its report leaves its command's group behind.
        if (rep?.status === 'running') killGroup(rep.commandPid, 'SIGKILL');
        job.endedAt = Date.now();
        job.exitCode = code;
        if (rep && rep.status !== 'running') {
          job.status = rep.status;
          job.state = categorize(rep.status);
          job.detail = rep.message.split('\n')[0]!;
        } else {
          job.status = null;
          job.state = this.stopping ? 'aborted' : 'failed';
          job.detail = error
            ? `could not start the runner: ${error.message}`
            : `the runner ended ${signal ? `by ${signal}` : `with exit ${code}`} without a report`;
        }
        this.changed(job);
        if (this.opts.mergeArgv) this.enqueueMerge(job);
        resolve();
      };
      child.once('error', (e) => end(null, null, e));
      child.once('exit', (code, signal) => end(code, signal));
    });
  }

  /** Merges run one at a time, in the order the keys finished. */
  private enqueueMerge(job: Job): void {
    this.mergeQueue = this.mergeQueue.then(
      () =>
        new Promise<void>((resolve) => {
          if (job.state !== 'done' || this.stopping) {
            job.merge = 'skipped';
            job.mergeDetail = job.state !== 'done' ? `not merged: ${job.state}` : 'not merged: stopped';
            this.changed(job);
            return resolve();
          }
          const log = openSync(job.log, 'a');
          const child = spawn(process.execPath, this.opts.mergeArgv!(job.key), {
            cwd: this.opts.cwd,
            stdio: ['ignore', 'pipe', log],
          });
          closeSync(log);
          let out = '';
          child.stdout!.on('data', (b) => {
            out += b;
          });
          child.once('error', () => {
            job.merge = 'failed';
            this.changed(job);
            resolve();
          });
          child.once('close', (code) => {
            job.merge = code === 0 ? 'merged' : code === 4 ? 'conflict' : 'failed';
            job.mergeDetail = out.trim().split('\n')[0] ?? '';
            this.changed(job);
            resolve();
          });
        }),
    );
  }

  /**
   * Stops everything: no new runs; SIGTERM to each runner (it passes the signal to its command and
   * closes its lease `aborted`), SIGKILL to runners and commands still there after the grace period.
   * A second stop kills at once.
   */
  stop(): void {
    if (this.stopping) {
      this.kill();
      return;
    }
    this.stopping = true;
    for (const [, child] of this.children) {
      try {
        child.kill('SIGTERM');
      } catch {}
    }
    this.killTimer = setTimeout(() => this.kill(), this.opts.graceMs);
  }

  private kill(): void {
    for (const job of this.jobs) {
      if (!this.children.has(job.key)) continue;
      const rep = readReport(join(this.opts.logDir, `${job.key}.json`));
      killGroup(job.pid, 'SIGKILL');
      if (rep?.status === 'running') killGroup(rep.commandPid, 'SIGKILL');
    }
  }

  /** True once {@link stop} was called. */
  get stopped(): boolean {
    return this.stopping;
  }
}
