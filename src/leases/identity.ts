import { userInfo } from 'node:os';
import { hasUnsafeChars, quote } from '../display.js';
import { UsageError } from '../errors.js';
import type { Holder } from '../records/schemas.js';
import { currentHost, type Repo } from '../refs/repo.js';
import { type ProcessProbe, systemProbe } from './liveness.js';

/** Explicit identity options (CLI flags). */
export interface IdentityOptions {
  /** `--holder`. */
  holder?: string;
  /** `--pid`. */
  pid?: number | string | null;
}

/** Where the caller's holder id came from, as the messages name it. */
export type IdentitySource =
  | '--holder'
  | '$COORD_HOLDER'
  | 'git config coord.holder'
  | 'git config user.email';

/** The caller's holder id and where it came from. */
export interface Identity {
  id: string;
  source: IdentitySource;
}

/**
 * The caller's holder id (DESIGN §2) and its source: `--holder` > `$COORD_HOLDER` > `git config
 * coord.holder` > `git config user.email`. Reads git config only when the first two are unset (an
 * empty `$COORD_HOLDER` counts as unset; an empty `--holder` is refused, never skipped).
 *
 * @throws UsageError `no-identity` when none is set, `invalid-holder` for an unusable value (empty
 *   `--holder`, over 200 characters, control or bidi characters).
 */
export function resolveIdentity(repo: Pick<Repo, 'config'>, explicit?: string): Identity {
  let found: Identity | null = null;
  if (explicit !== undefined) {
    if (explicit.trim() === '') {
      throw new UsageError(
        '--holder needs a non-empty id (or leave it out: $COORD_HOLDER, git config coord.holder, user.email)',
        'invalid-holder',
      );
    }
    found = { id: explicit, source: '--holder' };
  } else if (process.env.COORD_HOLDER) {
    found = { id: process.env.COORD_HOLDER, source: '$COORD_HOLDER' };
  } else {
    const cfg = repo.config();
    const holder = cfg.get('coord.holder');
    const email = cfg.get('user.email');
    if (holder) found = { id: holder, source: 'git config coord.holder' };
    else if (email) found = { id: email, source: 'git config user.email' };
  }
  if (!found) {
    throw new UsageError(
      'who are you? Set an identity: --holder ID, $COORD_HOLDER, `git config coord.holder ID` or ' +
        '`git config user.email EMAIL`.',
      'no-identity',
    );
  }
  if (found.id.length > 200 || hasUnsafeChars(found.id)) {
    throw new UsageError(
      `invalid holder id ${quote(found.id, 60)} (from ${found.source}): 1-200 characters, no control or bidi characters`,
      'invalid-holder',
    );
  }
  return found;
}

/** The caller's holder id: {@link resolveIdentity} without the source. @throws UsageError */
export function resolveHolderId(repo: Pick<Repo, 'config'>, explicit?: string): string {
  return resolveIdentity(repo, explicit).id;
}

/** Largest pid a kernel can hand out (Linux PID_MAX_LIMIT is 2^22; pids are 32-bit signed everywhere). */
const PID_MAX = 2 ** 31 - 1;

/**
 * The long-lived agent process to record (`--pid` > `$COORD_PID` > none). The CLI's own pid is never
 * recorded: it exits at once. The process must exist on this host now: a lease recorded with a dead
 * pid would be "holder dead" (free for anyone to take over) the moment it is written.
 *
 * @throws UsageError `invalid-pid` for anything but a positive integer up to 2^31-1, `dead-pid` for a
 *   pid with no process on this host.
 */
export function resolvePid(
  explicit?: number | string | null,
  probe: ProcessProbe = systemProbe,
): number | null {
  const fromFlag = explicit !== undefined && explicit !== null;
  const raw = fromFlag ? explicit : process.env.COORD_PID;
  const source = fromFlag ? '--pid' : '$COORD_PID';
  if (raw === undefined || raw === null || (raw === '' && !fromFlag)) return null;
  const pid = typeof raw === 'number' ? raw : /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > PID_MAX) {
    throw new UsageError(
      `invalid pid ${JSON.stringify(String(raw))} (from ${source}): a positive integer, the agent process to watch`,
      'invalid-pid',
    );
  }
  if (!probe.alive(pid)) {
    throw new UsageError(
      `no process ${pid} on this host (from ${source}): the pid must be a running, long-lived agent process ` +
        '(a dead one would free the lease at once); leave it out to rely on the TTL alone',
      'dead-pid',
    );
  }
  return pid;
}

/** OS user name of the caller, or `null`. */
export function osUser(): string | null {
  try {
    const name = userInfo().username;
    return name && !hasUnsafeChars(name) ? name.slice(0, 200) : null;
  } catch {
    return process.env.USER || null;
  }
}

/**
 * The full holder record of the caller: id, host (`$COORD_HOST` > hostname), pid and its start time
 * (so PID reuse can be detected), OS user.
 */
export function resolveHolder(
  repo: Pick<Repo, 'config'>,
  opts: IdentityOptions = {},
  probe: ProcessProbe = systemProbe,
): Holder {
  const id = resolveHolderId(repo, opts.holder);
  const pid = resolvePid(opts.pid, probe);
  const host = currentHost();
  if (host.length > 255 || hasUnsafeChars(host)) {
    throw new UsageError(
      `invalid host name ${quote(host, 60)} (from $COORD_HOST or the hostname): 1-255 characters, no control or bidi characters`,
      'invalid-host',
    );
  }
  return {
    id,
    host,
    pid,
    pidStart: pid === null ? null : probe.startTime(pid),
    user: osUser(),
  };
}
