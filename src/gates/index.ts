import picomatch from 'picomatch';
import {
  CONFIG_PATH,
  ConfigError,
  type CoordConfig,
  type GateConfig,
  leavesRepository,
} from '../config/config.js';
import { parseDuration } from '../config/duration.js';
import { displaySafe, quote } from '../display.js';
import { git } from '../refs/git.js';
import type { Repo } from '../refs/repo.js';

/**
 * Artifact gates (DESIGN §6): a gate from `.coord/config.json` evaluated against a **committed tree**,
 * never the working directory:
 *
 * - `when` (glob or globs): the gate applies when a file or directory of the tree matches; else it is
 *   skipped (every rule `skip`).
 * - `require` (globs): each must match at least one non-empty regular file of the tree.
 * - `fresh` (`{path, within}`): the last commit touching the path (any file matching it) is within the
 *   window. On the index tree (commit-msg) a path staged in the index counts as fresh now.
 *
 * - `run` (commands): executed by `git coord gate` / `done` only (src/gates/run.ts, in a pristine
 *   detached worktree at the commit); here each becomes a `skip` rule ("not run by hooks") and, when
 *   the gate applies to a commit, an entry of `pending` for the caller to run.
 *
 * `{key}` in any pattern is the lease key. A pattern that leaves the repository is refused.
 */

/** Default time limit of one `run` command, in seconds (10 minutes). */
export const DEFAULT_RUN_TIMEOUT_SECONDS = 600;

/** A `run` command of a gate that applies, left for the caller to execute. */
export interface PendingRun {
  command: string;
  /** The gate's `timeout` for each command, seconds. */
  timeoutSeconds: number;
}

/** Name of the gate `git coord done` / `gate` / the hooks evaluate. */
export const DONE_GATE = 'done';

/** One rule's outcome. `rule` reads like the configuration (`require <glob>`). */
export interface GateRuleResult {
  rule: string;
  status: 'pass' | 'fail' | 'skip';
  detail: string;
}

/** What the gate was evaluated on. */
export type GateTarget =
  | {
      /** A commit: the branch head (`gate`, `done`) or the pushed commit (pre-push). */
      kind: 'commit';
      commit: string;
    }
  | {
      /** The tree being committed (commit-msg): `git write-tree` of the index, on top of `head`. */
      kind: 'index';
      tree: string;
      /** HEAD commit the index is on, or null before the first commit. */
      head: string | null;
      /** Paths staged in the index (differ from HEAD): they count as fresh now. */
      staged: ReadonlySet<string>;
    };

/** Outcome of one gate evaluation; `key`, `result`, `rules` are the `gate --json` document. */
export interface GateEvaluation {
  key: string;
  /** `passed` (every rule passes), `failed` (a rule fails) or `skipped` (no `when` match, or no gate). */
  result: 'passed' | 'failed' | 'skipped';
  rules: GateRuleResult[];
  /** Gate name evaluated (`done`). */
  gate: string;
  /** The failing rules, one line each, for messages and the lease's `gate.missing`. */
  missing: string[];
  /** Commit evaluated on, or null for the index tree. */
  commit: string | null;
  /** Tree evaluated on. */
  tree: string;
  /** `run` commands still to execute (the gate applies and the target is a commit), in order. */
  pending: PendingRun[];
}

/** Options of {@link evaluateGate}. */
export interface EvaluateOptions {
  /** Gate name (default `done`). */
  gate?: string;
  /** "Now" in ms since the epoch, for `fresh` (default `Date.now()`). */
  now?: number;
}

/** A file listed from a tree. */
interface TreeFile {
  path: string;
  mode: string;
  /** Blob size in bytes; -1 for submodules. */
  size: number;
}

/**
 * Lists a tree recursively with one `git ls-tree -r -l -z` (sizes tell "non-empty").
 */
export function listTree(repo: Pick<Repo, 'commonDir' | 'gitDir'>, treeish: string): TreeFile[] {
  const out = git(['--git-dir', repo.gitDir, 'ls-tree', '-r', '-l', '-z', '--full-tree', treeish], {
    cwd: repo.gitDir,
  }).stdout;
  const files: TreeFile[] = [];
  for (const entry of out.split('\0')) {
    if (!entry) continue;
    const tab = entry.indexOf('\t');
    const [mode, , , size] = entry.slice(0, tab).split(/ +/);
    files.push({ path: entry.slice(tab + 1), mode: mode!, size: size === '-' ? -1 : Number(size) });
  }
  return files;
}

/** Substitutes `{key}` and normalises a leading `./`; refuses patterns that leave the repository. */
export function expandPattern(pattern: string, key: string, gate: string, source: string | null): string {
  const p = pattern
    .split('{key}')
    .join(key)
    .replace(/^(\.\/)+/, '');
  if (leavesRepository(pattern) || leavesRepository(p)) {
    throw new ConfigError(
      source ?? CONFIG_PATH,
      `gates.${displaySafe(gate)}: pattern ${quote(pattern)} leaves the repository`,
    );
  }
  return p;
}

