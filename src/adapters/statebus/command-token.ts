/**
 * The control plane's credential: a random token in `<runDir>/<strategy>.token`, mode
 * 0600, beside the world-readable discovery file. The state server accepts an operator
 * command only with this token (`Authorization: Bearer …`); reading state needs none.
 * The runtime re-reads the file on every command, so rotating it (`pink ctl
 * rotate-token`: a new file, renamed into place) takes effect at once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Namespace } from '../../domain/namespaces.js';

export class CommandTokenError extends Error {
  override name = 'CommandTokenError';
}

export function commandTokenPath(runDir: string, ns: Namespace): string {
  return path.join(runDir, `${ns.strategy}.token`);
}

function writeNew(file: string, flags: string): void {
  const fd = openSync(file, flags, 0o600);
  try {
    writeSync(fd, `${randomBytes(32).toString('hex')}\n`);
  } finally {
    closeSync(fd);
  }
}

/** Creates the token file when there is none (0600); an existing one is kept (and checked). */
export function ensureCommandToken(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    writeNew(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  readCommandToken(file);
}

/** Replaces the token: a new 0600 file renamed over the old one, so no reader sees half of it. */
export function rotateCommandToken(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeNew(tmp, 'w');
  renameSync(tmp, file);
}

/**
 * The token, or a CommandTokenError naming the file and the cause: missing, unreadable
 * (another user's runtime), open to group or others (anyone could command), malformed.
 */
export function readCommandToken(file: string): string {
  let text: string;
  try {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0)
      throw new CommandTokenError(
        `command token ${file} has mode ${mode.toString(8)}: group or others could command the runtime (chmod 600 it, or rotate it with \`pink ctl rotate-token\`)`,
      );
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof CommandTokenError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new CommandTokenError(
      code === 'EACCES'
        ? `command token ${file}: permission denied (commands are for the runtime's owner only)`
        : `command token ${file}: ${(err as Error).message}`,
    );
  }
  const token = text.trim();
  if (!/^[0-9a-f]{64}$/.test(token))
    throw new CommandTokenError(`command token ${file} is malformed (expected 64 hex digits; rotate it)`);
  return token;
}

/** Constant-time comparison (of digests, so the lengths always match). */
export function tokenMatches(expected: string, given: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(expected), digest(given));
}
