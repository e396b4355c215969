import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import {
  assertBranch,
  assertKey,
  assertRefname,
  BRANCH_PATTERN,
  InvalidRefnameError,
  KEY_PATTERN,
  keyProblem,
  refnameProblem,
} from '../../src/refs/index.js';

/** Exit status of the real `git check-ref-format [opts] <name>`: 0 = valid. */
function gitAccepts(name: string, ...opts: string[]): boolean {
  return spawnSync('git', ['check-ref-format', ...opts, name], { stdio: 'ignore' }).status === 0;
}

/** Names covering every check-ref-format rule, valid and invalid, compared with real git. */
const REFNAMES = [
  'refs/coord/leases/65',
  'refs/coord/branches/coord/65',
  'refs/heads/feature/x-y_z.1',
  'refs/heads/ünïcode',
  'refs/heads/a@b',
  'refs/heads/a{b}',
  'refs/heads/a.b',
  'refs/heads/-dash',
  'refs/heads/lock',
  'refs/heads/x.locked',
  'HEAD',
  'onelevel',
  '',
  '@',
  'refs/heads/@',
  'refs/heads/a@{b',
  'refs/heads/a..b',
  'refs/heads/.hidden',
  'refs/heads/x/.y',
  'refs/heads/a.lock',
  'refs/heads/a.lock/b',
  'refs/heads/a.',
  'refs/heads/a/',
  '/refs/heads/a',
  'refs//heads/a',
  'refs/heads/a b',
  'refs/heads/a\tb',
  'refs/heads/a\x01b',
  'refs/heads/a\x7fb',
  'refs/heads/a~1',
  'refs/heads/a^',
  'refs/heads/a:b',
  'refs/heads/a?',
  'refs/heads/a*',
  'refs/heads/a[b',
  'refs/heads/a\\b',
];

describe('refnameProblem (git check-ref-format)', () => {
  it.each(REFNAMES)('agrees with git check-ref-format on %j', (name) => {
    expect(refnameProblem(name) === null).toBe(gitAccepts(name));
  });

  it.each(REFNAMES)('agrees with git check-ref-format --allow-onelevel on %j', (name) => {
    expect(refnameProblem(name, true) === null).toBe(gitAccepts(name, '--allow-onelevel'));
  });

  it('names the broken rule', () => {
    expect(refnameProblem('refs/heads/a..b')).toBe('contains ".."');
    expect(refnameProblem('refs/heads/a.lock')).toMatch(/ends with "\.lock"/);
    expect(refnameProblem('refs//a')).toMatch(/empty component/);
    expect(refnameProblem('refs/heads/a b')).toMatch(/forbidden character " "/);
    expect(refnameProblem('refs/a@{1}')).toBe('contains "@{"');
    expect(refnameProblem('x')).toMatch(/at least one "\/"/);
  });

  it('assertRefname throws a typed usage error (exit 2) naming the input', () => {
    const err = catchError(() => assertRefname('refs/coord/leases/a..b'));
    expect(err).toBeInstanceOf(InvalidRefnameError);
    expect(err.code).toBe('invalid-refname');
    expect(err.exitCode).toBe(ExitCode.usage);
    expect(err.message).toContain('"refs/coord/leases/a..b"');
    expect(() => assertRefname('refs/coord/leases/ok')).not.toThrow();
  });
});

describe('lease keys (DESIGN §1: one refname component)', () => {
  const valid = ['65', 'a', 'A', 'phase-65', 'feat_x.2', 'x'.repeat(100), '9.lockx', 'a-.b'];
  const invalid = [
    '',
    '-x',
    '.x',
    '_x',
    'x'.repeat(101),
    'a/b',
    'a b',
    'a..b',
    'a.',
    'a.lock',
    'a@{1}',
    'a:b',
    'ü',
    'a\nb',
  ];

  it.each(valid)('accepts %j, which is also a valid one-level refname for git', (key) => {
    expect(keyProblem(key)).toBeNull();
    expect(gitAccepts(`refs/coord/leases/${key}`)).toBe(true);
    expect(() => assertKey(key)).not.toThrow();
  });

  it.each(invalid)('refuses %j with a typed usage error', (key) => {
    expect(keyProblem(key)).not.toBeNull();
    const err = catchError(() => assertKey(key));
    expect(err).toBeInstanceOf(InvalidRefnameError);
    expect(err.code).toBe('invalid-key');
    expect(err.exitCode).toBe(ExitCode.usage);
  });

  it.each([...valid, ...invalid])('KEY_PATTERN (for JSON Schema) agrees with keyProblem on %j', (key) => {
    expect(KEY_PATTERN.test(key)).toBe(keyProblem(key) === null);
  });

  it('every key git would accept as a component and that matches the pattern is accepted', () => {
    for (const key of ['a', 'Z9', '0.1.2', 'x-y_z']) {
      expect(keyProblem(key)).toBeNull();
      expect(gitAccepts(key, '--allow-onelevel')).toBe(true);
    }
  });
});

describe('branch names (git check-ref-format --branch)', () => {
  const names = [
    'main',
    'coord/65',
    'feature/a.b',
    'a..b',
    'a.lock',
    '-dash',
    'a b',
    'a/',
    'x@{y',
    'tricky@',
    'ok.',
    '.dot',
    'sub/.dot',
    'a//b',
    '/a',
    'a.lock/b',
    'x.locked',
    'a~b',
    'a\\b',
    'a\tb',
    '@',
    'ünï/ok',
    'HEAD',
  ];
  it.each(names)('agrees with git check-ref-format --branch on %j', (branch) => {
    let ours = true;
    try {
      assertBranch(branch);
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidRefnameError);
      expect((err as InvalidRefnameError).code).toBe('invalid-branch');
      ours = false;
    }
    const res = spawnSync('git', ['check-ref-format', '--branch', branch], { stdio: 'ignore' });
    expect(ours).toBe(res.status === 0);
    expect(BRANCH_PATTERN.test(branch)).toBe(ours); // the JSON Schema pattern says the same
  });
});

function catchError(fn: () => void): InvalidRefnameError {
  try {
    fn();
  } catch (err) {
    return err as InvalidRefnameError;
  }
  throw new Error('expected an error');
}
