/**
 * Streams a JSON Lines scan file (`.jsonl` or `.jsonl.gz`) line by line, never
 * holding the file. Splits raw byte chunks on '\n' itself (readline costs more than
 * the parse on large replays) and decodes one line at a time.
 */
import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { PlainScanText } from './plain-scan-text.js';

/** A scan line as a replay reads it: parsed, or the reason it is not JSON. */
export interface ParsedLine {
  readonly lineNo: number;
  /** Parsed JSON, or undefined when the line is not JSON. */
  readonly value: unknown;
  readonly parseError?: string;
}

export interface ScanLine extends ParsedLine {
  /** The line as read (what dataset hashes cover). */
  readonly text: string;
}

export function fileSize(path: string): number {
  return statSync(path).size;
}

/** Bytes a read asks for: about a thousand 20-asset lines. */
const READ_BYTES = 1 << 20;

/**
 * Raw text lines of a file (gzip by extension), '\r\n' tolerated, LINES_PER_BATCH at a
 * time from reads of about 1 MB: one await per batch, not per line, which costs more than a
 * line's decoding on large replays. `readBytes` is for tests (lines split across many reads).
 */
export async function* textLineBatches(
  path: string,
  onBytes?: (n: number) => void,
  readBytes = READ_BYTES,
): AsyncGenerator<string[]> {
  let bytes = 0;
  let lineCount = 0;
  const counted = (n: number) => {
    bytes += n;
    onBytes?.(n);
  };
  const gzip = path.endsWith('.gz');
  try {
    const batches = gzip ? gunzippedLineBatches(path, counted) : plainLineBatches(path, counted, readBytes);
    for await (const lines of batches) {
      lineCount += lines.length;
      yield lines;
    }
  } catch (err) {
    throw new ScanFileError(path, err as NodeJS.ErrnoException, bytes, lineCount, gzip);
  }
}

/**
 * A plain file's lines, read into one buffer that every read reuses (an unfinished line
 * moved to its front): a stream would allocate a new megabyte per read and copy it once
 * more to join a split line, 1.9 GB of buffers for a 1 GB file that stay resident until
 * V8's next full collection (most of a replay's array-buffer memory at its peak).
 */
async function* plainLineBatches(
  path: string,
  onBytes: (n: number) => void,
  readBytes: number,
): AsyncGenerator<string[]> {
  const file = await open(path, 'r');
  try {
    let buf = Buffer.allocUnsafe(readBytes);
    let kept = 0;
    for (;;) {
      // A line longer than the buffer: a larger one (the only copy a line can cost).
      if (kept === buf.length) buf = Buffer.concat([buf], 2 * buf.length);
      const { bytesRead } = await file.read(buf, kept, buf.length - kept, null);
      if (bytesRead === 0) break;
      onBytes(bytesRead);
      const end = kept + bytesRead;
      const rest = yield* lineSlices(buf, end);
      buf.copyWithin(0, rest, end);
      kept = end - rest;
    }
    if (kept > 0) yield [buf.toString('utf8', 0, kept)];
  } finally {
    await file.close();
  }
}

async function* gunzippedLineBatches(path: string, onBytes: (n: number) => void): AsyncGenerator<string[]> {
  const raw = createReadStream(path, { highWaterMark: READ_BYTES });
  raw.on('data', (chunk) => onBytes(chunk.length));
  const stream = raw.pipe(createGunzip());
  // pipe() does not pass the file's errors on: without this a missing file would hang the gunzip.
  raw.on('error', (err) => stream.destroy(err));
  let rest: Buffer | null = null;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buf: Buffer = rest ? Buffer.concat([rest, chunk]) : chunk;
    const from = yield* lineSlices(buf, buf.length);
    rest = from < buf.length ? buf.subarray(from) : null;
  }
  if (rest?.length) yield [rest.toString('utf8')];
}

/**
 * Lines decoded per batch: a read holds about a thousand, and decoded all at once the last
 * of them would outlive two young-generation collections while the first are replayed,
 * and be promoted to the old space as garbage (a 300 MB file, 300 MB of promoted text).
 */
