import { spawn } from 'node:child_process';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { git } from '../refs/git.js';
import type { Repo } from '../refs/repo.js';
import type { PendingRun } from './index.js';

/**
 * Gate rule `run` (DESIGN §9): the gate's commands executed in a **pristine** worktree, so nothing
 * uncommitted in an agent's worktree can make verification pass (pi-crew's verification worktree):
 *
 * - `git worktree add --detach <common dir>/coord/verify/<key>-XXXXXX <commit>`: the committed tree
 *   and nothing else (plus the `worktrees.link` symlinks from the main worktree, e.g. `node_modules`);
 * - each command runs as `sh -c <command>` there, in its own process group, stdout and stderr into
 *   one file `<common dir>/coord/gate-runs/<key>/<time>-<n>.log` (the last 20 per key are kept), with
 *   `COORD_KEY` and `COORD_GATE_COMMIT` set; the first one that fails ends the run (the rest `skip`);
 * - a command still running at the timeout gets SIGTERM, then SIGKILL after a grace period (its whole
 *   process group);
 * - the worktree is always removed (`git worktree remove --force`): after the last command, after a
 *   timeout, on an error, and when this process gets SIGINT/SIGTERM/SIGHUP (the commands are stopped
 *   first; then the signal is re-raised, so the caller dies of it as it would have).
 */

/** Logs kept per key in `coord/gate-runs/<key>/`. */
const KEEP_LOGS = 20;

/** Outcome of one command. */
export interface CommandRun {
  command: string;
  /** `skip`: not run because an earlier command failed. */
  status: 'pass' | 'fail' | 'timeout' | 'skip';
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** Log file, absolute. */
  outputPath: string;
  /** Log file relative to the common git dir (what the lease records). */
  output: string;
  /** The last lines of its output (at most 20), for summaries. */
  tail: string[];
}

/** Options of {@link runGateCommands}. */
export interface RunCommandsOptions {
  repo: Pick<Repo, 'commonDir'>;
  /** Where `git worktree` runs (the main worktree, else the common dir). */
  gitCwd: string;
  key: string;
  commit: string;
  runs: readonly PendingRun[];
  /** Makes the `worktrees.link` symlinks in the new worktree; returns warnings. */
  link?: (worktree: string) => string[];
  /** Grace between SIGTERM and SIGKILL at the timeout, ms (default 2000). */
  graceMs?: number;
}

/**
 * Runs `runs` one after another in a pristine detached worktree at `commit`; see the module comment.
 *
 * @throws GitCommandError when the worktree cannot be made (nothing is left behind).
 */
export async function runGateCommands(opts: RunCommandsOptions): Promise<CommandRun[]> {
  const { repo, key, commit } = opts;
  const base = join(repo.commonDir, 'coord', 'verify');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `${key}-`));
  const logDir = join(repo.commonDir, 'coord', 'gate-runs', key);
  mkdirSync(logDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');

  let current: number | null = null;
  let added = false;
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    const res = added
      ? git(['worktree', 'remove', '--force', '--force', dir], { cwd: opts.gitCwd, allowFailure: true })
      : null;
    if (res === null || res.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      if (res) git(['worktree', 'prune'], { cwd: opts.gitCwd, allowFailure: true });
    }
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (current !== null) killGroup(current, 'SIGKILL');
    remove();
    detach();
    process.kill(process.pid, sig);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const detach = () => {
    for (const s of signals) process.removeListener(s, onSignal);
  };
  for (const s of signals) process.on(s, onSignal);

  const results: CommandRun[] = [];
  try {
    git(['worktree', 'add', '--detach', '--quiet', dir, commit], { cwd: opts.gitCwd });
    added = true;
    const warnings = opts.link?.(dir) ?? [];
    let failed = false;
    for (const [i, run] of opts.runs.entries()) {
      const outputPath = join(logDir, `${stamp}-${i + 1}.log`);
      const output = relative(repo.commonDir, outputPath);
      if (failed) {
        results.push({
          command: run.command,
          status: 'skip',
          exitCode: null,
          signal: null,
          durationMs: 0,
          outputPath,
          output,
          tail: [],
        });
        continue;
      }
      const fd = openSync(outputPath, 'w+');
      writeSync(
        fd,
        `$ ${run.command}\n# in ${dir} at ${commit}\n${warnings.map((w) => `# ${w}\n`).join('')}`,
      );
      const started = Date.now();
      let outcome: { code: number | null; signal: string | null; timedOut: boolean };
      try {
        outcome = await runOne(run, dir, fd, { key, commit }, opts.graceMs ?? 2000, (pid) => {
          current = pid;
        });
      } finally {
        current = null;
      }
      const tail = lastLines(fd, 20);
      closeSync(fd);
      const status = outcome.timedOut ? 'timeout' : outcome.code === 0 ? 'pass' : 'fail';
      if (status !== 'pass') failed = true;
      results.push({
        command: run.command,
        status,
        exitCode: outcome.code,
        signal: outcome.signal,
        durationMs: Date.now() - started,
        outputPath,
        output,
        tail,
      });
    }
  } finally {
    remove();
    detach();
    pruneLogs(logDir);
  }
  return results;
}

/** Runs one command in its own process group; resolves when it has exited. */
function runOne(
  run: PendingRun,
  cwd: string,
  fd: number,
  ids: { key: string; commit: string },
  graceMs: number,
  started: (pid: number) => void,
): Promise<{ code: number | null; signal: string | null; timedOut: boolean }> {
  const env: NodeJS.ProcessEnv = { ...process.env, COORD_KEY: ids.key, COORD_GATE_COMMIT: ids.commit };
  // Nothing may point the commands at another repository or index than the pristine worktree's.
  for (const v of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_PREFIX'])
    delete env[v];
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', run.command], { cwd, env, stdio: ['ignore', fd, fd], detached: true });
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => child.pid && killGroup(child.pid, 'SIGKILL'), graceMs);
    }, run.timeoutSeconds * 1000);
    child.once('spawn', () => child.pid && started(child.pid));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      // Whatever it left running in its group goes with it.
      if (child.pid) killGroup(child.pid, 'SIGKILL');
      resolve({ code, signal, timedOut });
    });
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** The last `n` non-empty lines of the file open at `fd` (reads at most its last 4 KiB). */
function lastLines(fd: number, n: number): string[] {
  const size = fstatSync(fd).size;
  const len = Math.min(size, 4096);
  const buf = Buffer.alloc(len);
  readSync(fd, buf, 0, len, size - len);
  return buf
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('# in ') && !l.startsWith('$ '))
    .slice(-n);
}

function pruneLogs(logDir: string): void {
  const files = readdirSync(logDir)
    .filter((f) => f.endsWith('.log'))
    .sort();
  for (const f of files.slice(0, Math.max(0, files.length - KEEP_LOGS)))
    rmSync(join(logDir, f), { force: true });
}
