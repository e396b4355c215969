import { readFileSync } from 'node:fs';
import type { Lease } from '../records/schemas.js';

/**
 * Liveness of lease holders (DESIGN §2). A lease is **stale** when it is `open` and
 * - `holder-dead`: its holder is on this host and `holder.pid` no longer exists (`kill(pid, 0)` gives
 *   ESRCH);
 * - `pid-reused`: the pid exists but its start time (`/proc/<pid>/stat` field 22) differs from the
 *   recorded `holder.pidStart`, so the number now belongs to another process;
 * - `expired`: `now > renewedAt + ttlSeconds + skew`.
 * Process checks come first because they are the more specific reason. A holder with `pid: null`, or on
 * another host, is judged by its TTL alone.
 */
export type StaleReason = 'expired' | 'holder-dead' | 'pid-reused';

/** What liveness needs to know about processes on this host; injectable for tests. */
export interface ProcessProbe {
  /** False only when the process certainly does not exist (ESRCH). */
  alive(pid: number): boolean;
  /** Start time of `pid` in clock ticks since boot, or `null` when unknown (no /proc, gone). */
  startTime(pid: number): number | null;
}

/**
 * Start time of a process in clock ticks since boot: field 22 of `/proc/<pid>/stat` (Linux), read
 * after the last `)` because the command name (field 2) may itself contain spaces and parentheses.
 * `null` where there is no /proc or the process is gone.
 */
export function readPidStart(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  const value = Number(fields[19]);
  return Number.isSafeInteger(value) && value >= 0 ? value : null;
}

/** The real processes of this host. */
export const systemProbe: ProcessProbe = {
  alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code !== 'ESRCH';
    }
  },
  startTime: readPidStart,
};

/** Inputs of {@link staleness}. */
export interface LivenessOptions {
  /** Current time, ms since the epoch. */
  now: number;
  /** Clock-skew allowance, seconds. */
  skewSeconds: number;
  /** The host this process runs on (`currentHost()`). */
  host: string;
  /** Process probe; default {@link systemProbe}. */
  probe?: ProcessProbe;
  /**
   * When this clone first saw the record's current value (ms since the epoch, this host's clock), or
   * null/absent. Set, expiry counts from it instead of `renewedAt` (DESIGN §7: clocks differ between
   * machines; Kubernetes client-go leader election keeps `observedTime` for the same reason).
   */
  observedAt?: number | null;
}

/**
 * When the lease expires, ms since the epoch: `observedAt + ttlSeconds + skew` when the time this
 * clone first saw the record is known (team mode), else `renewedAt + ttlSeconds + skew`.
 */
export function expiresAt(
  lease: Pick<Lease, 'renewedAt' | 'ttlSeconds'>,
  skewSeconds: number,
  observedAt?: number | null,
): number {
  return (observedAt ?? Date.parse(lease.renewedAt)) + (lease.ttlSeconds + skewSeconds) * 1000;
}

/** Why an `open` lease is stale, or `null` when it is live (or not open at all). */
export function staleness(lease: Lease, opts: LivenessOptions): StaleReason | null {
  if (lease.state !== 'open') return null;
  const { pid, pidStart, host } = lease.holder;
  if (pid !== null && host === opts.host) {
    const probe = opts.probe ?? systemProbe;
    if (!probe.alive(pid)) return 'holder-dead';
    if (pidStart !== null) {
      const start = probe.startTime(pid);
      if (start !== null && start !== pidStart) return 'pid-reused';
    }
  }
  return opts.now > expiresAt(lease, opts.skewSeconds, opts.observedAt) ? 'expired' : null;
}

/** A short human description of a stale reason. */
export function describeStale(lease: Lease, reason: StaleReason, skewSeconds: number, now: number): string {
  switch (reason) {
    case 'holder-dead':
      return `its holder process ${lease.holder.pid} on ${lease.holder.host} is gone`;
    case 'pid-reused':
      return `its holder process ${lease.holder.pid} on ${lease.holder.host} is gone (the pid now belongs to another process)`;
    case 'expired':
      return `it expired ${formatAge(now - expiresAt(lease, skewSeconds))} ago (no heartbeat since ${lease.renewedAt})`;
  }
}

/** Formats a duration in ms as `850ms`, `42s`, `3m12s`, `2h05m`, `3d4h`. */
export function formatAge(ms: number): string {
  const neg = ms < 0;
  const abs = Math.abs(ms);
  let out: string;
  if (abs < 1000) out = `${Math.round(abs)}ms`;
  else if (abs < 60_000) out = `${Math.floor(abs / 1000)}s`;
  else if (abs < 3_600_000)
    out = `${Math.floor(abs / 60_000)}m${String(Math.floor(abs / 1000) % 60).padStart(2, '0')}s`;
  else if (abs < 86_400_000)
    out = `${Math.floor(abs / 3_600_000)}h${String(Math.floor(abs / 60_000) % 60).padStart(2, '0')}m`;
  else out = `${Math.floor(abs / 86_400_000)}d${Math.floor(abs / 3_600_000) % 24}h`;
  return neg ? `-${out}` : out;
}
