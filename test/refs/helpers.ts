import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Path of the real-process writer used by the concurrency and crash tests. */
export const CAS_WORKER = join(import.meta.dirname, 'workers', 'cas-worker.ts');
/** The project root: the cwd for `node --import tsx` so that tsx resolves. */
export const PROJECT_ROOT = join(import.meta.dirname, '..', '..');

/** Every `*.lock` file under `dir` (recursively), as paths relative to `dir`, sorted. */
export function findLocks(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.lock')).sort();
}
