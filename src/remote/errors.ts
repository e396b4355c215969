import { CoordError, ExitCode, UsageError } from '../errors.js';

/** Control characters (C0, DEL, C1) and bidi controls of a remote's text, as `\xNN` / `\u{…}`. */
export function remoteText(text: string): string {
  return text
    .trim()
    .replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/gu, (c) =>
      c.charCodeAt(0) < 0x100
        ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`
        : `\\u{${c.charCodeAt(0).toString(16)}}`,
    );
}

/** The last few meaningful lines of git's stderr, for a message. */
export function gitSays(stderr: string, lines = 4): string {
  const kept = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(hint:|To |From )/.test(l));
  return remoteText(kept.slice(-lines).join(' / ')) || '(git said nothing)';
}

/** Team mode: the remote could not be reached (exit 1). Nothing was changed. */
export class RemoteUnreachableError extends CoordError {
  readonly remote: string;
  constructor(remote: string, stderr: string, what: string) {
    super(
      'remote-unreachable',
      `cannot reach remote ${remote} to ${what}: ${gitSays(stderr)}. Nothing was changed; reads (list, show, ` +
        'status, hooks) keep using the local mirror. Retry when the remote is back, or run `git coord sync`.',
      ExitCode.error,
    );
    this.remote = remote;
  }
}

/** Team mode: the remote answered, but its outcome for our push is not known (exit 1). */
export class RemoteOutcomeUnknownError extends CoordError {
  constructor(remote: string, stderr: string) {
    super(
      'remote-outcome-unknown',
      `the push to ${remote} failed and the remote could not be read back to learn whether it landed: ` +
        `${gitSays(stderr)}. Run \`git coord sync\`, then \`git coord show <key>\` to see what the remote holds.`,
      ExitCode.error,
    );
  }
}

/** Team mode: the remote (e.g. its pre-receive hook) refused the update (exit 3). */
export class RemoteRejectedError extends CoordError {
  readonly ref: string;
  constructor(remote: string, ref: string, summary: string, stderr: string) {
    const said = stderr
      .split('\n')
      .filter((l) => l.startsWith('remote:'))
      .map((l) => l.slice('remote:'.length).trim())
      .filter(Boolean);
    super(
      'remote-rejected',
      `remote ${remote} refused the update of ${ref} ${remoteText(summary)}${said.length ? `: ${remoteText(said.join(' / '))}` : ''}`,
      ExitCode.conflict,
    );
    this.ref = ref;
  }
}

/** Team mode: the remote holds an invalid record where this write would go (exit 1). */
export class RemoteRecordInvalidError extends CoordError {
  readonly ref: string;
  constructor(remote: string, ref: string, oid: string, reason: string, quarantine: string) {
    super(
      'remote-record-invalid',
      `the record ${ref} on remote ${remote} is invalid (${remoteText(reason)}; object ${oid.slice(0, 12)}, kept ` +
        `locally as ${quarantine}); nothing was changed and nothing acts on it. Repair it on the remote: ` +
        `push a valid record over it, or delete it there with \`git push ${remote} --force-with-lease=${ref}:${oid} :${ref}\`.`,
      ExitCode.error,
    );
    this.ref = ref;
  }
}

/** `init --remote` against a remote that cannot serve team mode (exit 1). */
export class RemoteUnsuitableError extends CoordError {
  constructor(remote: string, why: string) {
    super('remote-unsuitable', `remote ${remote} cannot hold git-coord records: ${why}`, ExitCode.error);
  }
}

/** Team mode is not on (`coord.remote` unset) for a command that needs it (exit 2). */
export class NotTeamModeError extends UsageError {
  constructor(command: string) {
    super(
      `${command} needs team mode: \`git coord init --remote <remote>\` turns it on (git config coord.remote)`,
      'not-team-mode',
    );
  }
}
