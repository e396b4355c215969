/**
 * `npm run demo`: a real end-to-end coordination run on a fresh git repository. Three agent processes
 * (demo/agent.ts, each with its own COORD_HOLDER) claim phases, get their own worktrees and branches,
 * commit, stray into each other's worktree, hit the `done` gate, override it, die, and are taken over;
 * the closeout report is shown and the state is inspected with plain git; the finished phases are
 * merged into main (`git coord merge`), a conflicting one is escalated, and `git coord cleanup` removes
 * what the merged ones left; finally an orchestrator runs three tasks with `git coord parallel` (at
 * most 2 at once) and merges them; then the shop turns on team mode and a second machine (a second
 * clone of a real bare remote, another COORD_HOST) sees its leases, is refused, takes one over after
 * the first machine's agent dies, and the stale agent is refused (demo/team.ts). Every expected outcome is
 * checked; the process exits 0 only if all happened, else 1 naming the first that did not.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type CommandResult } from './agents.js';
import { makeProject, PROJECT_GIT_ENV, snapshotCli, writeShim } from './project.js';
import { Story, UnexpectedOutcome } from './story.js';
import { secondMachine } from './team.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'git-coord.mjs');
if (!existsSync(CLI)) {
  process.stderr.write(`demo: ${CLI} is missing; run \`npm run build\` (npm run demo does it for you)\n`);
  process.exit(1);
}

const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'coord-demo-')));
const repo = join(tmp, 'shop');
const bin = join(tmp, 'bin');
writeShim(bin, snapshotCli(CLI, tmp));
const globalConfig = join(tmp, 'gitconfig');
writeFileSync(globalConfig, '');
/** Environment of every command: the shim on PATH, git isolated from the user's configuration. */
const ENV: Record<string, string> = {
  ...PROJECT_GIT_ENV,
  GIT_CONFIG_GLOBAL: globalConfig,
  PATH: `${bin}:${process.env.PATH}`,
  NO_COLOR: '1',
};
const story = new Story(repo, 'shop');
const agents: Agent[] = [];

/** Lease record as stored, read with plain git (`git show refs/coord/leases/<key>`), or null. */
interface LeaseView {
  key: string;
  state: string;
  outcome: string | null;
  holder: { id: string; pid: number | null };
  token: number;
  revision: number;
  transitions: number;
  branch: string | null;
  worktree: { path: string } | null;
  renewedAt: string;
  gate: { result: string; missing: string[]; reason: string | null } | null;
}

function gitOut(...args: string[]): string | null {
  const res = spawnSync('git', args, { cwd: repo, env: { ...process.env, ...ENV }, encoding: 'utf8' });
  return res.status === 0 ? res.stdout.trim() : null;
}

function lease(key: string, at = ''): LeaseView | null {
  const text = gitOut('show', `refs/coord/leases/${key}${at}`);
  return text === null ? null : (JSON.parse(text) as LeaseView);
}

/** Runs `cmd` as the human maintainer in `cwd`, printed as part of the story. */
function you(cmd: string, cwd = repo): CommandResult {
  const res = spawnSync('bash', ['-c', cmd], {
    cwd,
    env: { ...process.env, ...ENV, COORD_HOLDER: 'maintainer' },
    encoding: 'utf8',
  });
  const result = { code: res.status ?? 128, stdout: res.stdout, stderr: res.stderr };
  story.command('you', cwd, cmd, result);
  return result;
}

/** Runs `cmd` inside agent `a` (a real process with its own holder id), printed as part of the story. */
async function as(a: Agent, cmd: string, cwd: string): Promise<CommandResult> {
  const res = await a.run(cmd, cwd);
  story.command(a.name, cwd, cmd, res);
  return res;
}

/** Runs several agents' commands at the same moment and prints them in order. */
async function together(runs: Array<[Agent, string, string]>): Promise<CommandResult[]> {
  const results = await Promise.all(runs.map(([a, cmd, cwd]) => a.run(cmd, cwd)));
  runs.forEach(([a, cmd, cwd], i) => {
    story.command(a.name, cwd, cmd, results[i]!);
  });
  return results;
}

const both = (r: CommandResult) => `${r.stdout}${r.stderr}`;

