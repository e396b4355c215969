/**
 * Leases and worktrees (DESIGN §2): pure record transitions, liveness, identity, reads, and the write
 * operations behind `git coord claim | renew | release | done | crash | takeover | clear`.
 *
 * Every write goes through `commitWrites` (one CAS transaction over the lease, its index entries and
 * an optional audit event) inside `optimistic` (re-read and re-decide on a lost race).
 */

export {
  type AttemptEnd,
  attemptCount,
  beginAttempt,
  describeAttempt,
  finishAttempt,
  runningAttempt,
} from './attempts.js';
export {
  type ContextOptions,
  type LeaseContext,
  mainHead,
  mainTopOf,
  openContext,
  staleOf,
} from './context.js';
export {
  AttemptBudgetError,
  BranchHeldError,
  describeHolder,
  LeaseHeldError,
  LeaseLostError,
  LeaseNotFoundError,
  LeaseStaleError,
  LeaseStateError,
  RunInProgressError,
  WorktreeError,
  WorktreeHeldError,
} from './errors.js';
export { type IdentityOptions, osUser, resolveHolder, resolveHolderId, resolvePid } from './identity.js';
export {
  describeStale,
  expiresAt,
  formatAge,
  type LivenessOptions,
  type ProcessProbe,
  readPidStart,
  type StaleReason,
  staleness,
  systemProbe,
} from './liveness.js';
export {
  acquireLease,
  BRANCH_PREFIX,
  branchForKey,
  branchIndexFor,
  branchIndexRef,
  closeLease,
  crashLease,
  holdsIndex,
  LEASE_PREFIX,
  leaseRef,
  renewLease,
  takeOverLease,
  WORKTREE_PREFIX,
  worktreeIndexRef,
  worktreeRecordFor,
} from './model.js';
export {
  type ClaimOptions,
  type ClaimResult,
  type ClearOptions,
  type ClearResult,
  type CrashOptions,
  claim,
  clear,
  crash,
  type DoneOptions,
  done,
  type EndAttemptOptions,
  endAttempt,
  type FailOptions,
  fail,
  type ReleaseOptions,
  type ReleaseResult,
  type RenewOptions,
  release,
  renew,
  type StartAttemptOptions,
  startAttempt,
  type TakeoverOptions,
  takeover,
} from './ops/index.js';
export { PROVISION_LOCK, ProvisionLock, ProvisionLockHeldError } from './provision-lock.js';
export {
  currentBranch,
  type IndexEntry,
  leaseForBranch,
  leaseForWorktree,
  listLeases,
  readBranchIndex,
  readLease,
  readWorktreeIndex,
} from './state.js';
export {
  dirtyEntries,
  ensureExcluded,
  ensureWorktree,
  type GitWorktree,
  listWorktrees,
  type ProvisionResult,
  realish,
  rollbackWorktree,
} from './worktree.js';
export { commitWrites, type RefWrite, type WriteIntent } from './write.js';
