/**
 * One runtime per namespace: an exclusive lock file holding the owner's pid. A lock
 * left by a dead process is taken over (and said); a live owner means refusal.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export class LockHeld extends Error {
  override name = 'LockHeld';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface RuntimeLock {
  readonly path: string;
  readonly tookOverFrom: number | null;
  release(): void;
}

export function acquireLock(path: string, what: string): RuntimeLock {
  mkdirSync(dirname(path), { recursive: true });
  let tookOverFrom: number | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return {
        path,
        tookOverFrom,
        release: () => {
          try {
            if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      if (Number.isInteger(owner) && owner > 0 && alive(owner))
        throw new LockHeld(
          `${what} is already running (pid ${owner}, lock ${path}); refusing to start a second one`,
        );
      tookOverFrom = Number.isInteger(owner) ? owner : -1;
      unlinkSync(path);
    }
  }
  throw new LockHeld(`could not take the lock ${path}`);
}
