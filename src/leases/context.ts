import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CoordConfig, loadConfig, mainWorktreeTop } from '../config/config.js';
import type { Lease } from '../records/schemas.js';
import { readRef } from '../refs/read.js';
import { currentHost, discoverRepo, type Repo } from '../refs/repo.js';
import type { RefStore } from '../refs/store.js';
import { openStore } from '../remote/store.js';
import { type ProcessProbe, type StaleReason, staleness, systemProbe } from './liveness.js';
import { leaseRef } from './model.js';
import { listWorktrees } from './worktree.js';

/** Everything a lease operation needs besides its arguments. */
export interface LeaseContext {
  repo: Repo;
  config: CoordConfig;
  /** This host (`$COORD_HOST` > hostname). */
  host: string;
  probe: ProcessProbe;
  /** The clock; injectable for tests. */
  now: () => Date;
  /** Where records are read from and written to: local refs, or team mode's remote (DESIGN §10). */
  store: RefStore;
}

/** Options of {@link openContext}. */
export interface ContextOptions {
  repo?: Repo;
  config?: CoordConfig;
  probe?: ProcessProbe;
  now?: () => Date;
  store?: RefStore;
}

/** Discovers the repository from `cwd` (any subdirectory of any worktree) and loads the config. */
export function openContext(cwd: string = process.cwd(), opts: ContextOptions = {}): LeaseContext {
  const repo = opts.repo ?? discoverRepo(cwd);
  return {
    repo,
    config: opts.config ?? loadConfig(repo),
    host: currentHost(),
    probe: opts.probe ?? systemProbe,
    now: opts.now ?? (() => new Date()),
    store: opts.store ?? openStore(repo),
  };
}

/**
 * Why `lease` is stale as seen from this context, or `null`. Expiry counts from when this clone
 * observed the record (team mode) or from its `renewedAt` (one clock: local mode).
 */
export function staleOf(
  ctx: LeaseContext,
  lease: Lease,
  now: number = ctx.now().getTime(),
): StaleReason | null {
  return staleness(lease, {
    now,
    skewSeconds: ctx.config.skewSeconds,
    host: ctx.host,
    probe: ctx.probe,
    observedAt: observedOf(ctx, lease),
  });
}

/** When this clone first saw the lease's current record (team mode), or `null`: see `expiresAt`. */
export function observedOf(ctx: LeaseContext, lease: Lease): number | null {
  return ctx.store.observedAt(leaseRef(lease.key));
}

/**
 * The main worktree's top: `<top>/.git` → `<top>`, else the first entry of `git worktree list`; `null`
 * for a bare repository.
 */
export function mainTopOf(repo: Repo): string | null {
  const top = mainWorktreeTop(repo);
  if (top) return top;
  if (repo.isBare) return null;
  const first = listWorktrees(repo.worktreeTop ?? repo.commonDir)[0];
  return first && !first.bare ? first.path : null;
}

/**
 * The commit the main worktree's HEAD points at, read from the common dir without a subprocess, or
 * `null` when HEAD is unborn.
 */
export function mainHead(repo: Repo): string | null {
  let head: string;
  try {
    head = readFileSync(join(repo.commonDir, 'HEAD'), 'utf8').trim();
  } catch {
    return null;
  }
  if (head.startsWith('ref: ')) return readRef(repo, head.slice(5).trim());
  return /^[0-9a-f]{40}$/.test(head) ? head : null;
}
