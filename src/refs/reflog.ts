import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The all-zero object id git writes for "no value" in reflogs. */
export const ZERO_OID = '0000000000000000000000000000000000000000';

/** Who made a ref update, as recorded in the reflog (git's committer identity). */
export interface RefIdent {
  name: string;
  email: string;
}

/**
 * Collapses whitespace and strips control characters from a reflog message, as refs.c
 * `copy_reflog_msg` does, so one update is always exactly one line.
 */
export function cleanReflogMessage(msg: string): string {
  return msg.replace(/[\s\x00-\x1f\x7f]+/g, ' ').trim();
}

/** Formats git's `<seconds> <+hhmm>` timestamp of `date` in the local time zone. */
export function gitTimestamp(date: Date): string {
  const off = -date.getTimezoneOffset();
  const abs = Math.abs(off);
  const tz = `${off < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
  return `${Math.floor(date.getTime() / 1000)} ${tz}`;
}

/**
 * Appends one entry to `logs/<ref>` in git's reflog format
 * (`<old> <new> <name> <<email>> <seconds> <tz>\t<message>\n`, refs/files-backend.c
 * `log_ref_write_fd`), creating the log as `update-ref --create-reflog` would.
 */
export function appendReflog(
  commonDir: string,
  ref: string,
  oldOid: string | null,
  newOid: string | null,
  ident: RefIdent,
  message: string,
  date: Date,
): void {
  const path = join(commonDir, 'logs', ref);
  const who = `${cleanIdent(ident.name)} <${cleanIdent(ident.email)}>`;
  const line = `${oldOid ?? ZERO_OID} ${newOid ?? ZERO_OID} ${who} ${gitTimestamp(date)}\t${cleanReflogMessage(message)}\n`;
  // The log directory usually exists: append first, create it on ENOENT. A concurrent deletion of a
  // sibling ref may remove it again between mkdir and append: retry, as git's raceproof_create_file.
  for (let attempt = 1; ; attempt++) {
    try {
      appendFileSync(path, line);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw err;
    }
    mkdirSync(dirname(path), { recursive: true });
  }
}

/** Deletes the reflog of a deleted ref, as git does. */
export function deleteReflog(commonDir: string, ref: string): void {
  rmSync(join(commonDir, 'logs', ref), { force: true });
}

function cleanIdent(s: string): string {
  return s.replace(/[<>\x00-\x1f\x7f]+/g, '').trim() || 'unknown';
}
