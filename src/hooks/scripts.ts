/**
 * The POSIX sh hook scripts (DESIGN §5). Each one:
 *
 * 1. runs the hook we found in place at install time first (`<hook>.coord-chained`), so its failure
 *    still blocks (pre-push: it gets the same stdin);
 * 2. exits 0 at once with `COORD=0`;
 * 3. takes the fast path without starting node: pre-push exits 0 when the repository has no lease
 *    (`git for-each-ref --count=1 refs/coord/leases`); pre-commit lists, in one `git for-each-ref`, the
 *    index records of the current worktree (`refs/coord/worktrees/<slug>-????????`, the wtid slug of
 *    `worktreeId`) and branch (`refs/coord/branches/<branch>`) with their content, and exits 0 when there
 *    is none (this also covers "no lease at all": index records exist only for leases) or none is
 *    about this worktree's path and host / this branch; when they all name the caller's own open lease
 *    it renews that lease with git plumbing (`coord_holder_renew`) and exits 0; commit-msg exits 0
 *    unless the message has a `Coord-Done:` line;
 * 4. otherwise runs `node <cli> hook <name> "$@"`, the CLI path embedded at install time, falling back
 *    to `git-coord` on PATH; with neither it fails closed, saying how to install it or skip with
 *    `COORD=0`. Node refuses another holder's commit with the full story (src/hooks/run.ts).
 *
 * `COORD_HOOK_NODE=1` sends every pre-commit decision to node (tests run both paths).
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

/**
 * Shell function `coord_holder_renew`, the pre-commit path of the lease holder with git plumbing only
 * (a commit by the holder is the common case, and node's start-up is most of a hook's cost). It reads
 * the index records listed in `$coord_recs` and the lease they name, all canonical JSON (one field per
 * line), and returns
 *
 * - 2 when none of the records is about this worktree (same path and host) or branch: no owner;
 * - 0 when they all name one open lease held by the caller (`$COORD_HOLDER` > `coord.holder` >
 *   `user.email`) with the same token, naming this worktree / branch, and that lease was renewed the
 *   way `git coord renew` does it: the same record with `revision` + 1 and `renewedAt` now (the other
 *   lines byte for byte), written as a blob and swapped in one `git update-ref --stdin` transaction
 *   that also verifies the index refs, reflog `coord: renew <key> by <holder> token <n>`;
 * - 1 for anything else — another holder, a crashed lease, an identity or value needing JSON escapes,
 *   no GNU `date +%3N`, team mode (`coord.remote`), a lost race, `COORD_HOOK_NODE=1` — and node decides.
 */
