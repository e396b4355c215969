/**
 * The lease operations (DESIGN §2, §4), one file each. Each write is `optimistic(read lease + index refs → compute
 * the next records with the pure functions of model.ts → write blobs → one CAS transaction)`, so a
 * concurrent writer makes the loser re-read and re-decide, never overwrite.
 *
 * Which commands mark a lease with a dead holder `crashed`: `claim` by another holder (before it
 * refuses with "take it over") and `crash`. `takeover` turns a stale lease straight into the new
 * holder's. The read commands (`list`, `show`, `status`) never write.
 */
export {
  type EndAttemptOptions,
  endAttempt,
  type StartAttemptOptions,
  startAttempt,
} from './attempt.js';
export { type ClaimOptions, type ClaimResult, claim } from './claim.js';
export { type CleanupItem, type CleanupOptions, cleanup } from './cleanup.js';
export { type ClearOptions, type ClearResult, clear } from './clear.js';
export { type CrashOptions, crash } from './crash.js';
export { type DoneOptions, done } from './done.js';
export { type FailOptions, fail } from './fail.js';
export { type MergeMode, type MergeOptions, type MergeResult, merge } from './merge.js';
export { type ReleaseOptions, type ReleaseResult, release } from './release.js';
export { type RenewOptions, renew } from './renew.js';
export { type TakeoverOptions, takeover } from './takeover.js';