function matcher(pattern: string): (path: string) => boolean {
  return picomatch(pattern, { dot: true });
}

/** Every directory of the listed files (`a`, `a/b` for `a/b/c`). */
function directories(files: readonly TreeFile[]): string[] {
  const dirs = new Set<string>();
  for (const f of files) {
    let i = f.path.lastIndexOf('/');
    while (i > 0) {
      const d = f.path.slice(0, i);
      if (dirs.has(d)) break;
      dirs.add(d);
      i = d.lastIndexOf('/');
    }
  }
  return [...dirs];
}

function isRegularFile(f: TreeFile): boolean {
  return f.mode === '100644' || f.mode === '100755';
}

/** Human age, e.g. `3d 4h`, `12m`, `40s`. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) {
    const m = Math.floor((s % 3600) / 60);
    return `${Math.floor(s / 3600)}h${m ? ` ${m}m` : ''}`;
  }
  const h = Math.floor((s % 86400) / 3600);
  return `${Math.floor(s / 86400)}d${h ? ` ${h}h` : ''}`;
}

/**
 * Evaluates gate `opts.gate` (default `done`) of `config` for `key` on `target`. Changes nothing.
 *
 * @throws ConfigError for a pattern that leaves the repository or a bad `within`.
 */
export function evaluateGate(
  repo: Pick<Repo, 'commonDir' | 'gitDir'>,
  config: Pick<CoordConfig, 'gates' | 'source'>,
  key: string,
  target: GateTarget,
  opts: EvaluateOptions = {},
): GateEvaluation {
  const name = opts.gate ?? DONE_GATE;
  const now = opts.now ?? Date.now();
  const tree = target.kind === 'index' ? target.tree : resolveTree(repo, target.commit);
  const commit = target.kind === 'commit' ? target.commit : null;
  const base = { key, gate: name, commit, tree };
  const gate: GateConfig | undefined = config.gates[name];
  if (!gate) {
    return {
      ...base,
      result: 'skipped',
      rules: [{ rule: `gate ${name}`, status: 'skip', detail: `no gate "${name}" in ${CONFIG_PATH}` }],
      missing: [],
      pending: [],
    };
  }
  const src = config.source;
  const when = gate.when === undefined ? [] : typeof gate.when === 'string' ? [gate.when] : gate.when;
  const whenPats = when.map((p) => expandPattern(p, key, name, src));
  const requirePats = (gate.require ?? []).map((p) => expandPattern(p, key, name, src));
  const freshRules = (gate.fresh ?? []).map((f) => ({
    path: expandPattern(f.path, key, name, src),
    within: f.within,
    seconds: (() => {
      try {
        return parseDuration(f.within, `gates.${name}.fresh.within`);
      } catch (err) {
        throw new ConfigError(src ?? CONFIG_PATH, (err as Error).message);
      }
    })(),
  }));

  const files = listTree(repo, tree);
  const rules: GateRuleResult[] = [];
  let applies = true;
  if (whenPats.length > 0) {
    const candidates = [...files.map((f) => f.path), ...directories(files)];
    const hits = whenPats.map((p) => {
      const m = matcher(p);
      return candidates.filter((c) => m(c)).sort();
    });
    applies = hits.some((h) => h.length > 0);
    const all = [...new Set(hits.flat())].sort();
    rules.push({
      rule: `when ${whenPats.join(' | ')}`,
      status: applies ? 'pass' : 'skip',
      detail: applies
        ? `matches ${all.slice(0, 3).join(', ')}${all.length > 3 ? ', …' : ''}`
        : 'no match: gate skipped',
    });
  }
  for (const p of requirePats) {
    const rule = `require ${p}`;
    if (!applies) {
      rules.push({ rule, status: 'skip', detail: 'gate skipped' });
      continue;
    }
    const m = matcher(p);
    const matched = files.filter((f) => m(f.path));
    const ok = matched.filter((f) => isRegularFile(f) && f.size > 0);
    if (ok.length > 0) {
      rules.push({ rule, status: 'pass', detail: listPaths(ok.map((f) => f.path)) });
    } else if (matched.length > 0) {
      rules.push({ rule, status: 'fail', detail: `empty: ${listPaths(matched.map((f) => f.path))}` });
    } else {
      rules.push({ rule, status: 'fail', detail: 'missing: no file matches' });
    }
  }
  for (const f of freshRules) {
    const rule = `fresh ${f.path} within ${f.within}`;
    if (!applies) {
      rules.push({ rule, status: 'skip', detail: 'gate skipped' });
      continue;
    }
    rules.push(checkFresh(repo, files, target, f.path, f.seconds, now, rule));
  }
  const timeoutSeconds =
    gate.timeout === undefined
      ? DEFAULT_RUN_TIMEOUT_SECONDS
      : parseDuration(gate.timeout, `gates.${name}.timeout`);
  const pending: PendingRun[] = [];
  for (const command of gate.run ?? []) {
    const rule = `run ${command}`;
    if (!applies) rules.push({ rule, status: 'skip', detail: 'gate skipped' });
    else {
      rules.push({
        rule,
        status: 'skip',
        detail:
          'not run on this path (hooks); `git coord gate` and `git coord done` run it in a pristine worktree',
      });
      if (commit) pending.push({ command, timeoutSeconds });
    }
  }
  const failed = rules.filter((r) => r.status === 'fail');
  return {
    ...base,
    pending,
    result: !applies ? 'skipped' : failed.length > 0 ? 'failed' : 'passed',
    rules,
    missing: failed.map((r) => `${r.rule.replace(/^require /, '')} (${r.detail})`),
  };
}

