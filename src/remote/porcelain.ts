/**
 * The flag column of `git push --porcelain` (git-push(1) OUTPUT): ` ` fast-forward, `+` forced
 * update, `-` deleted, `*` new ref, `!` rejected or failed, `=` up to date. The reason text after the
 * summary differs between git versions and is never parsed for a decision (DESIGN §7).
 */
export type PushFlag = ' ' | '+' | '-' | '*' | '!' | '=';

/** One ref line of `git push --porcelain`: `<flag>\t<from>:<to>\t<summary> (<reason>)`. */
export interface PushRefLine {
  flag: PushFlag;
  /** The source side (an oid here; empty for a deletion). */
  from: string;
  /** The remote refname. */
  to: string;
  /** The summary and reason as git printed them, for messages only. */
  summary: string;
}

const FLAGS = new Set([' ', '+', '-', '*', '!', '=']);

/** Parses the ref lines of `git push --porcelain` stdout; `To <url>` and `Done` lines are skipped. */
export function parsePorcelain(stdout: string): PushRefLine[] {
  const out: PushRefLine[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(.)\t([^\t]*)\t?(.*)$/.exec(line);
    if (!m || !FLAGS.has(m[1]!)) continue;
    const spec = m[2]!;
    const colon = spec.lastIndexOf(':');
    if (colon < 0) continue;
    out.push({
      flag: m[1] as PushFlag,
      from: spec.slice(0, colon),
      to: spec.slice(colon + 1),
      summary: m[3]!,
    });
  }
  return out;
}

/** True for a flag that says the remote now has what was pushed. */
export function accepted(flag: PushFlag): boolean {
  return flag !== '!';
}