export const LINES_PER_BATCH = 128;

/**
 * The complete lines in buf[0, end) as text (a '\r' before '\n' dropped), LINES_PER_BATCH
 * at a time, each batch decoded when the consumer asks for it; returns where the rest starts.
 */
function* lineSlices(buf: Buffer, end: number): Generator<string[], number> {
  let lines: string[] = [];
  let start = 0;
  for (let nl = buf.indexOf(10, start); nl !== -1 && nl < end; nl = buf.indexOf(10, start)) {
    const lineEnd = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
    lines.push(buf.toString('utf8', start, lineEnd));
    start = nl + 1;
    if (lines.length === LINES_PER_BATCH) {
      yield lines;
      lines = [];
    }
  }
  if (lines.length) yield lines;
  return start;
}

/** A scan file that could not be read to its end: which file, why, and how far it got. */
export class ScanFileError extends Error {
  override name = 'ScanFileError';
  constructor(path: string, cause: NodeJS.ErrnoException, bytes: number, lines: number, gzip: boolean) {
    const what =
      cause.code === 'EISDIR'
        ? 'is a directory, not a file'
        : cause.code === 'EACCES'
          ? 'permission denied'
          : cause.code === 'ENOENT'
            ? 'no such file'
            : gzip && /unexpected end|incorrect header|invalid/i.test(cause.message)
              ? `gzip data truncated or corrupt (${cause.message})`
              : cause.message;
    super(`${path}: ${what}${bytes > 0 ? ` after ${bytes} bytes read, ${lines} lines complete` : ''}`);
  }
}

/** Raw text lines of a file, one at a time. */
export async function* textLines(path: string, onBytes?: (n: number) => void): AsyncGenerator<string> {
  for await (const batch of textLineBatches(path, onBytes)) yield* batch;
}

/** Yields every non-blank line, parsed; `bytesRead()` reports progress in file bytes. */
export function readScanLines(path: string): { lines: AsyncGenerator<ScanLine>; bytesRead: () => number } {
  const { batches, bytesRead } = readScanLineBatches(path);
  async function* lines(): AsyncGenerator<ScanLine> {
    for await (const batch of batches) yield* batch;
  }
  return { lines: lines(), bytesRead };
}

/**
 * As readScanLines, a read's worth of lines at a time; each line is parsed when the
 * consumer reaches it (`ScanLine.value` is a getter over `parseScanJson`), so a batch
 * holds text, not a thousand parsed scans.
 */
export function readScanLineBatches(path: string): {
  batches: AsyncGenerator<ScanLine[]>;
  bytesRead: () => number;
} {
  let bytes = 0;
  async function* batches(): AsyncGenerator<ScanLine[]> {
    let lineNo = 0;
    const plain = new PlainScanText();
    for await (const texts of textLineBatches(path, (n) => {
      bytes += n;
    })) {
      const out: ScanLine[] = [];
      for (const text of texts) {
        lineNo += 1;
        if (text.trim() !== '') out.push(new LazyScanLine(lineNo, text, plain));
      }
      if (out.length) yield out;
    }
  }
  return { batches: batches(), bytesRead: () => bytes };
}

/**
 * A line parsed on first look: a batch of lines then holds text until its turn. Its value
 * is not kept once read (read again, the line is parsed again): kept, a batch's 128 scans
 * would outlive the young generation's collections. `plain` (the reader's, shared by its
 * lines) reads a line written plainly without JSON.parse (plain-scan-text.ts).
 */
export class LazyScanLine implements ScanLine {
  private parsed: { value: unknown } | { parseError: string } | null = null;

  constructor(
    readonly lineNo: number,
    readonly text: string,
    private readonly plain: PlainScanText | null = null,
  ) {}

  private result(): { value: unknown } | { parseError: string } {
    if (this.parsed === null) {
      const value = this.plain?.read(this.text) ? this.plain.value() : null;
      this.parsed = value === null ? parseScanJson(this.text) : { value };
    }
    return this.parsed;
  }

  get value(): unknown {
    const r = this.result();
    this.parsed = null;
    return 'value' in r ? r.value : undefined;
  }

