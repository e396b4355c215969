/**
 * The ref store: git storage and nothing about leases. Repository discovery, refname rules, reads,
 * multi-ref CAS transactions with git's files-backend lockfile protocol, and object I/O.
 */
export { faultPoint } from './fault.js';
export { type GitOptions, type GitResult, git } from './git.js';
export {
  DEFAULT_PACKED_REFS_TIMEOUT_MS,
  DEFAULT_REF_LOCK_TIMEOUT_MS,
  Lockfile,
  LockTimeoutError,
  lockAge,
} from './lock.js';
export {
  assertBranch,
  assertKey,
  assertRefname,
  BRANCH_PATTERN,
  InvalidRefnameError,
  KEY_PATTERN,
  keyProblem,
  refnameProblem,
} from './names.js';
export {
  type GitObject,
  hashBlob,
  MAX_RECORD_BYTES,
  ObjectMissingError,
  RecordTooLargeError,
  readObject,
  writeBlob,
} from './objects.js';
export { BrokenRefError, listRefs, OID_RE, type RefEntry, readRef } from './read.js';
export { type RefIdent, ZERO_OID } from './reflog.js';
export { currentHost, discoverRepo, type Repo, worktreeId } from './repo.js';
export { CasMismatchError, type CommitOptions, RefNameConflictError, RefTransaction } from './transaction.js';
