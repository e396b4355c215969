import { afterAll, describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, RecordDecodeError } from '../../src/records/codec.js';
import {
  AuditType,
  BranchIndexType,
  Lease,
  LeaseType,
  RECORD_TYPES,
  type RecordType,
  WorktreeType,
} from '../../src/records/schemas.js';
import { hashBlob } from '../../src/refs/index.js';
import { cleanup } from '../fixtures/repo.js';
import { sampleLease } from './sample.js';

afterAll(cleanup);

/** The same object with its keys inserted in reverse order, recursively. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).reverse();
  return Object.fromEntries(entries.map(([k, v]) => [k, reversedKeys(v)]));
}

describe('canonical JSON codec', () => {
  it('writes keys in schema order, 2-space indent, trailing newline, UTF-8', () => {
    const lease = sampleLease();
    const bytes = encodeRecord(LeaseType, lease);
    const text = bytes.toString('utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(false);
    expect(text.split('\n')[1]).toBe('  "schema": "coord.lease/v1",');
    expect(text).toContain('\n  "holder": {\n    "id": "agent-7@example.com",\n');
    expect(text).toContain('"note": "phase 65: ünïcode ok"');
    expect(bytes.includes(Buffer.from('ünïcode', 'utf8'))).toBe(true);
    const topKeys = [...text.matchAll(/^ {2}"([a-zA-Z]+)":/gm)].map((m) => m[1]);
    // Optional fields (`merge`) the sample does not set are left out; the rest keep the schema's order.
    expect(topKeys).toEqual(Object.keys(Lease.shape).filter((k) => k in lease));
    expect(topKeys[0]).toBe('schema');
  });

  it('equal records give equal bytes and equal blob oids, whatever the key insertion order', () => {
    const a = encodeRecord(LeaseType, sampleLease());
    const b = encodeRecord(LeaseType, reversedKeys(sampleLease()) as Lease);
    expect(b.equals(a)).toBe(true);
    expect(hashBlob(b)).toBe(hashBlob(a));
    const c = encodeRecord(LeaseType, sampleLease({ revision: 2 }));
    expect(hashBlob(c)).not.toBe(hashBlob(a));
  });

  it('round-trips every record type', () => {
    const at = '2026-11-21T10:00:00.000Z';
    const samples = [
      [LeaseType, sampleLease()],
      [BranchIndexType, { schema: 'coord.branch/v1', branch: 'coord/65', key: '65', holder: 'a', token: 3 }],
      [
        WorktreeType,
        {
          schema: 'coord.worktree/v1',
          id: 'wt-0a1b2c3d',
          path: '/r/wt',
          host: 'h',
          branch: null,
          key: '65',
          holder: 'a',
          token: 1,
        },
      ],
      [
        AuditType,
        {
          schema: 'coord.audit/v1',
          action: 'takeover',
          key: '65',
          ref: null,
          at,
          by: { id: 'b', host: 'h' },
          reason: 'holder dead',
          previousHolder: 'a',
          token: 2,
          commit: null,
          missing: [],
        },
      ],
    ] as const;
    expect(samples.map(([t]) => t.name).sort()).toEqual(RECORD_TYPES.map((t) => t.name).sort());
    for (const [t, value] of samples) {
      const type = t as RecordType<unknown>;
      const bytes = encodeRecord(type, value);
      expect(decodeRecord(type, bytes)).toEqual(value);
      expect(encodeRecord(type, decodeRecord(type, bytes)).equals(bytes)).toBe(true);
    }
  });

  it('refuses to encode an invalid record', () => {
    expect(() => encodeRecord(LeaseType, sampleLease({ revision: 0 }))).toThrow(RecordDecodeError);
    expect(() => encodeRecord(LeaseType, { ...sampleLease(), extra: 1 } as Lease)).toThrow(/invalid lease/);
    expect(() => encodeRecord(LeaseType, sampleLease({ key: 'a..b' }))).toThrow(/key/);
    expect(() => encodeRecord(LeaseType, sampleLease({ acquiredAt: '2026-11-21T09:55:39Z' }))).toThrow(
      /acquiredAt/,
    );
    expect(() =>
      encodeRecord(LeaseType, sampleLease({ holder: { ...sampleLease().holder, id: 'x\x1b[31m' } })),
    ).toThrow(/control or bidi characters/);
  });

  it('decodes with a reason for each kind of bad content', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.from([0xff, 0xfe, 0x00]), /not UTF-8/],
      [Buffer.from('{"schema": "coord.lease/v1",'), /not JSON/],
      [Buffer.from('[1,2]'), /no "schema" field/],
      [Buffer.from('null'), /no "schema" field/],
      [Buffer.from('{"schema":"coord.lease/v2"}'), /unknown schema version "coord\.lease\/v2"/],
      [Buffer.from('{"schema":"coord.branch/v1"}'), /wrong record type/],
      [Buffer.from(JSON.stringify({ ...sampleLease(), state: 'weird' })), /invalid lease: state/],
      [Buffer.from(JSON.stringify({ ...sampleLease(), token: -1 })), /token/],
    ];
    for (const [bytes, reason] of cases) {
      expect(() => decodeRecord(LeaseType, bytes)).toThrow(reason);
      expect(() => decodeRecord(LeaseType, bytes)).toThrow(RecordDecodeError);
    }
  });
});