function holderRenewFunction(): string {
  return `coord_json() { # coord_json LINE PREFIX: coord_v = the JSON string after PREFIX; empty when escaped
  coord_v=\${1#"$2"}
  coord_v=\${coord_v%'",'}
  case $coord_v in *'"'*|*\\\\*) coord_v= ;; esac
}
coord_holder_renew() {
  [ "\${COORD_HOOK_NODE:-}" = 1 ] && return 1
  coord_nl='
'
  coord_me=\${COORD_HOLDER:-}
  if [ -z "$coord_me" ]; then
    coord_me=$(git config --get coord.holder || git config --get user.email) || return 1
  fi
  case $coord_me in ''|*[!A-Za-z0-9@._+-]*) return 1 ;; esac
  coord_host=\${COORD_HOST:-}
  if [ -z "$coord_host" ]; then
    if [ -r /proc/sys/kernel/hostname ]; then IFS= read -r coord_host < /proc/sys/kernel/hostname
    else coord_host=$(uname -n) || return 1
    fi
  fi
  case $coord_host in ''|*[!A-Za-z0-9._-]*) return 1 ;; esac
  case $coord_top in *'"'*|*\\\\*) return 1 ;; esac
  coord_cd=$coord_gd
  if [ -f "$coord_gd/commondir" ]; then
    IFS= read -r coord_cd < "$coord_gd/commondir"
    case $coord_cd in /*) ;; *) coord_cd=$coord_gd/$coord_cd ;; esac
  fi
  coord_sec=
  while IFS= read -r coord_l; do
    case $coord_l in *'['*) coord_sec=$coord_l ;; esac
    case $coord_sec in *'['[Cc][Oo][Oo][Rr][Dd]']'*)
      case $coord_l in *[Rr][Ee][Mm][Oo][Tt][Ee]*=*) return 1 ;; esac ;;
    esac
  done < "$coord_cd/config"
  coord_key= coord_tok= coord_verify= coord_wt= coord_br= coord_ref=
  IFS=$coord_nl
  set -- $coord_recs @@
  IFS=' 	
'
  for coord_l; do
    case $coord_l in
      @@*)
        if [ -n "$coord_ref" ]; then
          coord_ours=
          case $coord_ref in
            refs/coord/worktrees/*) [ "$coord_r_path" = "$coord_top" ] && [ "$coord_r_host" = "$coord_host" ] && coord_ours=wt ;;
            "refs/coord/branches/$coord_branch") [ "$coord_r_branch" = "$coord_branch" ] && coord_ours=br ;;
          esac
          if [ -n "$coord_ours" ]; then
            [ -n "$coord_r_key" ] && [ "$coord_r_holder" = "$coord_me" ] || return 1
            [ -z "$coord_key" ] || [ "$coord_key" = "$coord_r_key" ] || return 1
            [ -z "$coord_tok" ] || [ "$coord_tok" = "$coord_r_tok" ] || return 1
            coord_key=$coord_r_key coord_tok=$coord_r_tok
            coord_verify="\${coord_verify}verify $coord_ref $coord_oid$coord_nl"
            [ "$coord_ours" = wt ] && coord_wt=1
            [ "$coord_ours" = br ] && coord_br=1
          fi
        fi
        coord_ref=\${coord_l#@@ }
        coord_oid=\${coord_ref##* }
        coord_ref=\${coord_ref% *}
        coord_r_key= coord_r_holder= coord_r_tok= coord_r_path= coord_r_host= coord_r_branch= ;;
      '  "key": "'*) coord_json "$coord_l" '  "key": "'; coord_r_key=$coord_v ;;
      '  "holder": "'*) coord_json "$coord_l" '  "holder": "'; coord_r_holder=$coord_v ;;
      '  "path": "'*) coord_json "$coord_l" '  "path": "'; coord_r_path=$coord_v ;;
      '  "host": "'*) coord_json "$coord_l" '  "host": "'; coord_r_host=$coord_v ;;
      '  "branch": "'*) coord_json "$coord_l" '  "branch": "'; coord_r_branch=$coord_v ;;
      '  "token": '*) coord_r_tok=\${coord_l#'  "token": '}; coord_r_tok=\${coord_r_tok%,} ;;
    esac
  done
  [ -n "$coord_key" ] || return 2
  case $coord_key in *[!A-Za-z0-9._-]*) return 1 ;; esac
  case $coord_tok in ''|*[!0-9]*) return 1 ;; esac
  coord_now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) || return 1
  case $coord_now in [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z) ;; *) return 1 ;; esac
  coord_lease=$(git for-each-ref --format='%(objectname)%0a%(raw)' "refs/coord/leases/$coord_key") || return 1
  case $coord_lease in *"$coord_nl"*) ;; *) return 1 ;; esac
  coord_lease_oid=\${coord_lease%%"$coord_nl"*}
  IFS=$coord_nl
  set -- \${coord_lease#*"$coord_nl"}
  IFS=' 	
'
  coord_out= coord_sec= coord_state= coord_hid= coord_ltok= coord_rev= coord_ren= coord_lbranch= coord_lpath=
  for coord_l; do
    case $coord_l in
      '  "holder": {') coord_sec=holder ;;
      '  "worktree": {') coord_sec=worktree ;;
      '  },'|'  }') coord_sec= ;;
      '    "id": "'*) [ "$coord_sec" = holder ] && { coord_json "$coord_l" '    "id": "'; coord_hid=$coord_v; } ;;
      '    "path": "'*) [ "$coord_sec" = worktree ] && { coord_json "$coord_l" '    "path": "'; coord_lpath=$coord_v; } ;;
      '  "state": "'*) coord_json "$coord_l" '  "state": "'; coord_state=$coord_v ;;
      '  "branch": "'*) coord_json "$coord_l" '  "branch": "'; coord_lbranch=$coord_v ;;
      '  "token": '*) coord_ltok=\${coord_l#'  "token": '}; coord_ltok=\${coord_ltok%,} ;;
      '  "revision": '*,)
        [ -z "$coord_rev" ] || return 1
        coord_rev=\${coord_l#'  "revision": '}; coord_rev=\${coord_rev%,}
        case $coord_rev in ''|*[!0-9]*) return 1 ;; esac
        coord_l='  "revision": '$((coord_rev + 1))',' ;;
      '  "renewedAt": "'*'",')
        [ -z "$coord_ren" ] || return 1
        coord_ren=1 coord_l='  "renewedAt": "'$coord_now'",' ;;
    esac
    coord_out=$coord_out$coord_l$coord_nl
  done
  [ "$coord_state" = open ] && [ "$coord_hid" = "$coord_me" ] && [ "$coord_ltok" = "$coord_tok" ] || return 1
  [ -n "$coord_rev" ] && [ -n "$coord_ren" ] || return 1
  [ -z "$coord_wt" ] || [ "$coord_lpath" = "$coord_top" ] || return 1
  [ -z "$coord_br" ] || [ "$coord_lbranch" = "$coord_branch" ] || return 1
  coord_new=$(printf '%s' "$coord_out" | git hash-object -w --stdin) || return 1
  printf 'start\\nupdate refs/coord/leases/%s %s %s\\n%scommit\\n' "$coord_key" "$coord_new" "$coord_lease_oid" "$coord_verify" |
    GIT_COMMITTER_NAME=$coord_me GIT_COMMITTER_EMAIL=$coord_me \\
    git -c core.warnAmbiguousRefs=false update-ref --create-reflog --stdin \\
      -m "coord: renew $coord_key by $coord_me token $coord_tok" >/dev/null 2>&1 || return 1
  return 0
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
    // GIT_DIR set in linked worktrees); one git call then lists the index records of this worktree and
    // branch with their content. Index records exist only for leases, so a repository without leases
    // never gets past it. The caller's own lease is renewed with git plumbing (holderRenew); anything
    // else starts node.
    parts.push(`${slugFunction()}
${holderRenewFunction()}
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
coord_branch=
case $coord_head in "ref: refs/heads/"?*) coord_branch=\${coord_head#ref: refs/heads/} ;; esac
set -f
coord_slug "\${coord_top##*/}"
coord_pat="refs/coord/worktrees/$coord_slug_out-????????"
[ -z "$coord_branch" ] || coord_pat="$coord_pat refs/coord/branches/$coord_branch"
# %(raw) needs git >= 2.36; with an older git only the names are listed and node decides.
# shellcheck disable=SC2086
if coord_recs=$(git for-each-ref --format='@@ %(refname) %(objectname)%0a%(raw)' $coord_pat 2>/dev/null); then
  [ -n "$coord_recs" ] || exit 0
  coord_holder_renew
  case $? in 0|2) exit 0 ;; esac
else
  [ -n "$(git for-each-ref --count=1 --format=x $coord_pat)" ] || exit 0
fi
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
