import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as z from 'zod/mini';
import { displaySafe, quote } from '../display.js';
import { CoordError } from '../errors.js';
import type { Repo } from '../refs/repo.js';
import { parseDuration } from './duration.js';

/** Path of the committed configuration file, relative to a worktree top. */
export const CONFIG_PATH = '.coord/config.json';

/** `.coord/config.json` is not valid (exit 1): names the file and the problem. */
export class ConfigError extends CoordError {
  readonly path: string;
  constructor(path: string, problem: string) {
    super('invalid-config', `${path}: ${problem}`);
    this.path = path;
  }
}

/**
 * The zod schemas of the config file, built on first use: constructing them costs ~3 ms of start-up,
 * and most runs find no config file (then the defaults apply without them).
 */
function buildSchemas() {
  const d = z.describe;
  const globList = z.array(z.string().check(z.minLength(1)));
  /** One gate (DESIGN §6). Patterns are globs relative to the repository root; `{key}` is the lease key. */
  const GateConfig = z.strictObject({
    when: z.optional(
      z.union([z.string(), globList]).check(d('Gate applies when this glob matches; else skipped')),
    ),
    require: z.optional(globList.check(d('Each glob must match at least one non-empty file'))),
    fresh: z.optional(
      z
        .array(
          z.strictObject({
            path: z.string().check(z.minLength(1), d('Path (or glob) whose last commit must be recent')),
            within: z.string().check(d('Window, e.g. 7d')),
          }),
        )
        .check(d('Paths whose last commit touching them must be within the window')),
    ),
    run: z.optional(
      z
        .array(z.string().check(z.minLength(1)))
        .check(
          d(
            'Commands (sh -c) run one after another in a pristine detached worktree at the gated commit; ' +
              'each must exit 0. Run by `git coord gate` and `done`, not by the hooks',
          ),
        ),
    ),
    timeout: z.optional(z.string().check(d('Time limit for each `run` command, e.g. 10m (default 10m)'))),
  });
  /** The file as written by users (every section optional). */
  const ConfigFile = z.strictObject({
    $schema: z.optional(z.string()),
    gates: z.optional(
      z.record(z.string(), GateConfig).check(d('Gates by name; "done" runs on `git coord done`')),
    ),
    protect: z.optional(z.array(z.string()).check(d('Protected branches (pre-push checks leased commits)'))),
    leases: z.optional(
      z.strictObject({
        ttl: z.optional(z.string().check(d('Default lease TTL, e.g. 15m'))),
        skew: z.optional(z.string().check(d('Clock skew allowance added to expiry, e.g. 30s'))),
      }),
    ),
    worktrees: z.optional(
      z.strictObject({
        dir: z.optional(
          z.string().check(d('Directory for provisioned worktrees, relative to the main worktree')),
        ),
        branch: z.optional(z.string().check(d('Branch name pattern; {key} is the lease key'))),
        link: z.optional(
          z.array(z.string()).check(d('Directories symlinked from the main worktree into each new one')),
        ),
      }),
    ),
  });
  return { GateConfig, ConfigFile };
}

let schemas: ReturnType<typeof buildSchemas> | undefined;

/** One gate (DESIGN §6): `when`, `require`, `fresh`, `run`, `timeout`, as validated. */
export type GateConfig = z.infer<ReturnType<typeof buildSchemas>['GateConfig']>;

/** The config file as validated (every section optional). */
type ConfigFile = z.infer<ReturnType<typeof buildSchemas>['ConfigFile']>;

/** Effective configuration, defaults applied. Durations in seconds. */
export interface CoordConfig {
  /** Gates by name. */
  gates: Record<string, GateConfig>;
  /** Protected branch names. */
  protect: string[];
  /** Default lease TTL, seconds (default 900 = 15m). */
  ttlSeconds: number;
  /** Clock-skew allowance added to expiry, seconds (default 30). */
  skewSeconds: number;
  /** Worktree directory relative to the main worktree top (default `.coord/worktrees`). */
  worktreeDir: string;
  /** Branch name pattern with `{key}` (default `coord/{key}`). */
  branchPattern: string;
  /** Directories to symlink from the main worktree into new worktrees. */
  link: string[];
  /** Absolute path of the file read, or `null` when there was none (all defaults). */
  source: string | null;
}

/**
 * The starter configuration of DESIGN §6, protecting `main`. `git coord init` writes it through
 * {@link starterConfig} with the repository's own default branch.
 */
