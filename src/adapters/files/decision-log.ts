/** Writes the decision log (ALGORITHM.md §4) as JSON Lines, buffered off the hot path. */
import {
  closeSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  rmSync,
  type WriteStream,
} from 'node:fs';
import { dirname } from 'node:path';
import type { CanonicalEvent } from '../../domain/events.js';
import { decisionLine } from '../../strategy/decision-log.js';

const cannotWrite = (path: string, err: unknown) =>
  new Error(`decision log ${path}: cannot write it (${(err as Error).message})`);

/**
 * Throws, as the writer would, for a path it cannot write, and leaves the path as it was
 * (an existing log is not truncated, a missing one not created): checked before a replay
 * starts, while the log itself is opened only once everything else has.
 */
export function checkDecisionLogPath(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    const existed = existsSync(path);
    closeSync(openSync(path, 'a'));
    if (!existed) rmSync(path);
  } catch (err) {
    throw cannotWrite(path, err);
  }
}

export class DecisionLogWriter {
  private readonly out: WriteStream;
  private buffer: string[] = [];
  /** A write that failed after the file opened (a full disk): reported by close(), not thrown later. */
  private failed: Error | null = null;

  /** Opens (truncates) `path` at once, so a path that cannot be written fails here, not mid-replay. */
  constructor(private readonly path: string) {
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.out = createWriteStream(path, { fd: openSync(path, 'w') });
    } catch (err) {
      throw cannotWrite(path, err);
    }
    this.out.on('error', (err) => {
      this.failed ??= err;
      this.buffer = [];
    });
  }

  readonly sink = (e: CanonicalEvent): void => {
    // After a failed write the log is incomplete whatever follows: close() says so, and
    // nothing more is held for it.
    if (e.type !== 'decision' || this.failed) return;
    this.buffer.push(decisionLine(e.record));
    if (this.buffer.length >= 4096) this.drainBuffer();
  };

  private drainBuffer(): void {
    if (this.buffer.length === 0 || this.failed) return;
    this.out.write(`${this.buffer.join('\n')}\n`);
    this.buffer = [];
  }

  async close(): Promise<void> {
    this.drainBuffer();
    if (!this.out.destroyed)
      await new Promise<void>((resolve) =>
        this.out.end((err?: Error | null) => {
          if (err) this.failed ??= err;
          resolve();
        }),
      );
    if (this.failed)
      throw new Error(
        `decision log ${this.path}: writing it failed (${this.failed.message}); it is incomplete`,
      );
  }
}