async function main(): Promise<void> {
  process.stdout.write(`git-coord demo — a fresh repository in ${tmp}\n`);

  story.step('A fresh repository: "shop", a small Node project with three planned phases');
  makeProject(repo);
  you('git log --oneline && git ls-files');
  you('cat .coord/config.json');
  story.expect(
    existsSync(join(repo, '.planning/phases/65-auth/65-PLAN.md')),
    'phases 65, 66 and 67 are planned',
  );

  story.step(
    'Install git-coord into the repository',
    'A `git-coord` shim on PATH makes `git coord` a git subcommand.',
  );
  const init = you('git coord init');
  story.expect(init.code === 0, '`git coord init` exits 0');
  const hooksDir = gitOut('rev-parse', '--path-format=absolute', '--git-path', 'hooks')!;
  story.expect(existsSync(join(hooksDir, 'pre-commit')), `a pre-commit hook is installed in ${hooksDir}`);
  you('git coord hooks status');

  story.step('Three agents start, each a long-lived process with its own holder id');
  for (const name of ['agent-a', 'agent-b', 'agent-c']) agents.push(await Agent.start(name, ENV));
  const [a, b, c] = agents as [Agent, Agent, Agent];
  for (const x of agents) story.say(`${x.name}: pid ${x.pid}, COORD_HOLDER=${x.name}`);
  story.expect(agents.length === 3, 'three agent processes are running');

  story.step(
    'All three claim a phase at the same moment',
    'Each claim is one CAS transaction over the lease, branch and worktree refs.',
  );
  const claims = await together([
    [a, `git coord claim 65 --pid ${a.pid}`, repo],
    [b, `git coord claim 66 --pid ${b.pid}`, repo],
    [c, `git coord claim 67 --pid ${c.pid}`, repo],
  ]);
  story.expect(
    claims.every((r) => r.code === 0),
    'all three claims exit 0',
  );
  const wt: Record<string, string> = {};
  for (const [key, agent] of [
    ['65', a],
    ['66', b],
    ['67', c],
  ] as const) {
    const l = lease(key);
    story.expect(
      l?.state === 'open' && l.holder.id === agent.name && l.holder.pid === agent.pid,
      `lease ${key} is open, held by ${agent.name} (pid ${agent.pid})`,
    );
    story.expect(
      Boolean(
        l?.worktree &&
          existsSync(l.worktree.path) &&
          gitOut('rev-parse', '--verify', `refs/heads/${l.branch}`),
      ),
      `${agent.name} has its own worktree and branch for ${key}`,
    );
    wt[key] = l!.worktree!.path;
  }
  you('git worktree list');

  story.step('agent-a and agent-b both try to grab phase 67, which agent-c holds');
  const grabs = await together([
    [a, 'git coord claim 67', repo],
    [b, 'git coord claim 67', repo],
  ]);
  story.expect(
    grabs.every((r) => r.code === 3),
    'both are refused with exit 3 (conflict)',
  );
  story.expect(
    grabs.every((r) => both(r).includes('agent-c')),
    'both messages name the holder, agent-c',
  );
  story.expect(lease('67')?.holder.id === 'agent-c', 'lease 67 still belongs to agent-c');

  story.step(
    'Each agent commits in its own worktree',
    "The pre-commit hook lets a lease's holder commit and renews the lease.",
  );
  const renewedBefore = lease('65')!.renewedAt;
  const commits = await together([
    [
      a,
      "printf 'import { scryptSync } from \"node:crypto\";\\n' >> src/auth.js && git commit -qam 'auth: hash passwords' && git log --oneline -1",
      wt['65']!,
    ],
    [
      b,
      "printf '// PDF rendering comes next\\n' >> src/billing.js && git commit -qam 'billing: invoice PDF stub' && git log --oneline -1",
      wt['66']!,
    ],
    [
      c,
      "printf '// webhook signature check: WIP\\n' >> src/index.js && git commit -qam 'webhooks: WIP' && git log --oneline -1",
      wt['67']!,
    ],
  ]);
  story.expect(
    commits.every((r) => r.code === 0),
    'all three commits succeed',
  );
  story.expect(
    lease('65')!.renewedAt > renewedBefore,
    "agent-a's commit renewed lease 65 (renewedAt advanced)",
  );

  story.step("agent-b strays into agent-a's worktree and tries to commit there");
  const headBefore = gitOut('rev-parse', 'refs/heads/coord/65');
  const stray = await as(
    b,
    "printf '// quick fix\\n' >> src/auth.js && git commit -qam 'auth: quick fix'",
    wt['65']!,
  );
  story.expect(stray.code !== 0, 'the real pre-commit hook refuses the commit');
  story.expect(both(stray).includes('agent-a'), 'the refusal names the holder, agent-a');
  story.expect(gitOut('rev-parse', 'refs/heads/coord/65') === headBefore, 'branch coord/65 did not move');
  await as(b, 'git checkout -q -- src/auth.js && git status --short', wt['65']!);

  story.step('agent-a asks for its closeout report while the others are still working');
  const blocked = await as(a, 'git coord report', wt['65']!);
  story.expect(blocked.code === 4, 'the report exits 4: other open leases block the closeout');
  story.expect(
    /\[BLOCK\][^\n]*66/.test(blocked.stdout) && /\[BLOCK\][^\n]*67/.test(blocked.stdout),
    'leases 66 and 67 are listed as [BLOCK]',
  );

  story.step('agent-a tries to finish phase 65 before its artifacts exist');
  const early = await as(a, 'git coord done 65', wt['65']!);
  story.expect(early.code === 4, '`done` is refused by the gate with exit 4');
  story.expect(
    both(early).includes('65-PLAN-CHECK.md') && both(early).includes('65-VERIFICATION.md'),
    'the refusal lists 65-PLAN-CHECK.md and 65-VERIFICATION.md',
  );
  story.expect(lease('65')?.state === 'open', 'lease 65 stays open');

  story.step('agent-a commits the artifacts; now `done` passes');
  await as(
    a,
    "printf '# 65 plan check\\nAll plan items covered.\\n' > .planning/phases/65-auth/65-PLAN-CHECK.md && " +
      "printf '# 65 verification\\nnode --test: 1 passed\\n' > .planning/phases/65-auth/65-VERIFICATION.md && " +
      "git add .planning && git commit -qm '65: plan check and verification' && git log --oneline -1",
    wt['65']!,
  );
  const done65 = await as(a, 'git coord done 65', wt['65']!);
  story.expect(done65.code === 0, '`git coord done 65` exits 0');
  const l65 = lease('65');
  story.expect(
    l65?.state === 'closed' && l65.outcome === 'done' && l65.gate?.result === 'passed',
    'lease 65 is closed, outcome done, gate passed',
  );

  story.step('agent-b cannot verify phase 66 today and overrides the gate, with a reason');
  const refused66 = await as(b, 'git coord done 66', wt['66']!);
  story.expect(refused66.code === 4, '`done 66` is refused by the gate (exit 4)');
  const noReason = await as(b, 'git coord done 66 --force', wt['66']!);
  story.expect(noReason.code === 2, '`--force` without `--reason` is a usage error (exit 2)');
  const forced = await as(
    b,
    'git coord done 66 --force --reason "PDF renderer blocked on vendor licence; verified by hand"',
    wt['66']!,
  );
  story.expect(forced.code === 0, '`done 66 --force --reason …` exits 0');
  const l66 = lease('66');
  story.expect(
    l66?.state === 'closed' &&
      l66.gate?.result === 'overridden' &&
      Boolean(l66.gate.reason?.includes('vendor')),
    'lease 66 is closed with gate "overridden" and the reason recorded',
  );
  const audit =
    gitOut('for-each-ref', '--format=%(refname)', 'refs/coord/audit')?.split('\n').filter(Boolean) ?? [];
  const overrideEvent = audit
    .map((ref) => JSON.parse(gitOut('show', ref) ?? '{}') as { action?: string; key?: string })
    .find((e) => e.action === 'override' && e.key === '66');
  story.expect(Boolean(overrideEvent), 'an override audit event for 66 is stored under refs/coord/audit/');
  you("git for-each-ref --format='%(refname)' refs/coord/audit | xargs -n1 git show");

  story.step('agent-c is killed with SIGKILL in the middle of phase 67');
  await c.kill();
  story.say(`killed pid ${c.pid}`);
  const list = you('git coord list');
  story.expect(
    list.code === 0 && /holder dead/.test(list.stdout),
    '`git coord list` shows lease 67 as open (holder dead)',
  );
  const show67 = JSON.parse(you('git coord show 67 --json').stdout) as { stale: string | null };
  story.expect(show67.stale === 'holder-dead', '`show 67 --json` reports "stale": "holder-dead"');

  story.step('agent-b takes over phase 67 without waiting for the TTL');
  const before67 = lease('67')!;
  const take = await as(b, 'git coord takeover 67 --reason "agent-c died (SIGKILL)"', repo);
  story.expect(take.code === 0, '`takeover 67` exits 0');
  const after67 = lease('67')!;
  story.expect(
    after67.holder.id === 'agent-b' &&
      after67.token === before67.token + 1 &&
      after67.transitions === before67.transitions + 1,
    `lease 67 now held by agent-b, fencing token ${before67.token} → ${before67.token + 1}, transitions +1`,
  );
  const resumed = await as(
    b,
    "printf '// signatures verified\\n' >> src/index.js && git commit -qam 'webhooks: verify signatures' && git log --oneline -2",
    wt['67']!,
  );
  story.expect(resumed.code === 0, "agent-b can now commit in agent-c's old worktree");

  story.step(
    'Closeout report for phase 67',
    'Other open leases would be [BLOCK]; 65 and 66 are closed, so nothing blocks.',
  );
  const report = await as(b, 'git coord report', wt['67']!);
  story.expect(
    report.code === 0 && /\[INFO\]/.test(report.stdout),
    'the report shows 67 as [INFO] and no [BLOCK] (exit 0)',
  );

  story.step('Inspect everything with plain git');
  const refs = you('git for-each-ref refs/coord');
  story.expect(
    refs.stdout.includes('refs/coord/leases/67') && refs.stdout.includes('refs/coord/audit/'),
    'leases, indexes and audit events are ordinary refs',
  );
  const cur = you('git show refs/coord/leases/67');
  story.expect(
    (JSON.parse(cur.stdout) as LeaseView).holder.id === 'agent-b',
    '`git show refs/coord/leases/67` prints the lease (holder agent-b)',
  );
  const prev = you("git show 'refs/coord/leases/67@{1}'");
  story.expect(
    (JSON.parse(prev.stdout) as LeaseView).revision === lease('67')!.revision - 1,
    '`@{1}` is the previous version of the record (revision - 1)',
  );
  const older = you(`git show 'refs/coord/leases/67@{2}' | grep -E '"(id|token|revision)"'`);
  story.expect(
    older.stdout.includes('"agent-c"'),
    "`@{2}` is still agent-c's version, from before the takeover",
  );
  const reflogFile = you('cat "$(git rev-parse --git-common-dir)/logs/refs/coord/leases/67"');
  story.expect(
    reflogFile.stdout.includes('coord: claim 67 by agent-c token 1') &&
      reflogFile.stdout.includes('coord: takeover 67 by agent-b token 2'),
    "the ref's reflog file records every write: claim by agent-c, takeover by agent-b",
  );
  const reflog = you('git reflog refs/coord/leases/67');
  if (reflog.stdout.trim() === '') {
    story.say('`git reflog` prints nothing here: it walks commits, and refs/coord/* point at blobs;');
    story.say('`git show <ref>@{N}` and the reflog file above are the plain-git way to read the history.');
  }

  await mergeBack(b, wt);
}

