import { GitCommandError } from '../errors.js';

/** Options for {@link git}. */
export interface GitOptions {
  /** Working directory of the git process. */
  cwd: string;
  /** Bytes to write to git's stdin. */
  input?: string | Buffer;
  /** Extra environment variables (merged over `process.env`). */
  env?: Record<string, string | undefined>;
  /** Return the result instead of throwing when git exits non-zero. */
  allowFailure?: boolean;
  /** Kill git after this many milliseconds (status then 128, stderr says so). */
  timeoutMs?: number;
}

/** Result of one git invocation. */
export interface GitResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** The `-c` options of every git call (see {@link git}). */
export const GIT_CONFIG_OPTIONS: ReadonlyArray<[string, string]> = [['core.warnAmbiguousRefs', 'false']];

/**
 * Runs the real `git` binary synchronously. Always passes `-c core.warnAmbiguousRefs=false`
 * (DESIGN §3: without it `git update-ref` loses CAS updates while `git pack-refs` runs).
 *
 * @throws GitCommandError when git exits non-zero and `allowFailure` is not set.
 */
export function git(args: readonly string[], opts: GitOptions): GitResult {
  const full = [...GIT_CONFIG_OPTIONS.flatMap(([k, v]) => ['-c', `${k}=${v}`]), ...args];
  // node:child_process is loaded on first use: most read commands never start git (~1 ms of start-up).
  const res = process.getBuiltinModule('node:child_process').spawnSync('git', full, {
    cwd: opts.cwd,
    input: opts.input,
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: opts.timeoutMs,
    killSignal: 'SIGKILL',
  });
  if (res.error && (res.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    const out = {
      status: 128,
      stdout: res.stdout ?? '',
      stderr: `${res.stderr ?? ''}\ngit timed out after ${opts.timeoutMs} ms`,
    };
    if (!opts.allowFailure) throw new GitCommandError(args, out.status, out.stderr);
    return out;
  }
  if (res.error) throw new GitCommandError(args, null, res.error.message);
  const out: GitResult = { status: res.status ?? 128, stdout: res.stdout, stderr: res.stderr };
  if (out.status !== 0 && !opts.allowFailure) throw new GitCommandError(args, out.status, out.stderr);
  return out;
}
