import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CONFIG_PATH, loadConfig, starterConfig } from '../../config/config.js';
import { CoordError, UsageError } from '../../errors.js';
import { cliLocation, type HookReport, installHooks } from '../../hooks/index.js';
import { resolveHolderId } from '../../leases/identity.js';
import { ensureExcluded } from '../../leases/worktree.js';
import { keepRecordReflogs } from '../../records/gc.js';
import { type DefaultBranch, defaultBranch } from '../../refs/default-branch.js';
import { git } from '../../refs/git.js';
import { currentHost, discoverRepo } from '../../refs/repo.js';
import { type JoinReport, joinRemote } from '../../remote/join.js';
import type { InitArgs } from '../commands/init.js';
import { emit } from '../common.js';
import { displaySafe } from '../output.js';
import { formatHookReport } from './hooks.js';

/** The `init --json` document. */
export interface InitOutput {
  /** The config file written, or null when one existed. */
  configWritten: string | null;
  /** The config file in effect. */
  config: string;
  /** The branch the starter config protects and how it was chosen; null when a config existed. */
  protect: DefaultBranch | null;
  /** The `info/exclude` line for the worktrees directory was added (false: already there). */
  excluded: boolean;
  worktreesDir: string;
  /** `gc.refs/coord/*.reflogExpireUnreachable=never` was set now (false: already set). */
  gcConfigured: boolean;
  /** `coord.remote` now set, or null. */
  remote: string | null;
  /** What joining team mode did (`--remote`), or null. */
  join: JoinReport | null;
  hooks: HookReport;
}

/**
 * Installs the hooks, writes the starter `.coord/config.json` when neither this worktree nor the main
 * one has one (protecting the repository's default branch: src/refs/default-branch.ts), lists the worktrees directory in the common dir's `info/exclude`, sets
 * `gc.refs/coord/*.reflogExpireUnreachable=never` (so `git gc` keeps record history quietly), and with `--remote R`
 * sets `git config coord.remote R` (team mode). Idempotent.
 */
export async function run(args: InitArgs, cwd: string = process.cwd()): Promise<InitOutput> {
  const repo = discoverRepo(cwd);
  if (!repo.worktreeTop) throw new CoordError('bare-repository', 'run git coord init inside a worktree');
  if (args.remote !== undefined) {
    if (args.remote.trim() === '' || args.remote.startsWith('-')) {
      throw new UsageError(
        `invalid --remote ${JSON.stringify(args.remote)}: name a configured remote (git remote -v lists them)`,
        'invalid-remote',
      );
    }
    const res = git(['remote', 'get-url', '--', args.remote], { cwd: repo.worktreeTop, allowFailure: true });
    if (res.status !== 0) {
      throw new UsageError(
        `no remote ${JSON.stringify(args.remote)} (git remote -v lists them; git remote add ${args.remote} <url> adds it)`,
        'no-remote',
      );
    }
  }
  let configWritten: string | null = null;
  let protect: DefaultBranch | null = null;
  let config = loadConfig(repo); // validates an existing file (exit 1 naming it)
  if (config.source === null) {
    const path = join(repo.worktreeTop, CONFIG_PATH);
    mkdirSync(dirname(path), { recursive: true });
    protect = defaultBranch(repo, args.remote);
    if (!existsSync(path)) writeFileSync(path, `${JSON.stringify(starterConfig(protect.branch), null, 2)}\n`);
    configWritten = path;
    config = loadConfig(repo);
  }
  const excluded = ensureExcluded(repo, config.worktreeDir);
  let joined: JoinReport | null = null;
  if (args.remote !== undefined) {
    const actor = { id: resolveHolderId(repo), host: currentHost() };
    joined = await joinRemote(repo, args.remote, actor);
    git(['config', 'coord.remote', args.remote], { cwd: repo.worktreeTop });
  }
  const hooks = installHooks(repo, cliLocation());
  const gcConfigured = keepRecordReflogs(repo);
  const remote = args.remote ?? repo.config().get('coord.remote') ?? null;
  return {
    configWritten,
    config: config.source ?? join(repo.worktreeTop, CONFIG_PATH),
    protect,
    excluded,
    worktreesDir: config.worktreeDir,
    gcConfigured,
    remote,
    join: joined,
    hooks,
  };
}

/** `git coord init`: what was written or found, then the hooks report (JSON with `--json`). */
export async function handle(argv: InitArgs): Promise<void> {
  const out = await run(argv);
  emit(argv.json, out, () =>
    [
      out.configWritten
        ? `wrote ${out.configWritten} (commit it to share the gates)`
        : `config: ${out.config}`,
      ...(out.protect ? [`protect: ${out.protect.branch} (${out.protect.why})`] : []),
      out.excluded
        ? `added /${out.worktreesDir}/ to .git/info/exclude`
        : `${out.worktreesDir} already excluded`,
      out.remote
        ? `team mode: coord.remote = ${out.remote}${out.join ? `\n${formatJoin(out.join)}` : ''}`
        : 'local mode (git coord init --remote <R> for team mode)',
      formatHookReport(out.hooks),
    ].join('\n'),
  );
}

function formatJoin(j: JoinReport): string {
  const lines = [
    `joined ${displaySafe(j.remote)}: it takes atomic pushes of refs/coord/* (probe ${j.probe})`,
    `pushed ${j.pushed.length} local record(s) it lacked; mirror: ${j.mirror.changed.length} ref(s) updated from it`,
  ];
  for (const q of j.quarantined)
    lines.push(`kept aside ${displaySafe(q.ref)} as ${displaySafe(q.target)}: ${displaySafe(q.reason)}`);
  for (const q of j.mirror.invalid)
    lines.push(
      `quarantined ${displaySafe(q.ref)} from ${displaySafe(j.remote)} as ${displaySafe(q.quarantine)}: ${displaySafe(q.reason)}`,
    );
  return lines.join('\n');
}
