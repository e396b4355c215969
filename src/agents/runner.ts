import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { CoordError, ExitCode } from '../errors.js';
import { gateRecord, runLeaseGate } from '../gates/lease.js';
import { type AttemptEnd, attemptCount } from '../leases/attempts.js';
import type { LeaseContext } from '../leases/context.js';
import {
  AttemptBudgetError,
  LeaseLostError,
  LeaseNotFoundError,
  LeaseStateError,
  RunInProgressError,
} from '../leases/errors.js';
import { resolveHolder } from '../leases/identity.js';
import { endAttempt, startAttempt } from '../leases/ops/attempt.js';
import { type ClaimOptions, claim } from '../leases/ops/claim.js';
import { crash } from '../leases/ops/crash.js';
import { done } from '../leases/ops/done.js';
import { fail } from '../leases/ops/fail.js';
import { release } from '../leases/ops/release.js';
import { renew } from '../leases/ops/renew.js';
import { readLease } from '../leases/state.js';
import type { Holder, Lease } from '../records/schemas.js';
import { acquireSlot, type PoolSpec, releaseSlot, renewSlot, type Slot } from './pool.js';

/**
 * `git coord run` (DESIGN §9): one command run under a lease. Claims (or re-enters) the lease with the
 * runner's own pid as `holder.pid`, records an attempt, runs the command in the lease's worktree in its
 * own process group, heartbeats with the token every ttl/3, stops the command when the lease is lost,
 * and closes the lease by how the command ended. Nothing here prints: progress goes to `onEvent`.
 */

/** What the runner reports while it works (the CLI prints these on stderr). */
export type RunEvent =
  | { kind: 'waiting-slot'; pool: string }
  | { kind: 'slot'; key: string }
  | { kind: 'claimed'; lease: Lease; action: string; warnings: string[] }
  | { kind: 'started'; attempt: number; pid: number; cwd: string }
  | { kind: 'heartbeat-failed'; message: string }
  | { kind: 'lost'; message: string }
  | { kind: 'signal'; signal: NodeJS.Signals; forwarded: boolean }
  | { kind: 'killing'; signal: NodeJS.Signals; reason: string };

/** How a run ended. `status` names what happened to the lease. */
export type RunStatus =
  | 'done'
  | 'released'
  | 'failed'
  | 'kept'
  | 'gate-failed'
  | 'lost'
  | 'aborted'
  | 'crashed';

/** The result of {@link runUnderLease}. */
export interface RunOutcome {
  key: string;
  status: RunStatus;
  /** The runner's exit code: the command's (128 + signal number for a signal), or 3 (lost) / 4 (gate). */
  exitCode: number;
  /** The command's own exit code, or `null` (signal, never started). */
  commandExit: number | null;
  /** The signal that ended the command, or `null`. */
  signal: NodeJS.Signals | null;
  attempt: number;
  token: number;
  /** What happened, in one or a few lines. */
  message: string;
  /** The lease as last written by the runner (or read, when lost). */
  lease: Lease | null;
}

/** Options of {@link runUnderLease}. */
export interface RunOptions {
  key: string;
  /** The command and its arguments (no shell). */
  command: string[];
  /** Claim options (`--branch`, `--base`, `--worktree`/`--no-worktree`, `--ttl`, `--note`, `--takeover`). */
  claim: Omit<ClaimOptions, 'key' | 'holder'>;
  /** `--holder` (default `$COORD_HOLDER`, git config). */
  holder?: string;
  /** `--release`: on exit 0 release instead of `done` (no gate). */
  release?: boolean;
  /** `--keep`: on a non-zero exit keep the lease open instead of closing it `failed`. */
  keep?: boolean;
  /** `--max-attempts N`: refuse when N runs were made on the key already (AttemptBudgetError, exit 4). */
  maxAttempts?: number;
  /** Time between SIGTERM and SIGKILL when the command is stopped, ms. */
  graceMs: number;
  /** `--pool NAME:N`: hold one of N slot leases while running. */
  pool?: PoolSpec;
  onEvent?: (e: RunEvent) => void;
  /** Called once the command runs, with its pid (= its process group). */
  onSpawn?: (pid: number) => void;
}

