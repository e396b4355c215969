/**
 * The records as the hooks' POSIX sh fast path may read them (issue 9 item 3: one validation rule for
 * every reader). The shell never decides about a record node would refuse: it acts only on a record
 * that is byte for byte what the canonical codec (src/records/codec.ts) writes for a valid record, and
 * whose values lie in a strict subset of what the zod types (src/records/schemas.ts) accept; anything
 * else — another schema version, an unknown or missing field, a key that differs from the ref name, a
 * value needing a JSON escape, non-ASCII text, a record over 1 MiB, a symbolic ref, a non-null `gate` —
 * is handed to node, which applies the zod rule and says what is wrong.
 *
 * The shape of each record (field order, nesting, value kind) is declared here once and turned into
 * one sh function per record type; test/hooks/sh-records.test.ts fails when it drifts from the zod
 * types, and checks that every record the shell accepts is accepted by zod.
 */

/** What a value may be, as the shell checks it (always a subset of the zod rule). */
type Kind =
  | { t: 'literal'; value: string }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'str'; min: number; max: number }
  | { t: 'int'; min: 0 | 1 }
  | { t: 'ts' }
  | { t: 'oid' }
  | { t: 'key' }
  | { t: 'branch' }
  | { t: 'path' }
  | { t: 'object'; fields: readonly Field[] }
  | { t: 'null' }
  | { t: 'absent' };

/** One field of a record; `nullable` also accepts `null`. */
export interface Field {
  name: string;
  kind: Kind;
  nullable?: boolean;
}

const n = (name: string, kind: Kind): Field => ({ name, kind, nullable: true });
const f = (name: string, kind: Kind): Field => ({ name, kind });
const str = (min: number, max: number): Kind => ({ t: 'str', min, max });

const HOLDER: readonly Field[] = [
  f('id', str(1, 200)),
  f('host', str(1, 255)),
  n('pid', { t: 'int', min: 1 }),
  n('pidStart', { t: 'int', min: 0 }),
  n('user', str(0, 200)),
];

const WORKTREE_REF: readonly Field[] = [
  f('id', str(1, 120)),
  f('path', { t: 'path' }),
  f('host', str(1, 255)),
];

/** Record layouts the shell reads, in the zod types' declaration order (= canonical key order). */
export const SH_RECORDS = {
  lease: [
    f('schema', { t: 'literal', value: 'coord.lease/v1' }),
    f('key', { t: 'key' }),
    f('state', { t: 'enum', values: ['open', 'closed', 'crashed'] }),
    n('outcome', { t: 'enum', values: ['done', 'released', 'failed', 'aborted', 'cleared'] }),
    f('holder', { t: 'object', fields: HOLDER }),
    f('token', { t: 'int', min: 1 }),
    f('revision', { t: 'int', min: 1 }),
    n('branch', { t: 'branch' }),
    n('baseRef', { t: 'oid' }),
    n('worktree', { t: 'object', fields: WORKTREE_REF }),
    f('ttlSeconds', { t: 'int', min: 1 }),
    f('acquiredAt', { t: 'ts' }),
    f('renewedAt', { t: 'ts' }),
    f('transitions', { t: 'int', min: 0 }),
    n('closedAt', { t: 'ts' }),
    n('crashedAt', { t: 'ts' }),
    n('crashReason', str(0, 4096)),
    // A gate result (arrays, free text) is left to node.
    f('gate', { t: 'null' }),
    n('note', str(0, 4096)),
    // Optional fields: the shell handles the absence of a merge record and of `git coord run`'s
    // attempts only (those leases are left to node); team mode's nonce, the last field, is taken off
    // first by coord_rec_lease (see NONCE_STRIP) and checked as 16 hex digits.
    f('merge', { t: 'absent' }),
    f('attempts', { t: 'absent' }),
    f('nonce', { t: 'absent' }),
  ],
  branch: [
    f('schema', { t: 'literal', value: 'coord.branch/v1' }),
    f('branch', { t: 'branch' }),
    f('key', { t: 'key' }),
    f('holder', str(1, 200)),
    f('token', { t: 'int', min: 1 }),
  ],
  worktree: [
    f('schema', { t: 'literal', value: 'coord.worktree/v1' }),
    f('id', str(1, 120)),
    f('path', { t: 'path' }),
    f('host', str(1, 255)),
    n('branch', { t: 'branch' }),
    f('key', { t: 'key' }),
    f('holder', str(1, 200)),
    f('token', { t: 'int', min: 1 }),
  ],
} as const satisfies Record<string, readonly Field[]>;

/** Largest record any reader accepts (src/refs/objects.ts refuses bigger blobs): 1 MiB. */
export const MAX_RECORD_BYTES = 1024 * 1024;

