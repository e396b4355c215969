import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordFunctions, SH_RECORDS } from '../../src/hooks/sh-records.js';
import { decodeRecord, encodeRecord } from '../../src/records/codec.js';
import {
  BranchIndex,
  BranchIndexType,
  Lease,
  LeaseType,
  type RecordType,
  WorktreeRecord,
  WorktreeType,
} from '../../src/records/schemas.js';
import { cleanup, tempDir } from '../fixtures/repo.js';
import { sampleLease } from '../records/sample.js';

/**
 * The sh record validators (issue 9 item 3): they follow the zod types' layout, accept what the codec
 * writes, and never accept a record zod refuses.
 */

afterAll(cleanup);

/** Runs `coord_rec_<type>` in `shell` on each text; returns which were accepted. */
function shellAccepts(shell: string, type: string, texts: string[]): boolean[] {
  const dir = tempDir('coord-shrec-');
  for (const [i, t] of texts.entries()) writeFileSync(join(dir, `${i}`), t);
  writeFileSync(join(dir, 'sizes'), texts.map((t) => Buffer.byteLength(t)).join('\n') + '\n');
  const script = `coord_nl='\n'\n${recordFunctions()}
i=0
while read -r s; do
  t=$(cat "$1/$i")
  if coord_rec_${type} "$t" "$s"; then echo 1; else echo 0; fi
  i=$((i + 1))
done < "$1/sizes"`;
  const out = execFileSync(shell, ['-c', script, 'sh', dir], {
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C.UTF-8' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return out
    .trim()
    .split('\n')
    .map((l) => l === '1');
}

function zodAccepts<T>(type: RecordType<T>, text: string): boolean {
  try {
    decodeRecord(type, Buffer.from(text, 'utf8'));
    return `${JSON.stringify(JSON.parse(text), null, 2)}\n` === text;
  } catch {
    return false;
  }
}

/** Every single-line mutation of a canonical record the shell might be fooled by. */
function mutations(text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  const values = [
    '"x"',
    '""',
    '0',
    '-1',
    '01',
    '1.5',
    '1e3',
    'null',
    'true',
    '"2026-02-30T10:00:00.000Z"',
    '"2026-13-01T10:00:00.000Z"',
    '"2026-01-01T24:00:00.000Z"',
    '"2026-01-01T10:00:00Z"',
    '"../x"',
    '"/a/../b"',
    '"a..b"',
    '"x.lock"',
    '"-x"',
    '"HEAD"',
    '"a//b"',
    '"a\\u001bb"',
    '"a\\"b"',
    `"${'y'.repeat(300)}"`,
    `"${'z'.repeat(5000)}"`,
    '"0123456789ABCDEF0123456789abcdef01234567"',
    '{}',
    '[]',
  ];
  lines.forEach((line, i) => {
    const m = /^(\s*"[^"]+": )(.*?)(,?)$/.exec(line);
    if (!m) return;
    for (const v of values) {
      const copy = [...lines];
      copy[i] = `${m[1]}${v}${m[3]}`;
      out.push(copy.join('\n'));
    }
    const dropped = [...lines];
    dropped.splice(i, 1);
    out.push(dropped.join('\n'));
    const dup = [...lines];
    dup.splice(i, 0, line);
    out.push(dup.join('\n'));
  });
  out.push(text.replace('{\n', '{\n  "extra": 1,\n'));
  out.push(text.replace('/v1"', '/v99"'));
  out.push(`${text}\n`);
  out.push(text.slice(0, -1));
  out.push(text.replace(/\n/g, '\r\n'));
  out.push(`${text}@@ refs/coord/leases/x 0 blob 1 \n`);
  return out;
}

const CASES = [
  [
    'lease',
    LeaseType as RecordType<unknown>,
    Lease,
    encodeRecord(LeaseType, sampleLease({ note: 'plain note', attempts: undefined })),
  ],
  [
    // Team mode: every write carries a nonce, the last field (the sh fast path takes it off first).
    'lease',
    LeaseType as RecordType<unknown>,
    Lease,
    encodeRecord(LeaseType, sampleLease({ note: 'n', attempts: undefined, nonce: '0123456789abcdef' })),
  ],
  [
    'lease',
    LeaseType as RecordType<unknown>,
    Lease,
    encodeRecord(
      LeaseType,
      sampleLease({
        worktree: null,
        branch: null,
        baseRef: null,
        note: null,
        state: 'crashed',
        attempts: undefined,
        crashedAt: '2026-03-31T23:59:59.999Z',
        crashReason: "it's gone: pid 12 (exit)",
        holder: { id: 'a@b.c', host: 'h', pid: null, pidStart: null, user: null },
      }),
    ),
  ],
  [
    'branch',
    BranchIndexType as RecordType<unknown>,
    BranchIndex,
    encodeRecord(BranchIndexType, {
      schema: 'coord.branch/v1',
      branch: 'coord/65',
      key: '65',
      holder: 'agent-7',
      token: 3,
    }),
  ],
  [
    'worktree',
    WorktreeType as RecordType<unknown>,
    WorktreeRecord,
    encodeRecord(WorktreeType, {
      schema: 'coord.worktree/v1',
      id: 'wt-65-0a1b2c3d',
      path: '/work/repo/.coord/worktrees/65',
      host: 'build-1',
      branch: 'coord/65',
      key: '65',
      holder: 'agent-7',
      token: 3,
    }),
  ],
] as const;

describe('sh record validators', () => {
  it('declare every field of the zod types, in their order (drift check)', () => {
    const keys = (fields: ReadonlyArray<{ name: string; kind: { t: string; fields?: unknown } }>) =>
      fields.map((f) => f.name);
    expect(keys(SH_RECORDS.lease)).toEqual(Object.keys(Lease.shape));
    expect(keys(SH_RECORDS.branch)).toEqual(Object.keys(BranchIndex.shape));
    expect(keys(SH_RECORDS.worktree)).toEqual(Object.keys(WorktreeRecord.shape));
    const holder = SH_RECORDS.lease.find((f) => f.name === 'holder')!.kind as {
      fields: ReadonlyArray<{ name: string }>;
    };
    expect(holder.fields.map((f) => f.name)).toEqual(Object.keys(Lease.shape.holder.shape));
  });

  for (const shell of ['dash', 'bash']) {
    it(`${shell}: accept the codec's records; every mutation they accept, zod accepts too`, () => {
      for (const [type, recordType, , bytes] of CASES) {
        const text = bytes.toString('utf8');
        const texts = [text, ...mutations(text)];
        const sh = shellAccepts(shell, type, texts);
        expect(sh[0], `${type}: the canonical record`).toBe(true);
        let accepted = 0;
        texts.forEach((t, i) => {
          if (sh[i]) {
            accepted++;
            expect(zodAccepts(recordType, t), `${shell} accepted what zod refuses:\n${t}`).toBe(true);
          }
        });
        // The mutations mostly break the record: the shell refuses nearly all of them.
        expect(accepted).toBeLessThan(texts.length / 3);
      }
    });
  }
});
