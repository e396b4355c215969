import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, STARTER_CONFIG } from '../../src/config/config.js';
import { evaluateGate, indexTarget } from '../../src/gates/index.js';
import { discoverRepo } from '../../src/refs/repo.js';
import { cleanup, GIT_ENV, makeRepo, sh } from '../fixtures/repo.js';

afterAll(cleanup);

const config = parseConfig(JSON.stringify(STARTER_CONFIG), '.coord/config.json');
const DAY = 86400;

function write(dir: string, path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

/** Commits everything with a committer date `daysAgo` days in the past. */
function commitAll(dir: string, msg: string, daysAgo = 0): string {
  sh(dir, 'add', '-A');
  const date = new Date(Date.now() - daysAgo * DAY * 1000).toISOString();
  execFileSync('git', ['commit', '-q', '--allow-empty', '-m', msg], {
    cwd: dir,
    env: { ...process.env, ...GIT_ENV, GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date },
  });
  return sh(dir, 'rev-parse', 'HEAD');
}

/** A gsdd-style repository: phase 65 with both artifacts and a fresh lessons file. */
function gsddRepo(): string {
  const dir = makeRepo();
  write(dir, '.planning/lessons-learned.md', '# lessons\n');
  write(dir, '.planning/phases/65-auth/65-PLAN-CHECK.md', 'plan ok\n');
  write(dir, '.planning/phases/65-auth/65-VERIFICATION.md', 'verified\n');
  write(dir, '.planning/phases/64-db/64-PLAN-CHECK.md', 'other phase\n');
  commitAll(dir, 'phase 65');
  return dir;
}

describe('gates on a gsdd-style fixture', () => {
  it('passes with both artifacts and a fresh lessons file, and lists every rule', () => {
    const dir = gsddRepo();
    const repo = discoverRepo(dir);
    const head = sh(dir, 'rev-parse', 'HEAD');
    const ev = evaluateGate(repo, config, '65', { kind: 'commit', commit: head });
    expect(ev.result).toBe('passed');
    expect(ev.rules.map((r) => [r.rule, r.status])).toEqual([
      ['when .planning/phases/65-*', 'pass'],
      ['require .planning/phases/65-*/65-PLAN-CHECK.md', 'pass'],
      ['require .planning/phases/65-*/65-VERIFICATION.md', 'pass'],
      ['fresh .planning/lessons-learned.md within 7d', 'pass'],
    ]);
    expect(ev.rules[1]!.detail).toBe('.planning/phases/65-auth/65-PLAN-CHECK.md');
    expect(ev.missing).toEqual([]);
    expect(ev.commit).toBe(head);
  });

  for (const file of ['65-PLAN-CHECK.md', '65-VERIFICATION.md']) {
    it(`fails naming ${file} when it is missing`, () => {
      const dir = gsddRepo();
      sh(dir, 'rm', '-q', `.planning/phases/65-auth/${file}`);
      const head = commitAll(dir, `drop ${file}`);
      const ev = evaluateGate(discoverRepo(dir), config, '65', { kind: 'commit', commit: head });
      expect(ev.result).toBe('failed');
      const failing = ev.rules.filter((r) => r.status === 'fail');
      expect(failing).toHaveLength(1);
      expect(failing[0]!.rule).toBe(`require .planning/phases/65-*/${file}`);
      expect(ev.missing.join('\n')).toContain(file);
    });
  }

  it('fails on an empty required file', () => {
    const dir = gsddRepo();
    write(dir, '.planning/phases/65-auth/65-VERIFICATION.md', '');
    const head = commitAll(dir, 'empty it');
    const ev = evaluateGate(discoverRepo(dir), config, '65', { kind: 'commit', commit: head });
    expect(ev.result).toBe('failed');
    expect(ev.rules[2]).toMatchObject({ status: 'fail', detail: expect.stringContaining('empty') });
  });

  it('is skipped when there is no phase folder for the key', () => {
    const dir = gsddRepo();
    const head = sh(dir, 'rev-parse', 'HEAD');
    const ev = evaluateGate(discoverRepo(dir), config, '66', { kind: 'commit', commit: head });
    expect(ev.result).toBe('skipped');
    expect(ev.rules.every((r) => r.status === 'skip')).toBe(true);
  });

  it('fails `fresh` when the lessons file was last committed 30 days ago', () => {
    const dir = makeRepo();
    write(dir, '.planning/lessons-learned.md', '# old lessons\n');
    commitAll(dir, 'lessons', 30);
    write(dir, '.planning/phases/65-auth/65-PLAN-CHECK.md', 'plan ok\n');
    write(dir, '.planning/phases/65-auth/65-VERIFICATION.md', 'verified\n');
    const head = commitAll(dir, 'phase 65');
    const ev = evaluateGate(discoverRepo(dir), config, '65', { kind: 'commit', commit: head });
    expect(ev.result).toBe('failed');
    const fresh = ev.rules.find((r) => r.rule.startsWith('fresh'))!;
    expect(fresh.status).toBe('fail');
    expect(fresh.detail).toMatch(/stale: last changed 30d/);
    expect(ev.missing.join('\n')).toContain('lessons-learned.md');
  });

  it('evaluates the committed tree, never the working directory', () => {
    const dir = gsddRepo();
    sh(dir, 'rm', '-q', '.planning/phases/65-auth/65-VERIFICATION.md');
    const head = commitAll(dir, 'drop verification');
    write(dir, '.planning/phases/65-auth/65-VERIFICATION.md', 'uncommitted\n');
    const ev = evaluateGate(discoverRepo(dir), config, '65', { kind: 'commit', commit: head });
    expect(ev.result).toBe('failed');
  });

  it('on the index tree: staged files count, and a staged lessons file is fresh now', () => {
    const dir = makeRepo();
    write(dir, '.planning/lessons-learned.md', '# old lessons\n');
    commitAll(dir, 'lessons', 30);
    write(dir, '.planning/phases/65-auth/65-PLAN-CHECK.md', 'plan ok\n');
    write(dir, '.planning/phases/65-auth/65-VERIFICATION.md', 'verified\n');
    sh(dir, 'add', '-A');
    const repo = discoverRepo(dir);
    let ev = evaluateGate(repo, config, '65', indexTarget(repo, dir));
    expect(ev.result).toBe('failed');
    expect(ev.commit).toBeNull();
    write(dir, '.planning/lessons-learned.md', '# new lessons\n');
    sh(dir, 'add', '-A');
    ev = evaluateGate(repo, config, '65', indexTarget(repo, dir));
    expect(ev.result).toBe('passed');
    expect(ev.rules[3]!.detail).toContain('staged');
  });

  it('skips when no gate is configured', () => {
    const dir = gsddRepo();
    const ev = evaluateGate(discoverRepo(dir), parseConfig('{}', null), '65', {
      kind: 'commit',
      commit: sh(dir, 'rev-parse', 'HEAD'),
    });
    expect(ev.result).toBe('skipped');
  });

  it('refuses patterns that leave the repository, at load and at evaluation', () => {
    expect(() => parseConfig(JSON.stringify({ gates: { done: { require: ['../x'] } } }), 'c.json')).toThrow(
      ConfigError,
    );
    const dir = gsddRepo();
    const bad = { gates: { done: { require: ['/etc/passwd'] } }, source: 'c.json' };
    expect(() =>
      evaluateGate(discoverRepo(dir), bad, '65', { kind: 'commit', commit: sh(dir, 'rev-parse', 'HEAD') }),
    ).toThrow(/leaves the repository/);
  });

  it('a gate without `when` always applies; `when` can match a file', () => {
    const dir = gsddRepo();
    const head = sh(dir, 'rev-parse', 'HEAD');
    const repo = discoverRepo(dir);
    const cfg = {
      gates: { done: { require: ['docs/{key}.md'] }, other: { when: 'README.md', require: ['README.md'] } },
      source: null,
    };
    expect(evaluateGate(repo, cfg, 'x', { kind: 'commit', commit: head }).result).toBe('failed');
    expect(evaluateGate(repo, cfg, 'x', { kind: 'commit', commit: head }, { gate: 'other' }).result).toBe(
      'passed',
    );
  });
});
