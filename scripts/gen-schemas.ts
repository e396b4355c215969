// `npm run schemas`: writes docs/schema/<name>.schema.json (JSON Schema 2020-12) for every record type
// and, once src/cli/schemas.ts exists, docs/schema/cli-<name>.schema.json for every CLI JSON output in
// its OUTPUT_SCHEMAS, from the same zod definitions the code validates with. `npm run schemas -- --check` writes nothing and exits 1 when
// the committed files differ from what would be generated.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as z from 'zod/mini';
import { RECORD_TYPES } from '../src/records/schemas.js';

/** Where the generated schemas live. */
export const SCHEMA_DIR = join(import.meta.dirname, '..', 'docs', 'schema');
const CLI_SCHEMAS = join(import.meta.dirname, '..', 'src', 'cli', 'schemas.ts');

/** One JSON Schema document: `title` says what it describes, the rest comes from zod's toJSONSchema. */
function jsonSchema(title: string, schema: z.ZodMiniType): string {
  const { $schema, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12' }) as Record<string, unknown>;
  return `${JSON.stringify({ $schema, title, ...rest }, null, 2)}\n`;
}

/**
 * Generates every schema file's content, keyed by file name, sorted: `<record>.schema.json` titled
 * by the record's `schema` id (`coord.lease/v1`), and `cli-<name>.schema.json` titled
 * `git-coord <name> --json` (`cli-error` is the failure document of any command).
 */
export async function generateSchemas(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const type of RECORD_TYPES) files.set(`${type.name}.schema.json`, jsonSchema(type.id, type.schema));
  if (existsSync(CLI_SCHEMAS)) {
    const mod = (await import(pathToFileURL(CLI_SCHEMAS).href)) as {
      OUTPUT_SCHEMAS?: Record<string, z.ZodMiniType>;
    };
    for (const [name, schema] of Object.entries(mod.OUTPUT_SCHEMAS ?? {})) {
      files.set(`cli-${name}.schema.json`, jsonSchema(`git-coord ${name} --json`, schema));
    }
  }
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The `*.schema.json` files now in docs/schema, keyed by file name. */
export function committedSchemas(): Map<string, string> {
  const files = new Map<string, string>();
  if (!existsSync(SCHEMA_DIR)) return files;
  for (const f of readdirSync(SCHEMA_DIR).sort()) {
    if (f.endsWith('.schema.json')) files.set(f, readFileSync(join(SCHEMA_DIR, f), 'utf8'));
  }
  return files;
}

async function main(check: boolean): Promise<number> {
  const generated = await generateSchemas();
  const committed = committedSchemas();
  const stale = [...committed.keys()].filter((f) => !generated.has(f));
  const changed = [...generated].filter(([f, text]) => committed.get(f) !== text).map(([f]) => f);
  if (check) {
    for (const f of [...changed, ...stale]) console.error(`docs/schema/${f} is out of date`);
    if (changed.length + stale.length > 0) console.error('run `npm run schemas` and commit the result');
    return changed.length + stale.length > 0 ? 1 : 0;
  }
  mkdirSync(SCHEMA_DIR, { recursive: true });
  for (const f of changed) writeFileSync(join(SCHEMA_DIR, f), generated.get(f)!);
  for (const f of stale) rmSync(join(SCHEMA_DIR, f));
  console.log(
    `docs/schema: ${generated.size} schemas (${changed.length} written, ${stale.length} removed, ` +
      `${generated.size - changed.length} unchanged)`,
  );
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.includes('--check'));
}