export const STARTER_CONFIG = {
  gates: {
    done: {
      when: '.planning/phases/{key}-*',
      require: [
        '.planning/phases/{key}-*/{key}-PLAN-CHECK.md',
        '.planning/phases/{key}-*/{key}-VERIFICATION.md',
      ],
      fresh: [{ path: '.planning/lessons-learned.md', within: '7d' }],
    },
  },
  protect: ['main'],
  leases: { ttl: '15m', skew: '30s' },
  worktrees: { dir: '.coord/worktrees', branch: 'coord/{key}', link: [] as string[] },
};

/** {@link STARTER_CONFIG} with `protect` set to `[branch]` (the repository's default branch). */
export function starterConfig(branch: string): typeof STARTER_CONFIG {
  return { ...STARTER_CONFIG, protect: [branch] };
}

/**
 * The main worktree's top directory, derived from the common dir (`<top>/.git`), or `null` for a bare
 * repository or a common dir not named `.git`.
 */
export function mainWorktreeTop(repo: Pick<Repo, 'commonDir' | 'isBare'>): string | null {
  if (repo.isBare || basename(repo.commonDir) !== '.git') return null;
  return dirname(repo.commonDir);
}

/**
 * Loads `.coord/config.json` from the current worktree (else the main worktree) and applies defaults.
 * A missing file means all defaults.
 *
 * @throws ConfigError when the file is not JSON, has unknown keys, wrong types, bad durations or
 *   patterns that leave the repository.
 */
export function loadConfig(repo: Pick<Repo, 'commonDir' | 'isBare' | 'worktreeTop'>): CoordConfig {
  const tops = [repo.worktreeTop, mainWorktreeTop(repo)].filter((t): t is string => t !== null);
  for (const top of tops) {
    const path = join(top, CONFIG_PATH);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    return parseConfig(text, path);
  }
  return withDefaults({}, CONFIG_PATH, null);
}

/**
 * Parses configuration text (see {@link loadConfig}); `path` is used in messages only.
 *
 * @throws ConfigError
 */
export function parseConfig(text: string, path: string | null): CoordConfig {
  const where = path ?? CONFIG_PATH;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(where, `not valid JSON (${displaySafe((err as Error).message)})`);
  }
  schemas ??= buildSchemas();
  const res = schemas.ConfigFile.safeParse(json);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    throw new ConfigError(
      where,
      displaySafe(`${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`),
    );
  }
  return withDefaults(res.data, where, path);
}

/**
 * Checks what the schema cannot (durations, patterns that leave the repository, `{key}` in the branch
 * pattern) and applies the defaults. `where` names the file in messages; `path` becomes `source`.
 *
 * @throws ConfigError
 */
function withDefaults(file: ConfigFile, where: string, path: string | null): CoordConfig {
  const seconds = (value: string | undefined, fallback: number, field: string) => {
    if (value === undefined) return fallback;
    try {
      return parseDuration(value, field);
    } catch (err) {
      throw new ConfigError(where, (err as Error).message);
    }
  };
  for (const [name, gate] of Object.entries(file.gates ?? {})) {
    for (const f of gate.fresh ?? []) seconds(f.within, 0, `gates.${name}.fresh.within`);
    if (seconds(gate.timeout, 1, `gates.${name}.timeout`) <= 0)
      throw new ConfigError(where, `gates.${name}.timeout must be at least 1s`);
    const patterns = [gate.when ?? [], gate.require ?? [], (gate.fresh ?? []).map((f) => f.path)].flat();
    for (const p of patterns) {
      if (leavesRepository(p))
        throw new ConfigError(where, `gates.${displaySafe(name)}: pattern ${quote(p)} leaves the repository`);
    }
  }
  const dir = file.worktrees?.dir ?? '.coord/worktrees';
  if (leavesRepository(dir))
    throw new ConfigError(where, `worktrees.dir ${quote(dir)} leaves the repository`);
  for (const l of file.worktrees?.link ?? []) {
    if (leavesRepository(l)) throw new ConfigError(where, `worktrees.link ${quote(l)} leaves the repository`);
  }
  const branchPattern = file.worktrees?.branch ?? 'coord/{key}';
  if (!branchPattern.includes('{key}')) throw new ConfigError(where, 'worktrees.branch must contain {key}');
  return {
    gates: file.gates ?? {},
    protect: file.protect ?? [],
    ttlSeconds: seconds(file.leases?.ttl, 900, 'leases.ttl'),
    skewSeconds: seconds(file.leases?.skew, 30, 'leases.skew'),
    worktreeDir: dir,
    branchPattern,
    link: file.worktrees?.link ?? [],
    source: path,
  };
}

/** True for a repository-relative path or glob that is absolute or climbs out with `..`. */
export function leavesRepository(pattern: string): boolean {
  return (
    pattern.startsWith('/') ||
    pattern.startsWith('\\') ||
    /^[A-Za-z]:/.test(pattern) ||
    pattern.split(/[\\/]/).includes('..')
  );
}
