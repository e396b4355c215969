/**
 * The POSIX sh hook scripts (DESIGN §5). Each one:
 *
 * 1. runs the hook we found in place at install time first (`<hook>.coord-chained`), so its failure
 *    still blocks (pre-push: it gets the same stdin);
 * 2. exits 0 at once with `COORD=0`;
 * 3. takes the fast path without starting node: pre-push exits 0 when the repository has no lease
 *    (`git for-each-ref --count=1 refs/coord/leases`); pre-commit exits 0 when neither the current
 *    worktree (its wtid slug, see `worktreeId`) nor the current branch has an index record
 *    (`refs/coord/worktrees/<slug>-????????`, `refs/coord/branches/<branch>`: one `git for-each-ref`,
 *    which also covers "no lease at all", since index records exist only for leases; the 8-hex
 *    host/path hash is checked by node, so two worktrees sharing a basename at most cost a node start);
 *    commit-msg exits 0 unless the message has a `Coord-Done:` line;
 * 4. otherwise runs `node <cli> hook <name> "$@"`, the CLI path embedded at install time, falling back
 *    to `git-coord` on PATH; with neither it fails closed, saying how to install it or skip with
 *    `COORD=0`.
 */

/** Hooks git-coord installs. */
export const HOOK_NAMES = ['pre-commit', 'commit-msg', 'pre-push'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** Marker line that identifies a hook file (or an integration line) written by git-coord. */
export const HOOK_MARKER = 'git-coord-hook';

/** Suffix of a pre-existing hook we keep and run first. */
export const CHAINED_SUFFIX = '.coord-chained';

/** Where the CLI is, embedded into the scripts at install time. */
export interface CliLocation {
  /** Absolute path of the node binary that installed the hooks (tried first), or null. */
  node: string | null;
  /** Absolute path of `dist/git-coord.mjs`, or null when unknown. */
  cli: string | null;
}

/** Quotes a string for POSIX sh (single quotes). */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';

/**
 * Shell function setting `coord_slug_out` to the worktree id slug of `worktreeId` (src/refs/repo.ts),
 * with builtins only (no subshell):
 * lower-case ASCII, every run outside `[a-z0-9_]` becomes one `-`, leading `-`/`_` dropped, at most 80
 * characters, `wt` when empty. Character classes are spelled out (no ranges) so no locale changes them.
 */
function slugFunction(): string {
  const lowerCases = [...UPPER].map((c, i) => `${c}) c=${LOWER[i]} ;;`).join(' ');
  return `coord_slug() {
  s=$1 out= dash=
  while [ -n "$s" ]; do
    rest=\${s#?}
    c=\${s%"$rest"}
    s=$rest
    case $c in ${lowerCases} esac
    case $c in
      [${LOWER}0123456789_])
        if [ -z "$out" ] && [ "$c" = _ ]; then continue; fi
        out=$out$dash$c dash= ;;
      *) if [ -n "$out" ]; then dash=-; fi ;;
    esac
  done
  out=$out$dash
  while [ \${#out} -gt 80 ]; do out=\${out%?}; done
  coord_slug_out=\${out:-wt}
}`;
}

function runNode(name: HookName, loc: CliLocation): string {
  const cli = loc.cli ? shQuote(loc.cli) : "''";
  const node = loc.node ? shQuote(loc.node) : "''";
  return `coord_cli=${cli}
coord_node=${node}
if [ -n "$coord_cli" ] && [ -f "$coord_cli" ]; then
  if [ -z "$coord_node" ] || [ ! -x "$coord_node" ]; then coord_node=node; fi
  if command -v "$coord_node" >/dev/null 2>&1; then
    ${name === 'pre-push' ? 'coord_feed' : 'exec'} "$coord_node" "$coord_cli" hook ${name} "$@"${name === 'pre-push' ? '\n    exit $?' : ''}
  fi
fi
if command -v git-coord >/dev/null 2>&1; then
  ${name === 'pre-push' ? 'coord_feed' : 'exec'} git-coord hook ${name} "$@"${name === 'pre-push' ? '\n  exit $?' : ''}
fi
echo "git-coord: the ${name} hook cannot find the git-coord CLI (looked for \${coord_cli:-dist/git-coord.mjs} and git-coord on PATH)." >&2
echo "git-coord: install it (npm install -g git-coord, then git coord hooks install), or skip the coord checks once with COORD=0." >&2
exit 1`;
}

/**
 * The script of hook `name`. `standalone` scripts live in git's hooks directory and chain the hook
 * found there; integration scripts (husky, lefthook) are called from those tools' own hook files and
 * chain nothing.
 */
export function hookScript(name: HookName, loc: CliLocation, standalone = true): string {
  const head = `#!/bin/sh
# ${HOOK_MARKER} ${name}: written by \`git coord hooks install\`; \`git coord hooks uninstall\` removes it
# (and puts back the hook that was here before, kept as ${name}${CHAINED_SUFFIX}).
# COORD=0 skips the coord checks; git commit/push --no-verify skips every hook.
`;
  const parts: string[] = [head];
  if (name === 'pre-push') {
    // git writes the refs to push on stdin; both the chained hook and node read them.
    parts.push(`coord_stdin=$(cat; echo x)
coord_stdin=\${coord_stdin%x}
coord_feed() { printf '%s' "$coord_stdin" | "$@"; }
`);
  }
  if (standalone) {
    const call = name === 'pre-push' ? 'coord_feed "$coord_chained" "$@"' : '"$coord_chained" "$@"';
    parts.push(`coord_chained="$0${CHAINED_SUFFIX}"
if [ -f "$coord_chained" ] && [ -x "$coord_chained" ]; then
  ${call} || exit $?
fi
`);
  }
  parts.push(`[ "\${COORD:-}" = 0 ] && exit 0
`);
  if (name === 'commit-msg') {
    parts.push(`coord_found=
if [ -f "$1" ]; then
  while IFS= read -r coord_line || [ -n "$coord_line" ]; do
    case $coord_line in [Cc][Oo][Oo][Rr][Dd]-[Dd][Oo][Nn][Ee]:*) coord_found=1; break ;; esac
  done < "$1"
fi
[ -n "$coord_found" ] || exit 0
`);
  } else if (name === 'pre-push') {
    parts.push(`[ -n "$(git for-each-ref --count=1 --format=x refs/coord/leases)" ] || exit 0
`);
  } else {
    // The git dir and HEAD are read with shell builtins (git runs hooks at the worktree top, with
    // GIT_DIR set in linked worktrees); one git call then asks for the index records of this worktree
    // and branch. Index records exist only for leases, so a repository without leases never gets past it.
    parts.push(`${slugFunction()}
cd -P . && coord_top=$PWD
if [ -n "\${GIT_DIR:-}" ]; then coord_gd=$GIT_DIR
elif [ -d .git ]; then coord_gd=.git
elif [ -f .git ]; then IFS= read -r coord_gd < .git; coord_gd=\${coord_gd#gitdir: }
else coord_gd=
fi
case $coord_gd in ''|/*) ;; *) coord_gd=$coord_top/$coord_gd ;; esac
coord_head=
[ -n "$coord_gd" ] && [ -f "$coord_gd/HEAD" ] && IFS= read -r coord_head < "$coord_gd/HEAD"
[ -n "$coord_head" ] || coord_head="ref: $(git symbolic-ref -q HEAD)"
set -f
coord_slug "\${coord_top##*/}"
coord_pat="refs/coord/worktrees/$coord_slug_out-????????"
case $coord_head in "ref: refs/heads/"?*) coord_pat="$coord_pat refs/coord/branches/\${coord_head#ref: refs/heads/}" ;; esac
# shellcheck disable=SC2086
[ -n "$(git for-each-ref --count=1 --format=x $coord_pat)" ] || exit 0
if [ -n "$coord_gd" ]; then COORD_HOOK_GIT_DIR=$coord_gd COORD_HOOK_TOP=$coord_top; export COORD_HOOK_GIT_DIR COORD_HOOK_TOP; fi
`);
  }
  parts.push(`${runNode(name, loc)}
`);
  return parts.join('');
}

/** True when `text` is a hook file written by git-coord. */
export function isCoordHook(text: string): boolean {
  return text.split('\n', 3).some((l) => l.includes(HOOK_MARKER));
}
