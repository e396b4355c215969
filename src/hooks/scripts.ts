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

import { recordFunctions } from './sh-records.js';

/** Hooks git-coord installs. */
export const HOOK_NAMES = ['pre-commit', 'commit-msg', 'pre-push', 'reference-transaction'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/**
 * Hooks that husky and lefthook dispatch, so git-coord plugs into those managers for them. Neither
 * manager runs `reference-transaction`: that script always goes into the directory git runs hooks
 * from (`git rev-parse --git-path hooks`), chaining any hook found there.
 */
export const MANAGED_HOOKS = ['pre-commit', 'commit-msg', 'pre-push'] as const;
export type ManagedHook = (typeof MANAGED_HOOKS)[number];

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
 * Shell functions shared by the pre-commit and reference-transaction scripts:
 *
 * - `coord_entry` takes the next record off `$coord_all`, a `git for-each-ref` listing in the format
 *   {@link LISTING_FORMAT}, setting `coord_e_ref`, `_oid`, `_type`, `_size`, `_symref` and `_body`
 *   (a record containing the framing is cut short there and then fails its size check);
 * - `coord_identity` sets `coord_me` (`$COORD_HOLDER` > `coord.holder` > `user.email`, as git config
 *   reads them in this worktree) and returns 1 for a value the shell does not handle;
 * - `coord_local` returns 1 in team mode (`coord.remote` in the common config), which node handles;
 * - `coord_lease K` reads `refs/coord/leases/K` and validates it (`coord_rec_lease`, src/hooks/sh-records.ts):
 *   0 only for a canonical, valid lease whose key is K, not a symbolic ref; `coord_lease_oid`,
 *   `coord_lease_text` and the `coord_f_*` fields are then set.
 */
function sharedFunctions(): string {
  return `${recordFunctions()}
coord_entry() {
  [ -n "$coord_all" ] || return 1
  coord_e_hdr=\${coord_all%%"$coord_nl"*}
  case $coord_all in *"$coord_nl"*) coord_all=\${coord_all#*"$coord_nl"} ;; *) coord_all= ;; esac
  case $coord_all in
    *"$coord_nl$coord_nl@@ "*) coord_e_body=\${coord_all%%"$coord_nl$coord_nl@@ "*}; coord_all="@@ \${coord_all#*"$coord_nl$coord_nl@@ "}" ;;
    *) coord_e_body=$coord_all; coord_all= ;;
  esac
  set -- \${coord_e_hdr#@@ }
  coord_e_ref=\${1:-} coord_e_oid=\${2:-} coord_e_type=\${3:-} coord_e_size=\${4:-0} coord_e_symref=\${5:-}
  case $coord_e_size in ''|*[!0123456789]*) coord_e_size=0 ;; esac
}
coord_identity() {
  coord_me=\${COORD_HOLDER:-}
  if [ -z "$coord_me" ]; then
    coord_me=$(git config --get coord.holder || git config --get user.email) || return 1
  fi
  case $coord_me in ''|*[!A-Za-z0-9@._+-]*) return 1 ;; esac
}
coord_local() {
  coord_sec=
  while IFS= read -r coord_l; do
    case $coord_l in *'['*) coord_sec=$coord_l ;; esac
    case $coord_sec in *'['[Cc][Oo][Oo][Rr][Dd]']'*)
      case $coord_l in *[Rr][Ee][Mm][Oo][Tt][Ee]*=*) return 1 ;; esac ;;
    esac
  done < "$coord_cd/config"
}
coord_lease() {
  coord_all=$(git for-each-ref --format='${LISTING_FORMAT}' "refs/coord/leases/$1") || return 1
  coord_entry || return 1
  [ "$coord_e_ref" = "refs/coord/leases/$1" ] && [ "$coord_e_type" = blob ] && [ -z "$coord_e_symref" ] || return 1
  coord_rec_lease "$coord_e_body" "$coord_e_size" || return 1
  [ "$coord_f_key" = "$1" ] || return 1
  coord_lease_oid=$coord_e_oid coord_lease_text=$coord_e_body
}`;
}

/** `git for-each-ref` format of the listings `coord_entry` reads (%(raw) needs git >= 2.36). */
const LISTING_FORMAT = '@@ %(refname) %(objectname) %(objecttype) %(objectsize) %(symref)%0a%(raw)';

/**
 * Shell function `coord_holder_renew`, the pre-commit path of the lease holder with git plumbing only
 * (a commit by the holder is the common case, and node's start-up is most of a hook's cost). It reads
 * the index records listed in `$coord_recs` and the lease they name, and returns
 *
 * - 2 when none of the records is about this worktree (same path and host) or branch: no owner;
 * - 0 when they all name one open lease held by the caller with the same token, naming this worktree /
 *   branch, and that lease was renewed the way `git coord renew` does it: the same record with
 *   `revision` + 1 and `renewedAt` now (the other lines byte for byte), written as a blob and swapped
 *   in one `git update-ref --stdin` transaction that also verifies the index refs, reflog
 *   `coord: renew <key> by <holder> token <n>`;
 * - 1 for anything else — another holder, a crashed lease, a record that is not canonical and valid
 *   (src/hooks/sh-records.ts), a symbolic ref, an identity the shell does not handle, no GNU
 *   `date +%3N`, a lost race, `COORD_HOOK_NODE=1` — and node decides.
 * In team mode (`coord.remote`) the holder's heartbeat is not written here but left pending for a
 * detached `git-coord sync --heartbeats` (a commit never waits on the network; DESIGN §7.5).
 */
function holderRenewFunction(loc: CliLocation): string {
  const cli = loc.cli ? shQuote(loc.cli) : "''";
  const node = loc.node ? shQuote(loc.node) : "''";
  return `coord_holder_renew() {
  [ "\${COORD_HOOK_NODE:-}" = 1 ] && return 1
  coord_identity || return 1
  coord_host=\${COORD_HOST:-}
  if [ -z "$coord_host" ]; then
    if [ -r /proc/sys/kernel/hostname ]; then IFS= read -r coord_host < /proc/sys/kernel/hostname
    else coord_host=$(uname -n) || return 1
    fi
  fi
  case $coord_host in ''|*[!A-Za-z0-9._-]*) return 1 ;; esac
  case $coord_top in *'"'*|*\\\\*) return 1 ;; esac
  coord_team=
  coord_local || coord_team=1
  coord_key= coord_tok= coord_verify= coord_wt= coord_br=
  coord_all=$coord_recs
  while coord_entry; do
    coord_ours=
    case $coord_e_ref in
      refs/coord/worktrees/*)
        [ "$coord_e_type" = blob ] && [ -z "$coord_e_symref" ] || return 1
        coord_rec_worktree "$coord_e_body" "$coord_e_size" || return 1
        [ "refs/coord/worktrees/$coord_f_id" = "$coord_e_ref" ] || return 1
        [ "$coord_f_path" = "$coord_top" ] && [ "$coord_f_host" = "$coord_host" ] && coord_ours=wt ;;
      "refs/coord/branches/$coord_branch")
        [ "$coord_e_type" = blob ] && [ -z "$coord_e_symref" ] || return 1
        coord_rec_branch "$coord_e_body" "$coord_e_size" || return 1
        [ "$coord_f_branch" = "$coord_branch" ] || return 1
        coord_ours=br ;;
    esac
    [ -n "$coord_ours" ] || continue
    [ "$coord_f_holder" = "$coord_me" ] || return 1
    [ -z "$coord_key" ] || [ "$coord_key" = "$coord_f_key" ] || return 1
    [ -z "$coord_tok" ] || [ "$coord_tok" = "$coord_f_token" ] || return 1
    coord_key=$coord_f_key coord_tok=$coord_f_token
    coord_verify="\${coord_verify}verify $coord_e_ref $coord_e_oid$coord_nl"
    [ "$coord_ours" = wt ] && coord_wt=1
    [ "$coord_ours" = br ] && coord_br=1
  done
  [ -n "$coord_key" ] || return 2
  coord_now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) || return 1
  coord_v=$coord_now
  coord_ts || return 1
  coord_lease "$coord_key" || return 1
  [ "$coord_f_state" = open ] && [ "$coord_f_holder_id" = "$coord_me" ] && [ "$coord_f_token" = "$coord_tok" ] || return 1
  [ -z "$coord_wt" ] || [ "$coord_f_worktree_path" = "$coord_top" ] || return 1
  [ -z "$coord_br" ] || [ "$coord_f_branch" = "$coord_branch" ] || return 1
  if [ -n "$coord_team" ]; then
    # Team mode: a commit never waits on the network. The heartbeat is left pending (as node's
    # heartbeat() does) and a detached git-coord sync --heartbeats pushes it; offline it waits for
    # the next sync.
    coord_pd=$coord_cd/coord/pending
    mkdir -p "$coord_pd" 2>/dev/null || return 1
    printf '%s\n%s\n' "$coord_tok" "$coord_me" > "$coord_pd/.$coord_key.$$" &&
      mv -f "$coord_pd/.$coord_key.$$" "$coord_pd/$coord_key" || return 1
    coord_bg_cli=${cli}
    coord_bg_node=${node}
    [ -n "$coord_bg_node" ] && [ -x "$coord_bg_node" ] || coord_bg_node=node
    if [ -n "$coord_bg_cli" ] && [ -f "$coord_bg_cli" ]; then
      (unset GIT_INDEX_FILE; nohup "$coord_bg_node" "$coord_bg_cli" sync --heartbeats </dev/null >/dev/null 2>&1 &)
    else
      (unset GIT_INDEX_FILE; nohup git-coord sync --heartbeats </dev/null >/dev/null 2>&1 &)
    fi
    return 0
  fi
  # Canonical JSON: these two lines occur once (string values hold no quotes).
  coord_rev_line="  \\"revision\\": $coord_f_revision,"
  coord_ren_line="  \\"renewedAt\\": \\"$coord_f_renewedAt\\","
  coord_out=\${coord_lease_text%%"$coord_nl$coord_rev_line$coord_nl"*}$coord_nl"  \\"revision\\": $((coord_f_revision + 1)),"$coord_nl\${coord_lease_text#*"$coord_nl$coord_rev_line$coord_nl"}
  coord_out=\${coord_out%%"$coord_nl$coord_ren_line$coord_nl"*}$coord_nl"  \\"renewedAt\\": \\"$coord_now\\","$coord_nl\${coord_out#*"$coord_nl$coord_ren_line$coord_nl"}
  coord_new=$(printf '%s\\n' "$coord_out" | git hash-object -w --stdin) || return 1
  printf 'start\\nupdate refs/coord/leases/%s %s %s\\n%scommit\\n' "$coord_key" "$coord_new" "$coord_lease_oid" "$coord_verify" |
    GIT_COMMITTER_NAME=$coord_me GIT_COMMITTER_EMAIL=$coord_me \\
    git -c core.warnAmbiguousRefs=false update-ref --create-reflog --stdin \\
      -m "coord: renew $coord_key by $coord_me token $coord_tok" >/dev/null 2>&1 || return 1
  return 0
}`;
}

/**
 * The git dir, common dir and worktree top as the shell finds them with builtins (git runs hooks at
 * the worktree top, with GIT_DIR set in linked worktrees; a bare repository's hooks run in the git dir).
 */
function locateRepo(): string {
  return `cd -P . && coord_top=$PWD
if [ -n "\${GIT_DIR:-}" ]; then coord_gd=$GIT_DIR
elif [ -d .git ]; then coord_gd=.git
elif [ -f .git ]; then IFS= read -r coord_gd < .git; coord_gd=\${coord_gd#gitdir: }
elif [ -f HEAD ] && [ -d objects ]; then coord_gd=.
else coord_gd=
fi
case $coord_gd in ''|/*) ;; *) coord_gd=$coord_top/$coord_gd ;; esac
coord_cd=$coord_gd
if [ -n "$coord_gd" ] && [ -f "$coord_gd/commondir" ]; then
  IFS= read -r coord_cd < "$coord_gd/commondir"
  case $coord_cd in /*) ;; *) coord_cd=$coord_gd/$coord_cd ;; esac
fi`;
}

/**
 * The reference-transaction script's decision (DESIGN §8, issue 10). git runs the hook for every ref
 * transaction, three times (`prepared`, then `committed` or `aborted`), with one line
 * `<old> <new> <refname>` per update on stdin; a non-zero exit at `prepared` aborts the whole
 * transaction. Only `prepared` is judged, only updates of `refs/heads/<b>`, and only when
 * `refs/coord/branches/<b>` exists: stdin is read with builtins (the first lines) and one `cat` for
 * long inputs such as a fetch, and a transaction without `refs/heads/` lines (a fetch into
 * `refs/remotes/`, git-coord's own `update-ref` calls) ends there. With branch index refs, one
 * `git for-each-ref` lists them with their content; an update is let through by the shell only when
 * the index and the lease are canonical and valid and the lease is closed, on another branch, or open
 * and held by the caller with the token of `$COORD_TOKEN` (when set). Anything else goes to node
 * (`git-coord hook reference-transaction prepared`, src/hooks/run.ts), which refuses with the full story
 * or lets through what changes nothing (`git pack-refs`' rewrites).
 */
function referenceTransactionBody(): string {
  return `coord_nl='
'
coord_in= coord_count=0
coord_chained="$0${CHAINED_SUFFIX}"
if [ "\${1:-}" = prepared ] || { [ -f "$coord_chained" ] && [ -x "$coord_chained" ]; }; then
  while IFS= read -r coord_l; do
    coord_in=$coord_in$coord_l$coord_nl
    coord_count=$((coord_count + 1))
    if [ "$coord_count" -ge 8 ]; then coord_in=$coord_in$(cat; echo x); coord_in=\${coord_in%x}; break; fi
  done
fi
if [ -f "$coord_chained" ] && [ -x "$coord_chained" ]; then
  printf '%s' "$coord_in" | "$coord_chained" "$@" || exit $?
fi
[ "\${1:-}" = prepared ] || exit 0
[ "\${COORD:-}" = 0 ] && exit 0
case $coord_in in *" refs/heads/"?*) ;; *) exit 0 ;; esac
set -f
coord_pat=
IFS=$coord_nl
for coord_l in $coord_in; do
  case $coord_l in *" refs/heads/"?*) coord_pat="$coord_pat refs/coord/branches/\${coord_l#* refs/heads/}" ;; esac
done
IFS=' 	
'
# shellcheck disable=SC2086
coord_fail=
coord_all=$(git for-each-ref --format='${LISTING_FORMAT}' $coord_pat 2>/dev/null) || coord_fail=1
[ -n "$coord_all" ] || [ -n "$coord_fail" ] || exit 0
${sharedFunctions()}
coord_tx_ok() { # 0: the shell may let every leased update through
  [ "\${COORD_HOOK_NODE:-}" = 1 ] && return 1
  [ -z "$coord_fail" ] || return 1
  coord_leased=
  while coord_entry; do
    case " $coord_pat " in *" $coord_e_ref "*) ;; *) continue ;; esac
    coord_leased="$coord_leased \${coord_e_ref#refs/coord/branches/}"
    [ "$coord_e_type" = blob ] && [ -z "$coord_e_symref" ] || return 1
    coord_rec_branch "$coord_e_body" "$coord_e_size" || return 1
    [ "refs/coord/branches/$coord_f_branch" = "$coord_e_ref" ] || return 1
    coord_b=$coord_f_branch coord_rest_all=$coord_all
    coord_lease "$coord_f_key" || return 1
    coord_all=$coord_rest_all
    [ "$coord_f_state" = closed ] && continue
    [ "$coord_f_branch" = "$coord_b" ] || continue
    [ "$coord_f_state" = open ] || return 1
    [ -n "\${coord_me:-}" ] || coord_identity || return 1
    [ "$coord_f_holder_id" = "$coord_me" ] || return 1
    [ -z "\${COORD_TOKEN:-}" ] || [ "$COORD_TOKEN" = "$coord_f_token" ] || return 1
  done
  [ -n "$coord_leased" ] || exit 0
}
${locateRepo()}
coord_tx_ok && exit 0
coord_feed() { printf '%s' "$coord_in" | "$@"; }
`;
}

/**
 * What the fail-closed message tells the user to run when the CLI the hook was installed with is gone
 * (issue 9 item 9): git-coord is not a published npm package, so it is rebuilt or relinked from the
 * clone it came from.
 */
export function reinstallAdvice(loc: CliLocation): string {
  const cli = loc.cli;
  const clone = cli && /\/dist\/[^/]+$/.test(cli) ? cli.replace(/\/dist\/[^/]+$/, '') : null;
  const where = clone
    ? `rebuild it in the clone it was installed from (cd ${shQuote(clone)} && npm ci && npm run build), ` +
      'or run `npm ci && npm run build && npm link` in another clone of git-coord'
    : 'run `npm ci && npm run build && npm link` in a clone of git-coord';
  return `${where}; then run git coord hooks install here`;
}

function runNode(name: HookName, loc: CliLocation): string {
  const cli = loc.cli ? shQuote(loc.cli) : "''";
  const node = loc.node ? shQuote(loc.node) : "''";
  const feeds = name === 'pre-push' || name === 'reference-transaction';
  const call = feeds ? 'coord_feed' : 'exec';
  const after = (ind: string) => (feeds ? `\n${ind}exit $?` : '');
  const advice = reinstallAdvice(loc).replace(/[\\"$`]/g, (c) => `\\${c}`);
  return `coord_cli=${cli}
coord_node=${node}
if [ -n "$coord_cli" ] && [ -f "$coord_cli" ]; then
  if [ -z "$coord_node" ] || [ ! -x "$coord_node" ]; then coord_node=node; fi
  if command -v "$coord_node" >/dev/null 2>&1; then
    ${call} "$coord_node" "$coord_cli" hook ${name} "$@"${after('    ')}
  fi
fi
if command -v git-coord >/dev/null 2>&1; then
  ${call} git-coord hook ${name} "$@"${after('  ')}
fi
echo "git-coord: the ${name} hook cannot find the git-coord CLI (looked for \${coord_cli:-dist/git-coord.mjs} and git-coord on PATH), so git stops here." >&2
echo "git-coord: to reinstall it, ${advice}." >&2
echo "git-coord: COORD=0 skips the coord checks once; git coord hooks uninstall removes them." >&2
exit 1`;
}

/**
 * The script of hook `name`. `standalone` scripts live in git's hooks directory and chain the hook
 * found there; integration scripts (husky, lefthook) are called from those tools' own hook files and
 * chain nothing. `reference-transaction` is always standalone.
 */
export function hookScript(name: HookName, loc: CliLocation, standalone = true): string {
  const head = `#!/bin/sh
# ${HOOK_MARKER} ${name}: written by \`git coord hooks install\`; \`git coord hooks uninstall\` removes it
# (and puts back the hook that was here before, kept as ${name}${CHAINED_SUFFIX}).
# COORD=0 skips the coord checks; git commit/push --no-verify skips every hook but reference-transaction.
`;
  const parts: string[] = [head];
  if (name === 'reference-transaction') {
    parts.push(referenceTransactionBody(), `${runNode(name, loc)}\n`);
    return parts.join('');
  }
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
    // In team mode node refreshes the records of the pushed branches from the remote first, so an
    // empty mirror is no reason to skip (DESIGN §7.5).
    parts.push(`[ -n "$(git for-each-ref --count=1 --format=x refs/coord/leases)" ] || [ -n "$(git config coord.remote)" ] || exit 0
`);
  } else {
    // The git dir and HEAD are read with shell builtins; one git call then lists the index records of
    // this worktree and branch with their content. Index records exist only for leases, so a
    // repository without leases never gets past it. The caller's own lease is renewed with git
    // plumbing (holderRenew); anything else starts node.
    parts.push(`coord_nl='
'
${sharedFunctions()}
${holderRenewFunction(loc)}
${locateRepo()}
coord_head=
[ -n "$coord_gd" ] && [ -f "$coord_gd/HEAD" ] && IFS= read -r coord_head < "$coord_gd/HEAD"
[ -n "$coord_head" ] || coord_head="ref: $(git symbolic-ref -q HEAD)"
coord_branch=
case $coord_head in "ref: refs/heads/"?*) coord_branch=\${coord_head#ref: refs/heads/} ;; esac
set -f
${slugFunction()}
coord_slug "\${coord_top##*/}"
coord_pat="refs/coord/worktrees/$coord_slug_out-????????"
[ -z "$coord_branch" ] || coord_pat="$coord_pat refs/coord/branches/$coord_branch"
# %(raw) needs git >= 2.36; with an older git only the names are listed and node decides.
# shellcheck disable=SC2086
if coord_recs=$(git for-each-ref --format='${LISTING_FORMAT}' $coord_pat 2>/dev/null); then
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
