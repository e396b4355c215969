import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The scratch directories made in this run, removed together at its end. */
const made: string[] = [];

/**
 * A new scratch directory `<tmpdir>/coord-bench-<name>-XXXXXX`, removed when the whole run ends
 * ({@link removeScratchDirs}), not when its section does. Deleting tens of thousands of files (the
 * repositories of 10,000 leases) makes ext4 without a journal step past each of those inodes when it
 * allocates new ones for the next ~30 s: measured here, 8 git-coord writers (which create files) ran
 * at ~280 updates/s right after 30,000 files were deleted and ~800–1,000/s 35 s later, while SQLite
 * (which creates none) ran as fast either way. A section's own deletions would so slow the next one.
 */
export function scratchDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `coord-bench-${name}-`));
  made.push(dir);
  return dir;
}

/** Removes every scratch directory of this run. */
export function removeScratchDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
