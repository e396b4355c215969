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

/**
 * The caller's holder id (DESIGN §2): `--holder` > `$COORD_HOLDER` > `git config coord.holder` >
 * `git config user.email`. Reads git config only when the first two are unset.
 *
 * @throws UsageError `no-identity` when none is set, `invalid-holder` for an unusable value.
 */
export function resolveHolderId(repo: Pick<Repo, 'config'>, explicit?: string): string {
  let id = explicit || process.env.COORD_HOLDER;
  if (!id) {
    const cfg = repo.config();
    id = cfg.get('coord.holder') || cfg.get('user.email');
  }
  if (!id) {
    throw new UsageError(
      'who are you? Set an identity: --holder ID, $COORD_HOLDER, `git config coord.holder ID` or ' +
        '`git config user.email EMAIL`.',
      'no-identity',
    );
  }
  if (id.length > 200 || hasUnsafeChars(id)) {
    throw new UsageError(
      `invalid holder id ${quote(id, 60)}: 1-200 characters, no control or bidi characters`,
      'invalid-holder',
    );
  }
  return id;
}

/**
 * The long-lived agent process to record (`--pid` > `$COORD_PID` > none). The CLI's own pid is never
 * recorded: it exits at once.
 *
 * @throws UsageError `invalid-pid` for anything but a positive integer.
 */
export function resolvePid(explicit?: number | string | null): number | null {
  const raw = explicit ?? process.env.COORD_PID;
  if (raw === undefined || raw === null || raw === '') return null;
  const pid = Number(raw);
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new UsageError(`invalid pid ${JSON.stringify(String(raw))}: a positive integer`, 'invalid-pid');
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
  const pid = resolvePid(opts.pid);
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