function checkFresh(
  repo: Pick<Repo, 'gitDir'>,
  files: readonly TreeFile[],
  target: GateTarget,
  pattern: string,
  within: number,
  now: number,
  rule: string,
): GateRuleResult {
  const m = matcher(pattern);
  const matched = files.filter((f) => m(f.path)).map((f) => f.path);
  if (matched.length === 0) return { rule, status: 'fail', detail: 'missing: no file matches' };
  if (target.kind === 'index') {
    const staged = matched.find((p) => target.staged.has(p));
    if (staged) return { rule, status: 'pass', detail: `${staged} is staged in this commit` };
  }
  const from = target.kind === 'commit' ? target.commit : target.head;
  if (from === null) return { rule, status: 'fail', detail: `${listPaths(matched)}: never committed` };
  const out = git(
    ['--git-dir', repo.gitDir, 'log', '-1', '--format=%H %ct', from, '--', ...matched.map(literal)],
    { cwd: repo.gitDir },
  ).stdout.trim();
  if (!out) return { rule, status: 'fail', detail: `${listPaths(matched)}: no commit touches it` };
  const [sha, ct] = out.split(' ');
  const age = now / 1000 - Number(ct);
  const when = `last changed ${formatAge(age)} ago in ${sha!.slice(0, 12)}`;
  return age <= within
    ? { rule, status: 'pass', detail: when }
    : { rule, status: 'fail', detail: `stale: ${when}, older than ${formatAge(within)}` };
}

/** Paths a rule shows in its detail: at most this many, then `and N more`. */
const SHOWN_PATHS = 5;

/**
 * The paths of a rule's detail, summarised: the first {@link SHOWN_PATHS} and `and 19,995 more`, so a
 * glob matching 20,000 files gives one short line, not hundreds of kilobytes.
 */
export function listPaths(paths: readonly string[]): string {
  if (paths.length <= SHOWN_PATHS) return paths.join(', ');
  const more = (paths.length - SHOWN_PATHS).toLocaleString('en-US');
  return `${paths.slice(0, SHOWN_PATHS).join(', ')} and ${more} more (${paths.length.toLocaleString('en-US')} in all)`;
}

/** A pathspec that matches exactly this path (no glob magic). */
function literal(path: string): string {
  return `:(literal)${path}`;
}

function resolveTree(repo: Pick<Repo, 'gitDir'>, commit: string): string {
  return git(['--git-dir', repo.gitDir, 'rev-parse', '--verify', '--end-of-options', `${commit}^{tree}`], {
    cwd: repo.gitDir,
  }).stdout.trim();
}

/**
 * The index as a committed tree, for commit-msg: `git write-tree` (writes the tree objects the commit
 * is about to write anyway), HEAD, and the staged paths (`git diff --cached`).
 */
export function indexTarget(repo: Pick<Repo, 'gitDir'>, worktreeTop: string): GateTarget {
  const tree = git(['write-tree'], { cwd: worktreeTop }).stdout.trim();
  const headRes = git(['rev-parse', '--verify', '-q', 'HEAD^{commit}'], {
    cwd: worktreeTop,
    allowFailure: true,
  });
  const head = headRes.status === 0 ? headRes.stdout.trim() : null;
  const staged = new Set<string>();
  const diff = head
    ? git(['diff-index', '--cached', '--name-only', '-z', '--no-renames', head], { cwd: worktreeTop }).stdout
    : git(['ls-files', '-z'], { cwd: worktreeTop }).stdout;
  for (const p of diff.split('\0')) if (p) staged.add(p);
  void repo;
  return { kind: 'index', tree, head, staged };
}

/**
 * Renders an evaluation for people: a head line, then one line per rule. `safe` sanitises text that
 * comes from the repository (paths, patterns) before `paint` adds colour.
 */
export function formatGate(
  ev: Pick<GateEvaluation, 'gate' | 'key' | 'result' | 'commit' | 'rules'>,
  paint: (status: GateRuleResult['status'], s: string) => string = (_, s) => s,
  safe: (s: string) => string = (s) => s,
): string {
  const on = ev.commit ? `commit ${ev.commit.slice(0, 12)}` : 'the index tree';
  const lines = [`gate ${safe(ev.gate)} for ${safe(ev.key)} on ${on}: ${ev.result}`];
  for (const r of ev.rules)
    lines.push(`  ${paint(r.status, `[${r.status}]`)} ${safe(r.rule)}: ${safe(r.detail)}`);
  return lines.join('\n');
}