/**
 * The end of the work: the finished phases are merged into main (`git coord merge`), a conflicting one
 * is escalated with nothing changed, and `git coord cleanup` removes what the merged ones left.
 */
async function mergeBack(b: Agent, wt: Record<string, string>): Promise<void> {
  story.step(
    'The maintainer merges the finished phases into main',
    "No agent's worktree is touched; main's own clean checkout moves with it.",
  );
  const m65 = you('git coord merge 65');
  story.expect(m65.code === 0 && /fast-forwarded/.test(m65.stdout), '`merge 65` fast-forwards main (exit 0)');
  const m66 = you('git coord merge 66');
  story.expect(m66.code === 0 && /^merged:/.test(m66.stdout), '`merge 66` makes a merge commit (exit 0)');
  const main = gitOut('rev-parse', 'main')!;
  story.expect(
    ['coord/65', 'coord/66'].every((br) => gitOut('merge-base', '--is-ancestor', br, main) !== null),
    'main now contains coord/65 and coord/66',
  );
  story.expect(
    gitOut('status', '--porcelain', '--untracked-files=no') === '',
    "main's checkout is clean and current",
  );
  you('git log --oneline --graph -6');
  const rec = JSON.parse(gitOut('show', 'refs/coord/leases/66') ?? '{}') as { merge?: { method: string } };
  story.expect(rec.merge?.method === 'merge', 'lease 66 records its merge (method "merge")');

  story.step(
    'A conflict is escalated: main changed src/index.js while agent-b finished phase 67',
    'The merge exits 4, lists the paths; main, the branch and the worktree are left as they were.',
  );
  you(
    "printf '// webhooks: see docs/webhooks.md\\n' >> src/index.js && git commit -qam 'index: webhook docs pointer'",
  );
  await as(
    b,
    "printf '# 67 plan check\\nok\\n' > .planning/phases/67-webhooks/67-PLAN-CHECK.md && " +
      "printf '# 67 verification\\nok\\n' > .planning/phases/67-webhooks/67-VERIFICATION.md && " +
      "git add .planning && git commit -qm '67: plan check and verification' && git coord done 67",
    wt['67']!,
  );
  const before = gitOut('rev-parse', 'main');
  const head67 = gitOut('rev-parse', 'coord/67');
  const m67 = you('git coord merge 67');
  story.expect(m67.code === 4, '`merge 67` is refused with exit 4');
  story.expect(
    both(m67).includes('conflict: src/index.js'),
    'the message lists the conflicting path src/index.js',
  );
  story.expect(
    gitOut('rev-parse', 'main') === before &&
      gitOut('rev-parse', 'coord/67') === head67 &&
      existsSync(wt['67']!),
    'main did not move; branch coord/67 and its worktree are kept',
  );

  story.step('Clean up what the merged phases left behind');
  const clean = you('git coord cleanup --branches');
  story.expect(clean.code === 0, '`git coord cleanup --branches` exits 0');
  story.expect(
    !existsSync(wt['65']!) &&
      !existsSync(wt['66']!) &&
      gitOut('rev-parse', '--verify', '-q', 'refs/heads/coord/65') === null &&
      gitOut('rev-parse', '--verify', '-q', 'refs/heads/coord/66') === null,
    'the worktrees of 65 and 66 (clean, merged) are removed, with their branches',
  );
  story.expect(
    existsSync(wt['67']!) && /kept\s+67 .*not in main/.test(clean.stdout),
    'the worktree of 67 is kept: its branch is not merged',
  );
  you('git worktree list');

  story.step(
    'An orchestrator runs three follow-up tasks with `git coord parallel`, at most 2 at once',
    'Each task is `git coord run` in its own lease and worktree (heartbeats, attempts); --merge merges ' +
      'each finished one into main in the order they finish. The commands log when they start and end.',
  );
  const times = join(tmp, 'times');
  const task =
    `echo "start {key} $(date +%s%3N)" >> ${times}; sleep 1; echo "# {key}" > "notes-{key}.md"; ` +
    `git add "notes-{key}.md"; git commit -qm "{key}: notes"; echo "end {key} $(date +%s%3N)" >> ${times}`;
  const par = you(`git coord parallel fix-1 fix-2 fix-3 --max 2 --yes --merge -- sh -c '${task}'`);
  story.expect(par.code === 0, '`git coord parallel` exits 0: every task done and merged');
  story.expect(
    ['fix-1', 'fix-2', 'fix-3'].every((k) =>
      new RegExp(`^${k}\\s+done\\s+0\\s+\\S+\\s+merged`, 'm').test(par.stdout),
    ),
    'the final table says done and merged for fix-1, fix-2 and fix-3',
  );
  let running = 0;
  let most = 0;
  for (const [kind] of readTimes(times).map((l) => l.split(' '))) {
    running += kind === 'start' ? 1 : -1;
    most = Math.max(most, running);
  }
  story.expect(most === 2, 'never more than 2 tasks ran at once (from the timestamps the tasks wrote)');
  story.expect(
    ['fix-1', 'fix-2', 'fix-3'].every((k) => gitOut('cat-file', '-e', `main:notes-${k}.md`) !== null),
    "every task's commit is on main",
  );
  you('git coord show fix-1 | grep -E "^(state|attempts)"');

  await secondMachine({ story, repo, tmp, env: ENV, you, agents });
}

/** The start/end lines the parallel tasks wrote, in time order (an end before a start at the same ms). */
function readTimes(path: string): string[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .sort((x, y) => {
      const [kx, , tx] = x.split(' ');
      const [ky, , ty] = y.split(' ');
      return Number(tx) - Number(ty) || (kx === 'end' ? -1 : 0) - (ky === 'end' ? -1 : 0);
    });
}

let code = 0;
try {
  await main();
  process.stdout.write(`\nAll ${story.passed} expected outcomes happened in ${story.steps} steps. ✓\n`);
} catch (err) {
  code = 1;
  const msg = err instanceof UnexpectedOutcome ? err.message : `demo crashed: ${(err as Error).stack ?? err}`;
  process.stdout.write(`\n✗ ${msg}\n`);
  process.stderr.write(`demo failed: ${msg.split('\n')[0]}\n`);
} finally {
  await Promise.all(agents.map((x) => x.stop()));
  if (process.env.COORD_DEMO_KEEP === '1') process.stdout.write(`(kept ${tmp})\n`);
  else rmSync(tmp, { recursive: true, force: true });
}
process.exitCode = code;