/** Characters a string value may have for the shell: printable ASCII except `"` and `\`. */
export const SH_SAFE_CHARS = (() => {
  let s = '';
  for (let c = 0x20; c < 0x7f; c++) if (c !== 0x22 && c !== 0x5c) s += String.fromCharCode(c);
  return s;
})();

const DIGITS = '0123456789';
const ALNUM = `ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz${DIGITS}`;
const HEX = `${DIGITS}abcdef`;

/** A bracket expression for `chars` (negated with `!`), safe to splice into a sh `case` pattern. */
function bracket(chars: string, negate = false): string {
  // `]` first, `-` last, `[` not followed by `:.=`, everything else backslash-quoted where special.
  const set = new Set(chars);
  let body = set.has(']') ? ']' : '';
  for (const c of set) {
    if (c === ']' || c === '-' || c === '[') continue;
    body += /[A-Za-z0-9 ]/.test(c) ? (c === ' ' ? '\\ ' : c) : `\\${c}`;
  }
  if (set.has('[')) body += '\\[';
  if (set.has('-')) body += '-';
  return `[${negate ? '!' : ''}${body}]`;
}

function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The value checkers the generated record functions call. Each checks `$coord_v` and returns non-zero
 * when it is not in the accepted subset.
 */
function checkers(): string {
  const d = bracket(DIGITS);
  const d19 = bracket('123456789');
  return `coord_take() { # next line of $coord_rest into coord_l
  [ -n "$coord_rest" ] || return 1
  coord_l=\${coord_rest%%"$coord_nl"*}
  coord_rest=\${coord_rest#*"$coord_nl"}
}
coord_str() { # coord_str MIN MAX
  case $coord_v in *${bracket(SH_SAFE_CHARS, true)}*) return 1 ;; esac
  [ \${#coord_v} -ge "$1" ] && [ \${#coord_v} -le "$2" ]
}
coord_int() { # coord_int MIN: a JSON integer >= MIN (0 or 1), at most 15 digits
  case $coord_v in
    0) [ "$1" = 0 ] ;;
    ${d19}*) case $coord_v in *${bracket(DIGITS, true)}*) return 1 ;; esac; [ \${#coord_v} -le 15 ] ;;
    *) return 1 ;;
  esac
}
coord_oid() {
  [ \${#coord_v} = 40 ] || return 1
  case $coord_v in *${bracket(HEX, true)}*) return 1 ;; esac
}
coord_ts() { # ISO 8601 UTC with ms; 29 February is left to node
  case $coord_v in ${d}${d}${d}${d}-${d}${d}-${d}${d}T${d}${d}:${d}${d}:${d}${d}.${d}${d}${d}Z) ;; *) return 1 ;; esac
  coord_mo=\${coord_v#?????}; coord_mo=\${coord_mo%%-*}
  coord_dd=\${coord_v#????????}; coord_dd=\${coord_dd%%T*}
  coord_hms=\${coord_v#*T}; coord_hms=\${coord_hms%.*}
  case $coord_mo in 0${d19}|1[012]) ;; *) return 1 ;; esac
  case $coord_dd in
    0${d19}|1${d}|2[012345678]) ;;
    29|30) [ "$coord_mo" != 02 ] || return 1 ;;
    31) case $coord_mo in 01|03|05|07|08|10|12) ;; *) return 1 ;; esac ;;
    *) return 1 ;;
  esac
  case $coord_hms in [01]${d}:[012345]${d}:[012345]${d}|2[0123]:[012345]${d}:[012345]${d}) ;; *) return 1 ;; esac
}
coord_key() { # the lease-key rule
  case $coord_v in ${bracket(ALNUM)}*) ;; *) return 1 ;; esac
  case $coord_v in *${bracket(`${ALNUM}._-`, true)}*|*..*|*.|*.lock) return 1 ;; esac
  [ \${#coord_v} -le 100 ]
}
coord_branch() { # a subset of git's branch-name rules: [A-Za-z0-9._/+@-]
  case $coord_v in ''|HEAD|-*|/*|*/|*.|*..*|*//*|.*|*/.*|*.lock|*.lock/*) return 1 ;; esac
  case $coord_v in *${bracket(`${ALNUM}._/+@-`, true)}*) return 1 ;; esac
  [ \${#coord_v} -le 255 ]
}
coord_path() { # absolute, no ".." component
  case $coord_v in /*) ;; *) return 1 ;; esac
  case "$coord_v/" in */../*) return 1 ;; esac
  coord_str 1 4096
}`;
}

function kindCheck(kind: Kind): string {
  switch (kind.t) {
    case 'str':
      return `coord_str ${kind.min} ${kind.max}`;
    case 'int':
      return `coord_int ${kind.min}`;
    case 'ts':
      return 'coord_ts';
    case 'oid':
      return 'coord_oid';
    case 'key':
      return 'coord_key';
    case 'branch':
      return 'coord_branch';
    case 'path':
      return 'coord_path';
    case 'enum':
      return `{ case $coord_v in ${kind.values.join('|')}) ;; *) false ;; esac; }`;
    default:
      throw new Error(`no scalar check for ${kind.t}`);
  }
}

