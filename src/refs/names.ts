import { UsageError } from '../errors.js';

/** A refname that breaks git's rules, or a key that breaks the lease-key rule (exit 2). */
export class InvalidRefnameError extends UsageError {
  /** The rejected input, as given. */
  readonly refname: string;
  constructor(refname: string, reason: string, what = 'refname') {
    super(`invalid ${what} ${JSON.stringify(refname)}: ${reason}`, `invalid-${what.replace(/ /g, '-')}`);
    this.refname = refname;
  }
}

/**
 * Why `name` is not a valid refname under git's check-ref-format rules, or `null` when it is.
 * Follows refs.c `check_refname_component` / `check_refname_format` with `allowOnelevel` as
 * `--allow-onelevel`: no empty component or `//`, no component starting with `.` or ending in
 * `.lock`, no `..`, no `@{`, not `@`, no ASCII control character, space, `~ ^ : ? * [ \`, not
 * ending in `/` or `.`.
 */
export function refnameProblem(name: string, allowOnelevel = false): string | null {
  if (name === '') return 'empty';
  if (name === '@') return 'is "@"';
  if (name.endsWith('.')) return 'ends with "."';
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('@{')) return 'contains "@{"';
  const bad = /[\x00-\x20\x7f~^:?*[\\]/.exec(name);
  if (bad) return `contains forbidden character ${JSON.stringify(bad[0])}`;
  const parts = name.split('/');
  if (!allowOnelevel && parts.length < 2) return 'must contain at least one "/"';
  for (const part of parts) {
    if (part === '') return 'has an empty component (leading, trailing or double "/")';
    if (part.startsWith('.')) return `component ${JSON.stringify(part)} starts with "."`;
    if (part.endsWith('.lock')) return `component ${JSON.stringify(part)} ends with ".lock"`;
  }
  return null;
}

/**
 * Asserts that `name` is a valid refname (git check-ref-format).
 *
 * @throws InvalidRefnameError (code `invalid-refname`, exit 2)
 */
export function assertRefname(name: string, allowOnelevel = false): void {
  const problem = refnameProblem(name, allowOnelevel);
  if (problem) throw new InvalidRefnameError(name, problem);
}

/** Lease keys are one refname component (DESIGN §1). */
const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * The whole lease-key rule as one ECMA-262 regular expression, for JSON Schema `pattern`s: accepts
 * exactly the keys {@link keyProblem} accepts.
 */
export const KEY_PATTERN = /^(?!.*\.\.)(?!.*\.lock$)(?!.*\.$)[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * git's branch-name rules (`git check-ref-format --branch`, see {@link assertBranch}) as one ECMA-262
 * regular expression, for JSON Schema `pattern`s: not `HEAD`, no leading `-` or `/`, no empty
 * component, no component starting with `.` or ending in `.lock`, no `..`, no `@{`, not ending in
 * `/` or `.`, no control character, space, `~ ^ : ? * [ \`.
 */
export const BRANCH_PATTERN =
  /^(?!HEAD$)(?![-/])(?!.*\/\/)(?!.*\/$)(?!.*\.$)(?!.*\.\.)(?!.*@\{)(?!(?:.*\/)?\.)(?!.*\.lock(?:\/|$))[^\x00-\x20\x7f~^:?*[\\]+$/;

/**
 * Why `key` is not a valid lease key, or `null`: `[A-Za-z0-9][A-Za-z0-9._-]{0,99}`, not ending in
 * `.lock` or `.`, no `..` (DESIGN §1).
 */
export function keyProblem(key: string): string | null {
  if (!KEY_RE.test(key)) {
    return 'a key is 1-100 characters of [A-Za-z0-9._-] starting with a letter or digit';
  }
  if (key.endsWith('.lock')) return 'ends with ".lock"';
  if (key.endsWith('.')) return 'ends with "."';
  if (key.includes('..')) return 'contains ".."';
  return null;
}

/**
 * Asserts that `key` is a valid lease key.
 *
 * @throws InvalidRefnameError (code `invalid-key`, exit 2)
 */
export function assertKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new InvalidRefnameError(key, problem, 'key');
}

/**
 * Asserts that `branch` is a valid branch name (as `git check-ref-format --branch`, without `@{-N}`
 * expansion): `refs/heads/<branch>` is a valid refname and the name does not start with `-`. Names
 * starting with `refs/`, `heads/`, `tags/` or `remotes/` are refused too: git accepts them, but then
 * warns "refname is ambiguous" for them (`refs/heads/main` as a branch is `refs/heads/refs/heads/main`,
 * and git resolves the name `refs/heads/main` to both).
 *
 * @throws InvalidRefnameError (code `invalid-branch`, exit 2)
 */
export function assertBranch(branch: string): void {
  const prefix = /^(refs|heads|tags|remotes)\//.exec(branch)?.[0];
  const also = prefix === 'refs/' ? branch : `refs/${branch}`;
  const short = /^(refs\/)?heads\/(.+)$/.exec(branch)?.[2];
  const problem = branch.startsWith('-')
    ? 'starts with "-"'
    : prefix
      ? `starts with "${prefix}": the branch would be refs/heads/${branch}, and git would find "${branch}" ` +
        `ambiguous (it is also ${also}); give the short name${short ? `, ${short}` : ''}`
      : refnameProblem(`refs/heads/${branch}`);
  if (problem || branch === 'HEAD') throw new InvalidRefnameError(branch, problem ?? 'is "HEAD"', 'branch');
}
