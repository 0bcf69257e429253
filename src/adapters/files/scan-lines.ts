/** Streams a JSON Lines scan file (`.jsonl` or `.jsonl.gz`) line by line, never holding the file. */
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

export interface ScanLine {
  readonly lineNo: number;
  /** Parsed JSON, or undefined when the line is not JSON. */
  readonly value: unknown;
  readonly parseError?: string;
}

export function fileSize(path: string): number {
  return statSync(path).size;
}

/** Yields every non-blank line; `bytesRead()` reports progress in compressed bytes. */
export function readScanLines(path: string): { lines: AsyncGenerator<ScanLine>; bytesRead: () => number } {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  let bytes = 0;
  raw.on('data', (chunk) => {
    bytes += chunk.length;
  });
  const stream = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  async function* lines(): AsyncGenerator<ScanLine> {
    const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    let lineNo = 0;
    for await (const text of rl) {
      lineNo += 1;
      if (text.trim() === '') continue;
      try {
        yield { lineNo, value: JSON.parse(text) };
      } catch (err) {
        yield { lineNo, value: undefined, parseError: `not valid JSON (${(err as Error).message})` };
      }
    }
  }
  return { lines: lines(), bytesRead: () => bytes };
}