  get parseError(): string | undefined {
    const r = this.result();
    return 'parseError' in r ? r.parseError : undefined;
  }
}

/**
 * JSON.parse plus what it hides: a key written twice in one object (JSON.parse keeps
 * the last value without a word) and `ts` / `scan` written as 1043.0 or 1.043e3 (an
 * integer once parsed, not an integer to other readers of the same line, BLUE's
 * Python among them). Cheap on a clean line: a quote count and one regex; the
 * character-level walk runs only when one of them is suspicious.
 */
export function parseScanJson(text: string): { value: unknown } | { parseError: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { parseError: `not valid JSON (${(err as Error).message})` };
  }
  const problem = mayHideProblem(text, quotesOf(value)) ? jsonTextProblem(text, SCAN_INTEGER_KEYS) : null;
  return problem === null ? { value } : { parseError: describeJsonTextProblem(problem) };
}

/**
 * Whether a line JSON.parse accepted may hide what it does not say: a `ts`/`scan` written
 * with a fraction or exponent, an escape, or more quote characters than its parsed value
 * accounts for (`quotes`: two per key and per string), which is how a key written twice
 * shows. False means the parsed value is the whole truth of the line.
 */
export function mayHideProblem(text: string, quotes: number): boolean {
  return INTEGER_AS_FRACTION.test(text) || text.includes('\\') || countQuotes(text) !== quotes;
}

const SCAN_INTEGER_KEYS = ['ts', 'scan'] as const;
const INTEGER_AS_FRACTION = /"(?:ts|scan)"\s*:\s*-?\d+(?:\.|[eE])/;

function countQuotes(text: string): number {
  let n = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) n += 1;
  return n;
}

/** Quote characters the parsed value accounts for: two per key and per string. */
function quotesOf(v: unknown): number {
  if (typeof v === 'string') return 2;
  if (typeof v !== 'object' || v === null) return 0;
  let n = 0;
  // Indexed loop and numbers counted inline: this runs on every replayed line.
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) n += quotesOf(v[i]);
    return n;
  }
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    n += typeof x === 'number' ? 2 : 2 + quotesOf(x);
  }
  return n;
}

export type JsonTextProblem =
  | { readonly kind: 'duplicate-key'; readonly key: string; readonly path: string }
  | { readonly kind: 'not-integer'; readonly key: string; readonly lexeme: string };

export function describeJsonTextProblem(p: JsonTextProblem): string {
  return p.kind === 'duplicate-key'
    ? `key "${p.key}" appears twice${p.path ? ` in ${p.path}` : ''} (JSON keeps only the last value)`
    : `"${p.key}" must be an integer, got ${p.lexeme}`;
}

/**
 * Walks text that JSON.parse accepted: the first key written twice in one object, or
 * a top-level `integerKeys` member written with a fraction or an exponent.
 */
export function jsonTextProblem(text: string, integerKeys: readonly string[] = []): JsonTextProblem | null {
  const frames: Array<{ keys: Set<string> | null; path: string }> = [];
  let pendingKey: string | null = null;
  let expectKey = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = frames[frames.length - 1];
      if (expectKey && top?.keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return { kind: 'duplicate-key', key, path: top.path };
        top.keys.add(key);
        pendingKey = key;
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '[') {
      const parent = frames[frames.length - 1];
      const name = pendingKey ?? '';
      frames.push({
        keys: c === '{' ? new Set() : null,
        path: parent?.path ? `${parent.path}.${name}` : name,
      });
      expectKey = c === '{';
      pendingKey = null;
    } else if (c === '}' || c === ']') {
      frames.pop();
    } else if (c === ',') {
      expectKey = frames[frames.length - 1]?.keys != null;
      pendingKey = null;
    } else if ((c === '-' || (c >= '0' && c <= '9')) && frames.length === 1) {
      const lexeme = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400))?.[0] ?? c;
      if (pendingKey !== null && integerKeys.includes(pendingKey) && /[.eE]/.test(lexeme))
        return { kind: 'not-integer', key: pendingKey, lexeme };
      i += lexeme.length;
      continue;
    }
    i += 1;
  }
  return null;
}