/** sh statements checking `fields` (at `depth`), setting `coord_f_<path>` for each scalar. */
function fieldCode(all: readonly Field[], depth: number, prefix: string): string[] {
  const ind = '  '.repeat(depth);
  const out: string[] = [];
  const fields = all.filter((x) => x.kind.t !== 'absent');
  fields.forEach((field, i) => {
    const comma = i < fields.length - 1 ? ',' : '';
    const head = `${ind}"${field.name}": `;
    const v = `coord_f_${prefix}${field.name}`;
    const nullCase = field.nullable || field.kind.t === 'null' ? `${q(`${head}null${comma}`)}) ${v}= ;;` : '';
    out.push('coord_take || return 1');
    const k = field.kind;
    if (k.t === 'null') {
      out.push(`case $coord_l in ${nullCase} *) return 1 ;; esac`);
    } else if (k.t === 'literal') {
      out.push(`[ "$coord_l" = ${q(`${head}"${k.value}"${comma}`)} ] || return 1`);
    } else if (k.t === 'object') {
      const inner = fieldCode(k.fields, depth + 1, `${prefix}${field.name}_`);
      out.push(
        `case $coord_l in ${nullCase}`,
        `  ${q(`${head}{`)})`,
        ...inner.map((l) => `    ${l}`),
        `    coord_take && [ "$coord_l" = ${q(`${ind}}${comma}`)} ] || return 1`,
        `    ${v}=1 ;;`,
        '  *) return 1 ;;',
        'esac',
      );
    } else if (k.t === 'int') {
      out.push(
        `case $coord_l in ${nullCase}`,
        `  ${q(head)}*${comma ? q(comma) : ''}) coord_v=\${coord_l#${q(head)}}; coord_v=\${coord_v%${q(comma)}}; ${kindCheck(k)} || return 1; ${v}=$coord_v ;;`,
        '  *) return 1 ;;',
        'esac',
      );
    } else {
      const open = `${head}"`;
      const close = `"${comma}`;
      out.push(
        `case $coord_l in ${nullCase}`,
        `  ${q(open)}*${q(close)}) coord_v=\${coord_l#${q(open)}}; coord_v=\${coord_v%${q(close)}}; ${kindCheck(k)} || return 1; ${v}=$coord_v ;;`,
        '  *) return 1 ;;',
        'esac',
      );
    }
  });
  return out;
}

/**
 * Team mode's `nonce` (src/records/schemas.ts: 16 hex digits, the lease's last field): when the lease
 * text ends in `,<nl>  "nonce": "<16 hex>"<nl>}`, that line is cut off (`coord_t` then holds the rest,
 * ending in `<nl>}`) and the value kept in `coord_f_nonce`; the rest is checked as a lease without one.
 */
const NONCE_STRIP = [
  '  coord_t=$1 coord_f_nonce=',
  `  case $1 in *",$coord_nl"'  "nonce": "'${bracket(HEX).repeat(16)}'"'"$coord_nl}")`,
  `    coord_f_nonce=\${1##*'"nonce": "'}; coord_f_nonce=\${coord_f_nonce%%'"'*}`,
  `    coord_t=\${1%",$coord_nl"'  "nonce": "'*}"$coord_nl}" ;;`,
  '  esac',
];

/**
 * The sh functions `coord_rec_<type> TEXT SIZE`, one per record type: return 0 when TEXT (the record
 * as `$(git cat-file blob …)` or `%(raw)` give it, trailing newline stripped) of SIZE bytes is
 * canonical and valid, setting `coord_f_<field>` (nested: `coord_f_holder_id`; a non-null object:
 * `coord_f_worktree=1`); 1 otherwise. Needs `coord_nl` set to a newline.
 */
export function recordFunctions(): string {
  const fns = Object.entries(SH_RECORDS).map(([type, fields]) =>
    [
      `coord_rec_${type}() {`,
      `  [ "$2" -le ${MAX_RECORD_BYTES} ] && [ "$2" = $((\${#1} + 1)) ] || return 1`,
      ...(type === 'lease' ? NONCE_STRIP : ['  coord_t=$1 coord_f_nonce=']),
      '  coord_rest="$coord_t$coord_nl"',
      '  coord_take && [ "$coord_l" = "{" ] || return 1',
      ...fieldCode(fields, 1, '').map((l) => `  ${l}`),
      '  coord_take && [ "$coord_l" = "}" ] && [ -z "$coord_rest" ]',
      '}',
    ].join('\n'),
  );
  return `${checkers()}\n${fns.join('\n')}`;
}
