/** Writes the decision log (ALGORITHM.md §4) as JSON Lines, buffered off the hot path. */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { CanonicalEvent } from '../../domain/events.js';
import { decisionLine } from '../../strategy/decision-log.js';

export class DecisionLogWriter {
  private readonly out: WriteStream;
  private buffer: string[] = [];

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.out = createWriteStream(path);
  }

  readonly sink = (e: CanonicalEvent): void => {
    if (e.type !== 'decision') return;
    this.buffer.push(decisionLine(e.record));
    if (this.buffer.length >= 4096) this.drainBuffer();
  };

  private drainBuffer(): void {
    if (this.buffer.length === 0) return;
    this.out.write(`${this.buffer.join('\n')}\n`);
    this.buffer = [];
  }

  async close(): Promise<void> {
    this.drainBuffer();
    await new Promise<void>((resolve, reject) =>
      this.out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  }
}
