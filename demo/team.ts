/**
 * The demo's second machine (team mode, DESIGN §7): the shop repository shares its records through
 * a real bare remote; a second clone with its own `COORD_HOST` ("laptop-2") sees the first machine's
 * leases, is refused the same phase, takes it over once the first machine's agent is killed and marked
 * crashed there, and the first machine's restarted stale agent is then refused.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Agent, type CommandResult } from './agents.js';
import type { Story } from './story.js';

/** What the demo driver hands this part. */
export interface TeamDemo {
  story: Story;
  /** The first machine's repository (the shop). */
  repo: string;
  /** Scratch directory next to it. */
  tmp: string;
  /** Environment of every command (shim on PATH, git isolated). */
  env: Record<string, string>;
  /** Runs `cmd` as the maintainer in `cwd`, printed in the story. */
  you: (cmd: string, cwd?: string) => CommandResult;
  /** Agents started here, stopped by the driver at the end. */
  agents: Agent[];
}

/** Runs the second-machine steps; throws UnexpectedOutcome (via `story.expect`) on a wrong outcome. */
export async function secondMachine(d: TeamDemo): Promise<void> {
  const { story, repo, tmp, you } = d;
  const laptop2 = join(tmp, 'laptop-2');
  const run = async (a: Agent, cmd: string, cwd: string) => {
    const res = await a.run(cmd, cwd);
    story.command(`${a.name}@${hostOf(a)}`, cwd, cmd, res);
    return res;
  };

  story.step(
    'Team mode: the shop shares its records through a git remote',
    '`init --remote` proves the remote takes atomic pushes of refs/coord/*, pushes the local records ' +
      'and from then on every write is a compare-and-swap on the remote (git push --atomic --force-with-lease).',
  );
  you(
    `git init -q --bare -b main ${join(tmp, 'team.git')} && git remote add team ${join(tmp, 'team.git')} && git push -q team main`,
  );
  const joined = you('git coord init --remote team | grep -E "team mode|joined|pushed"');
  story.expect(
    joined.code === 0 && /joined team/.test(joined.stdout),
    '`git coord init --remote team` joins the remote',
  );
  const onRemote = you(`git ls-remote team 'refs/coord/leases/*'`);
  story.expect(/refs\/coord\/leases\/67/.test(onRemote.stdout), "the remote now holds the shop's leases");

  story.step('A second machine, laptop-2, clones the remote and joins');
  you(`git clone -q ${join(tmp, 'team.git')} ${laptop2}`);
  const env2 = { ...d.env, COORD_HOST: 'laptop-2' };
  const env1 = { ...d.env, COORD_HOST: 'laptop-1' };
  const e = await Agent.start('agent-e', env2);
  const f = await Agent.start('agent-f', env1);
  d.agents.push(e, f);
  await run(e, 'git coord init --remote origin | grep -E "team mode|joined"', laptop2);
  const seen = await run(e, 'git coord list', laptop2);
  story.expect(
    seen.code === 0 && /67\s+closed \(done\)\s+agent-b/.test(seen.stdout),
    "laptop-2 sees the first machine's leases (67 done by agent-b)",
  );

  story.step('agent-f on laptop-1 claims phase 70; agent-e on laptop-2 is refused it');
  const claimF = await run(f, `git coord claim 70 --pid ${f.pid}`, repo);
  story.expect(claimF.code === 0, 'agent-f claims 70 on laptop-1 (pushed to the remote)');
  const refused = await run(e, 'git coord claim 70', laptop2);
  story.expect(
    refused.code === 3 && /held by agent-f on laptop-1/.test(refused.stderr),
    'agent-e is refused with exit 3 naming agent-f on laptop-1',
  );

  story.step(
    'agent-f is killed; laptop-1 notices and marks its lease crashed, which laptop-2 sees',
    'Only laptop-1 can see that the pid is gone; the crash mark travels through the remote like any write.',
  );
  await f.kill();
  story.say(`killed agent-f (pid ${f.pid}) on laptop-1`);
  const fixed = you('COORD_HOST=laptop-1 git coord doctor --fix | grep -E "dead|crash" ; true');
  story.expect(/crash/.test(fixed.stdout), '`doctor --fix` on laptop-1 marks lease 70 crashed');
  const taken = await run(e, 'git coord takeover 70 --reason "agent-f died on laptop-1"', laptop2);
  story.expect(taken.code === 0, 'agent-e takes 70 over from laptop-2 (token 1 → 2)');
  const lease70 = JSON.parse(gitIn(laptop2, 'show', 'refs/coord/leases/70')) as {
    token: number;
    holder: { id: string };
    worktree: { host: string; path: string } | null;
  };
  story.expect(
    lease70.token === 2 &&
      lease70.holder.id === 'agent-e' &&
      lease70.worktree?.host === 'laptop-2' &&
      lease70.worktree.path.startsWith(laptop2),
    "lease 70: token 2, agent-e, and a worktree on laptop-2 (never laptop-1's path)",
  );

  story.step('agent-f comes back on laptop-1 with its old token: it is refused');
  const f2 = await Agent.start('agent-f', env1);
  d.agents.push(f2);
  const stale = await run(f2, 'git coord renew 70 --token 1', repo);
  story.expect(
    stale.code === 3 && /agent-e/.test(stale.stderr),
    "the stale agent's renew exits 3: the token moved to 2, held by agent-e",
  );
  const synced = you('git coord sync | tail -1');
  story.expect(synced.code === 0, '`git coord sync` brings laptop-1 up to date');
  you('git coord show 70 | head -4');
}

function hostOf(a: Agent): string {
  return a.name === 'agent-e' ? 'laptop-2' : 'laptop-1';
}

function gitIn(cwd: string, ...args: string[]): string {
  return spawnSync('git', args, { cwd, encoding: 'utf8' }).stdout;
}
