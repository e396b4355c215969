import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromJSONSchema } from 'zod';
import { committedSchemas, generateSchemas } from '../../scripts/gen-schemas.js';
import { RECORD_TYPES } from '../../src/records/schemas.js';
import { sampleLease } from './sample.js';

/**
 * No JSON Schema validator (ajv or the like) is installed in this project, so the generated documents
 * are checked by turning each one back into a validator with zod's own JSON Schema *reader*
 * (`fromJSONSchema`): what validates here is the published file, not the zod definition it came from.
 */
function validatorFor(file: string) {
  const text = committedSchemas().get(file);
  if (!text) throw new Error(`docs/schema/${file} is missing`);
  return fromJSONSchema(JSON.parse(text));
}

describe('published JSON Schemas (docs/schema)', () => {
  it('the committed files equal what `npm run schemas` generates (no drift)', async () => {
    const generated = await generateSchemas();
    const committed = committedSchemas();
    const hint = 'docs/schema is out of date: run `npm run schemas` and commit docs/schema';
    expect([...committed.keys()], hint).toEqual([...generated.keys()]);
    for (const [file, text] of generated) expect(committed.get(file), `${hint} (${file})`).toBe(text);
    for (const type of RECORD_TYPES) expect(generated.has(`${type.name}.schema.json`)).toBe(true);
    expect(readdirSync(join(import.meta.dirname, '../../docs/schema')).length).toBeGreaterThanOrEqual(4);
  });

  it('each file is JSON Schema 2020-12 titled with the record id, closed to unknown fields', () => {
    for (const type of RECORD_TYPES) {
      const doc = JSON.parse(committedSchemas().get(`${type.name}.schema.json`)!);
      expect(doc.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(doc.title).toBe(type.id);
      expect(doc.additionalProperties).toBe(false);
      expect(doc.properties.schema.const).toBe(type.id);
    }
  });

  it('a sample lease validates against the generated lease.schema.json; bad ones do not', () => {
    const lease = validatorFor('lease.schema.json');
    expect(lease.safeParse(sampleLease()).success).toBe(true);
    expect(
      lease.safeParse(JSON.parse(JSON.stringify(sampleLease({ state: 'closed', outcome: 'done' })))).success,
    ).toBe(true);
    const bad: unknown[] = [
      { ...sampleLease(), extra: 1 },
      { ...sampleLease(), schema: 'coord.lease/v2' },
      sampleLease({ key: 'a..b' }),
      sampleLease({ key: 'x.lock' }),
      sampleLease({ branch: 'bad..branch' }),
      sampleLease({ revision: 0 }),
      sampleLease({ acquiredAt: '2026-11-21 10:00' }),
      sampleLease({ baseRef: 'HEAD' }),
      (({ holder: _, ...rest }) => rest)(sampleLease()),
    ];
    for (const value of bad) expect(lease.safeParse(value).success, JSON.stringify(value)).toBe(false);
  });
});
