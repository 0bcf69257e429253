/**
 * Streams a JSON Lines scan file (`.jsonl` or `.jsonl.gz`) line by line, never
 * holding the file. Splits raw byte chunks on '\n' itself (readline costs more than
 * the parse on large replays) and decodes one line at a time.
 */
import { createReadStream, statSync } from 'node:fs';
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

/** Raw text lines of a file (gzip by extension), '\r\n' tolerated. */
export async function* textLines(path: string, onBytes?: (n: number) => void): AsyncGenerator<string> {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (onBytes) raw.on('data', (chunk) => onBytes(chunk.length));
  const stream = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  let rest: Buffer | null = null;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buf: Buffer = rest ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
      yield buf.toString('utf8', start, end);
      start = nl + 1;
    }
    rest = start < buf.length ? buf.subarray(start) : null;
  }
  if (rest?.length) yield rest.toString('utf8');
}

/** Yields every non-blank line, parsed; `bytesRead()` reports progress in file bytes. */
export function readScanLines(path: string): { lines: AsyncGenerator<ScanLine>; bytesRead: () => number } {
  let bytes = 0;
  async function* lines(): AsyncGenerator<ScanLine> {
    let lineNo = 0;
    for await (const text of textLines(path, (n) => {
      bytes += n;
    })) {
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
