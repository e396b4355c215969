import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoordError } from '../errors.js';
import type { Repo } from '../refs/repo.js';
import type { LeaseContext } from './context.js';
import { LeaseLostError, LeaseNotFoundError, LeaseStateError } from './errors.js';
import { renew } from './ops/index.js';

/**
 * A holder's heartbeat from a hook (DESIGN §7.5): a commit must never wait on the network. With a
 * local store the lease is renewed at once. With a store behind a network (team mode) the heartbeat
 * is recorded as pending (`<common dir>/coord/pending/<key>`: token, then holder id, one per line)
 * and a detached `git-coord sync` is started to push it; offline it stays pending until the next
 * `git coord sync` (or hook) pushes it.
 *
 * @returns `renewed` or `pending`.
 * @throws LeaseLostError (local store) when the caller no longer holds the lease.
 */
export async function heartbeat(
  ctx: LeaseContext,
  opts: { key: string; holder: string; token: number },
): Promise<'renewed' | 'pending'> {
  if (!ctx.store.networked) {
    await renew(ctx, opts);
    return 'renewed';
  }
  writePending(ctx.repo, opts);
  const script = process.argv[1];
  if (script) {
    const env = { ...process.env };
    for (const k of [
      'GIT_INDEX_FILE',
      'GIT_QUARANTINE_PATH',
      'GIT_OBJECT_DIRECTORY',
      'GIT_ALTERNATE_OBJECT_DIRECTORIES',
    ])
      delete env[k];
    const child = process
      .getBuiltinModule('node:child_process')
      .spawn(process.execPath, [script, 'sync', '--heartbeats'], {
        cwd: ctx.repo.worktreeTop ?? ctx.repo.commonDir,
        detached: true,
        stdio: 'ignore',
        env,
      });
    child.on('error', () => {}); // stays pending; the next sync pushes it
    child.unref();
  }
  return 'pending';
}

function pendingDir(repo: Repo): string {
  return join(repo.commonDir, 'coord', 'pending');
}

function writePending(repo: Repo, p: { key: string; holder: string; token: number }): void {
  const dir = pendingDir(repo);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${p.key}.${process.pid}.tmp`);
  writeFileSync(tmp, `${p.token}\n${p.holder}\n`);
  renameSync(tmp, join(dir, p.key));
}

/** One pending heartbeat and what pushing it did. */
export interface PendingResult {
  key: string;
  holder: string;
  token: number;
  /** `renewed`; `dropped` (the lease was lost, closed or is gone: nothing to keep alive); `kept` (failed, retried next time). */
  result: 'renewed' | 'dropped' | 'kept';
  message: string | null;
}

/**
 * Pushes every pending heartbeat (see {@link heartbeat}) as a `renew --token`: renewed or no longer
 * applicable → the pending entry is removed; any other failure (remote unreachable) keeps it.
 */
export async function flushPending(ctx: LeaseContext): Promise<PendingResult[]> {
  const dir = pendingDir(ctx.repo);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
  const out: PendingResult[] = [];
  for (const key of names.sort()) {
    const path = join(dir, key);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue; // another sync took it
    }
    const [tokenText, holder] = text.split('\n');
    const token = Number(tokenText);
    if (!holder || !Number.isSafeInteger(token) || token <= 0) {
      rmSync(path, { force: true });
      continue;
    }
    try {
      await renew(ctx, { key, holder, token });
      out.push({ key, holder, token, result: 'renewed', message: null });
      removeIfUnchanged(path, text);
    } catch (err) {
      if (!(err instanceof CoordError)) throw err;
      const gone =
        err instanceof LeaseLostError || err instanceof LeaseStateError || err instanceof LeaseNotFoundError;
      if (gone) removeIfUnchanged(path, text);
      out.push({ key, holder, token, result: gone ? 'dropped' : 'kept', message: err.message });
    }
  }
  return out;
}

/** Removes a pending entry unless a newer heartbeat replaced it meanwhile. */
function removeIfUnchanged(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) rmSync(path, { force: true });
  } catch {
    // already gone
  }
}