/** A lease write found the lease no longer ours: taken over, closed, cleared. */
function isLost(err: unknown): err is CoordError {
  return (
    err instanceof LeaseLostError ||
    err instanceof LeaseNotFoundError ||
    (err instanceof LeaseStateError && err.code === 'not-open')
  );
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** 128 + the signal's number, as a shell reports a command killed by it. */
export function signalExit(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/** Sends `signal` to the process group `pgid`; false when it is gone. */
function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `opts.command` under lease `opts.key`; see the module comment. Errors before the command starts
 * are thrown (LeaseHeldError, LeaseStaleError, BranchHeldError: exit 3; AttemptBudgetError: exit 4;
 * RunInProgressError: exit 3); once it runs, every ending is an outcome.
 */
export async function runUnderLease(ctx: LeaseContext, opts: RunOptions): Promise<RunOutcome> {
  const emit = opts.onEvent ?? (() => {});
  const holder = resolveHolder(ctx.repo, { holder: opts.holder, pid: process.pid }, ctx.probe);
  const signals = new SignalState(emit);
  signals.install();
  let slot: Slot | null = null;
  try {
    if (opts.maxAttempts !== undefined) {
      const cur = await readLease(ctx.repo, opts.key);
      if (cur && attemptCount(cur.record) >= opts.maxAttempts)
        throw new AttemptBudgetError(opts.key, opts.maxAttempts, cur.record.attempts ?? []);
    }
    const ttlSeconds = opts.claim.ttlSeconds ?? ctx.config.ttlSeconds;
    if (opts.pool) {
      slot = await acquireSlot(ctx, opts.pool, holder, {
        ttlSeconds,
        forKey: opts.key,
        stopped: () => signals.received !== null,
        onWait: () => emit({ kind: 'waiting-slot', pool: opts.pool!.name }),
      });
      if (!slot) throw interrupted(signals.received!, 'while waiting for a pool slot');
      emit({ kind: 'slot', key: slot.key });
    }
    if (signals.received) throw interrupted(signals.received, 'before the lease was claimed');
    const claimed = await claimOrReenter(ctx, opts, holder, ttlSeconds);
    emit({ kind: 'claimed', lease: claimed.lease, action: claimed.action, warnings: claimed.warnings });
    const token = claimed.lease.token;
    let started: { lease: Lease; attempt: { number: number } };
    try {
      started = await startAttempt(ctx, {
        key: opts.key,
        holder: holder.id,
        token,
        pid: process.pid,
        maxAttempts: opts.maxAttempts,
        holderRecord: holder,
        ttlSeconds: opts.claim.ttlSeconds,
      });
    } catch (err) {
      if (err instanceof RunInProgressError) {
        // Another runner of ours runs it (our claim may have re-entered it): give it back its pid.
        const pid = err.attempt.pid;
        const back = pid === null ? undefined : { ...holder, pid, pidStart: ctx.probe.startTime(pid) };
        if (back)
          await renew(ctx, { key: opts.key, holder: holder.id, token, holderRecord: back }).catch(() => {});
      } else if (claimed.action !== 'reentered' && !isLost(err)) {
        // Refused after a fresh claim (a racing run used the budget): do not leave a lease behind.
        await release(ctx, { key: opts.key, holder: holder.id, token }).catch(() => {});
      }
      throw err;
    }
    const run = new Run(ctx, opts, holder, token, started.attempt.number, started.lease, signals, slot);
    return await run.execute();
  } finally {
    signals.uninstall();
    if (slot) await releaseSlot(ctx, slot).catch(() => {});
  }
}

/**
 * The caller's own open lease is used as it is (its attempt start checks, in the same CAS, that no other
 * live runner of ours has it); anything else goes through `claim`.
 */
async function claimOrReenter(
  ctx: LeaseContext,
  opts: RunOptions,
  holder: Holder,
  ttlSeconds: number,
): Promise<{ lease: Lease; action: string; warnings: string[] }> {
  const cur = await readLease(ctx.repo, opts.key);
  const mine = cur?.record.state === 'open' && cur.record.holder.id === holder.id;
  if (mine && opts.claim.branch === undefined && opts.claim.worktree === undefined)
    return { lease: cur.record, action: 'reentered', warnings: [] };
  return claim(ctx, { ...opts.claim, key: opts.key, holder, ttlSeconds });
}

/** A run stopped by a signal before its command started (exit 128 + n). */
export class RunInterruptedError extends CoordError {
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals, when: string) {
    super('interrupted', `interrupted by ${signal} ${when}; nothing was run`, ExitCode.error);
    this.signal = signal;
  }
}

function interrupted(signal: NodeJS.Signals, when: string): RunInterruptedError {
  return new RunInterruptedError(signal, when);
}

/** SIGINT/SIGTERM/SIGHUP while running: remembered, and forwarded to the command once it runs. */
class SignalState {
  received: NodeJS.Signals | null = null;
  count = 0;
  private onSignal: ((s: NodeJS.Signals) => void) | null = null;
  private readonly handlers = new Map<NodeJS.Signals, () => void>();
  constructor(private readonly emit: (e: RunEvent) => void) {}

  install(): void {
    for (const s of SIGNALS) {
      const h = () => {
        this.received ??= s;
        this.count++;
        if (this.onSignal) this.onSignal(s);
        else this.emit({ kind: 'signal', signal: s, forwarded: false });
      };
      this.handlers.set(s, h);
      process.on(s, h);
    }
  }

  /** From now on a signal goes to `fn` (the running command). */
  route(fn: (s: NodeJS.Signals) => void): void {
    this.onSignal = fn;
  }

  uninstall(): void {
    for (const [s, h] of this.handlers) process.off(s, h);
    this.handlers.clear();
  }
}

/** One attempt: the command, its heartbeat and its ending. */
class Run {
  private child: ChildProcess | null = null;
  private lostMessage: string | null = null;
  private killTimer: NodeJS.Timeout | null = null;
  private beat: NodeJS.Timeout | null = null;
  private beating = true;
  private inflight: Promise<void> = Promise.resolve();
  private lastAck = Date.now();
  private lease: Lease;

  constructor(
    private readonly ctx: LeaseContext,
    private readonly opts: RunOptions,
    private readonly holder: Holder,
    private readonly token: number,
    private readonly attempt: number,
    lease: Lease,
    private readonly signals: SignalState,
    private readonly slot: Slot | null,
  ) {
    this.lease = lease;
  }

  private emit(e: RunEvent): void {
    this.opts.onEvent?.(e);
  }

  /** Where the command runs: the lease's worktree on this host, else the caller's directory. */
  private cwd(): string {
    const wt = this.lease.worktree;
    if (wt && wt.host === this.ctx.host && existsSync(wt.path)) return wt.path;
    return this.opts.claim.cwd ?? process.cwd();
  }

  async execute(): Promise<RunOutcome> {
    const cwd = this.cwd();
    const [cmd, ...args] = this.opts.command;
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
      (resolve) => {
        const child = spawn(cmd!, args, {
          cwd,
          // Its own process group, so that stopping it reaches everything it started.
          detached: true,
          stdio: [process.stdin.isTTY ? 'ignore' : 'inherit', 'inherit', 'inherit'],
          env: {
            ...process.env,
            COORD_KEY: this.opts.key,
            COORD_HOLDER: this.holder.id,
            COORD_TOKEN: String(this.token),
            COORD_WORKTREE: cwd,
            COORD_ATTEMPT: String(this.attempt),
            COORD_PID: String(process.pid),
          },
        });
        this.child = child;
        child.once('error', (error) => resolve({ code: null, signal: null, error }));
        child.once('exit', (code, signal) => resolve({ code, signal }));
      },
    );
    if (this.child?.pid !== undefined) {
      this.emit({ kind: 'started', attempt: this.attempt, pid: this.child.pid, cwd });
      this.opts.onSpawn?.(this.child.pid);
    }
    this.signals.route((s) => this.forward(s));
    // A signal that came while claiming goes to the command as soon as it exists.
    if (this.signals.received) this.forward(this.signals.received);
    this.schedule();
    const res = await ended;
    if (this.killTimer) clearTimeout(this.killTimer);
    const pid = this.child?.pid;
    // Whatever the command left running in its group goes with it.
    if (pid !== undefined) killGroup(pid, 'SIGTERM');
    return this.finish(res.code, res.signal, res.error);
  }

  /** Heartbeat every ttl/3 (a chain of timeouts, so renewals never overlap). */
  private schedule(): void {
    const every = Math.max(200, (this.lease.ttlSeconds * 1000) / 3);
    this.beat = setTimeout(() => {
      this.inflight = this.heartbeat();
      void this.inflight.then(() => {
        if (this.beating && !this.lostMessage) this.schedule();
      });
    }, every);
  }

  /**
   * Stops the heartbeat (and waits for one in flight) before the writes that end the attempt. It runs
   * on after the command ends while the gate does (a gate rule may run tests for minutes).
   */
  private async quiet(): Promise<void> {
    this.beating = false;
    if (this.beat) clearTimeout(this.beat);
    await this.inflight;
  }

  private async heartbeat(): Promise<void> {
    try {
      // The holder record too: a second runner of ours that re-entered and was refused may have moved pid.
      this.lease = await renew(this.ctx, {
        key: this.opts.key,
        holder: this.holder.id,
        token: this.token,
        holderRecord: this.holder,
      });
      this.lastAck = Date.now();
      if (this.slot) await renewSlot(this.ctx, this.slot).catch(() => {});
    } catch (err) {
      if (isLost(err)) {
        this.lose(err.message);
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      this.emit({ kind: 'heartbeat-failed', message });
      // No acknowledged heartbeat for a whole TTL: others may see it expired and take it over.
      if (Date.now() - this.lastAck > this.lease.ttlSeconds * 1000)
        this.lose(
          `no heartbeat of lease ${this.opts.key} succeeded for ${this.lease.ttlSeconds}s (${message})`,
        );
    }
  }

  /** The lease is lost: stop the command (SIGTERM to its group, SIGKILL after the grace period). */
  private lose(message: string): void {
    if (this.lostMessage) return;
    this.lostMessage = message;
    this.emit({ kind: 'lost', message });
    this.stop('SIGTERM', 'the lease was lost');
  }

  /** A signal to the runner: the first goes to the command's group; a second one kills it. */
  private forward(signal: NodeJS.Signals): void {
    this.emit({ kind: 'signal', signal, forwarded: true });
    if (this.signals.count > 1) this.kill('a second signal');
    else this.stop(signal, `the runner got ${signal}`);
  }

  private stop(signal: NodeJS.Signals, reason: string): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    this.emit({ kind: 'killing', signal, reason });
    killGroup(pid, signal);
    this.killTimer ??= setTimeout(
      () => this.kill(`still running ${this.opts.graceMs}ms after ${signal}`),
      this.opts.graceMs,
    );
  }

  private kill(reason: string): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    this.emit({ kind: 'killing', signal: 'SIGKILL', reason });
    killGroup(pid, 'SIGKILL');
  }

  private outcome(
    status: RunStatus,
    exitCode: number,
    commandExit: number | null,
    signal: NodeJS.Signals | null,
    message: string,
  ): RunOutcome {
    return {
      key: this.opts.key,
      status,
      exitCode,
      commandExit,
      signal,
      attempt: this.attempt,
      token: this.token,
      message,
      lease: this.lease,
    };
  }

  /** Records the attempt's end and closes (or keeps) the lease by how the command ended. */
  private async finish(
    code: number | null,
    signal: NodeJS.Signals | null,
    error?: Error,
  ): Promise<RunOutcome> {
    const key = this.opts.key;
    const by = signal ? ` by ${signal}` : ` exit ${code}`;
    const gated = code === 0 && !signal && !error && !this.signals.received && !this.opts.release;
    if (!gated) await this.quiet();
    if (this.lostMessage) {
      return this.outcome(
        'lost',
        ExitCode.conflict,
        code,
        signal,
        `${this.lostMessage}\nthe command was stopped${by}; exit 3`,
      );
    }
    if (error) code = 127;
    const exit = code ?? signalExit(signal!);
    const ids = { key, holder: this.holder.id, token: this.token };
    const open: Holder = { ...this.holder, pid: null, pidStart: null };
    try {
      if (this.signals.received) {
        const reason = `interrupted by ${this.signals.received}; the command ended${by}`;
        await this.record({ result: 'aborted', exit: code, signal, reason });
        this.lease = await fail(this.ctx, { ...ids, outcome: 'aborted' });
        return this.outcome('aborted', exit, code, signal, `lease ${key} closed aborted: ${reason}`);
      }
      if (signal) {
        const reason = `the command was killed by ${signal}`;
        await this.record({ result: 'crashed', exit: null, signal, reason });
        this.lease = await crash(this.ctx, { key, by: this.holder.id, reason });
        return this.outcome('crashed', exit, null, signal, `lease ${key} marked crashed: ${reason}`);
      }
      if (code !== 0) {
        const why = error ? `could not start ${this.opts.command[0]}: ${error.message}` : `exit ${code}`;
        if (this.opts.keep) {
          this.lease = await this.record(
            { result: 'kept', exit: code, signal: null, reason: `${why}; kept open (--keep)` },
            open,
          );
          return this.outcome(
            'kept',
            exit,
            code,
            null,
            `${why}; lease ${key} stays open (--keep), token ${this.token}`,
          );
        }
        await this.record({ result: 'failed', exit: code, signal: null, reason: why });
        this.lease = await fail(this.ctx, { ...ids, outcome: 'failed' });
        return this.outcome(
          'failed',
          exit,
          code,
          null,
          `${why}; lease ${key} closed failed (attempt ${this.attempt})`,
        );
      }
      if (this.opts.release) {
        await this.record({
          result: 'released',
          exit: 0,
          signal: null,
          reason: 'exit 0; released (--release)',
        });
        this.lease = (await release(this.ctx, ids)).lease;
        return this.outcome('released', 0, 0, null, `exit 0; lease ${key} released`);
      }
      return await this.gateAndDone();
    } catch (err) {
      if (isLost(err)) {
        this.opts.onEvent?.({ kind: 'lost', message: err.message });
        return this.outcome('lost', ExitCode.conflict, code, signal, `${err.message}\nexit 3`);
      }
      throw err;
    }
  }

  private record(end: AttemptEnd, holderRecord?: Holder): Promise<Lease> {
    return endAttempt(this.ctx, {
      key: this.opts.key,
      holder: this.holder.id,
      token: this.token,
      end,
      holderRecord,
    });
  }

  /** Exit 0: the `done` gate on the branch head decides; a failing gate keeps the lease open (exit 4). */
  private async gateAndDone(): Promise<RunOutcome> {
    const key = this.opts.key;
    let gateRun: Awaited<ReturnType<typeof runLeaseGate>>;
    try {
      gateRun = await runLeaseGate(this.ctx, key, this.lease);
    } finally {
      await this.quiet();
    }
    const { evaluation: ev, source, runs } = gateRun;
    if (this.lostMessage) {
      return this.outcome(
        'lost',
        ExitCode.conflict,
        0,
        null,
        `${this.lostMessage}\nlost while its gate ran; exit 3`,
      );
    }
    if (ev.result === 'failed') {
      const missing = ev.rules.filter((r) => r.status === 'fail').map((r) => `${r.rule}: ${r.detail}`);
      const reason = `exit 0 but gate ${ev.gate} fails on ${source}`;
      // Kept open for its holder, judged by TTL alone now that the runner is gone.
      this.lease = await this.record(
        {
          result: 'gate-failed',
          exit: 0,
          signal: null,
          reason: `${reason}: ${missing.join('; ')}`.slice(0, 4000),
        },
        { ...this.holder, pid: null, pidStart: null },
      );
      return this.outcome(
        'gate-failed',
        ExitCode.refused,
        0,
        null,
        `${reason} (${ev.commit?.slice(0, 12)}); lease ${key} stays open.\n` +
          missing.map((m) => `  missing: ${m}`).join('\n') +
          `\nCommit what is missing, then \`git coord done ${key}\` or run it again.`,
      );
    }
    const gate = gateRecord(ev, this.holder.id, this.ctx.now(), null, runs);
    await this.record({
      result: 'done',
      exit: 0,
      signal: null,
      reason: gate ? `gate ${gate.result}` : 'no gate applies',
    });
    this.lease = await done(this.ctx, { key, holder: this.holder.id, token: this.token, gate });
    return this.outcome(
      'done',
      0,
      0,
      null,
      `exit 0; lease ${key} done${gate ? ` (gate ${gate.result})` : ''}`,
    );
  }
}
