/**
 * The scan file reader: lines in read-sized batches, each parsed once when first looked
 * at; the line-at-a-time reader gives the same lines; line numbers, CRLF, blank lines,
 * gzip and lines split across reads all come out right.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  LINES_PER_BATCH,
  readScanLineBatches,
  readScanLines,
  type ScanLine,
  textLineBatches,
} from '../src/adapters/files/scan-lines.js';

const dir = mkdtempSync(join(tmpdir(), 'pink-scan-lines-'));
const plain = (l: ScanLine) => ({ lineNo: l.lineNo, text: l.text, value: l.value, parseError: l.parseError });

async function all(path: string): Promise<{ batches: ScanLine[][]; lines: ScanLine[]; bytes: number }> {
  const read = readScanLineBatches(path);
  const batches: ScanLine[][] = [];
  for await (const b of read.batches) batches.push(b);
  const lines: ScanLine[] = [];
  for await (const l of readScanLines(path).lines) lines.push(l);
  return { batches, lines, bytes: read.bytesRead() };
}

describe('scan file reader', () => {
  it('numbers lines as in the file, skips blank ones, keeps CRLF out and names bad lines', async () => {
    const text = '{"a":1}\r\n\n  \n{"a":2,"a":3}\nnot json\n{"b":[1,"x"]}';
    const path = join(dir, 'small.jsonl');
    writeFileSync(path, text);
    const { batches, lines, bytes } = await all(path);
    expect(bytes).toBe(Buffer.byteLength(text));
    const flat = batches.flat().map(plain);
    expect(flat.map((l) => [l.lineNo, l.text])).toEqual([
      [1, '{"a":1}'],
      [4, '{"a":2,"a":3}'],
      [5, 'not json'],
      [6, '{"b":[1,"x"]}'],
    ]);
    expect(flat[0]!.value).toEqual({ a: 1 });
    expect(flat[1]!.parseError).toMatch(/key "a" appears twice/);
    expect(flat[1]!.value).toBeUndefined();
    expect(flat[2]!.parseError).toMatch(/not valid JSON/);
    expect(flat[3]).toMatchObject({ value: { b: [1, 'x'] }, parseError: undefined });
    expect(lines.map(plain)).toEqual(flat);
  });

  it('reads a multi-megabyte file in several batches with no line lost or split, gzip too', async () => {
    const rows = Array.from({ length: 40_000 }, (_, i) =>
      JSON.stringify({ scan: i, pad: 'x'.repeat(i % 97) }),
    );
    const body = `${rows.join('\n')}\n`;
    const path = join(dir, 'big.jsonl');
    writeFileSync(path, body);
    writeFileSync(`${path}.gz`, gzipSync(body));
    for (const p of [path, `${path}.gz`]) {
      const { batches, lines } = await all(p);
      expect(batches.length).toBeGreaterThan(1);
      // Decoded a slice at a time, so that no line waits long enough to be promoted.
      for (const b of batches) expect(b.length).toBeLessThanOrEqual(LINES_PER_BATCH);
      const flat = batches.flat();
      expect(flat.map((l) => (l.value as { scan: number }).scan)).toEqual(rows.map((_, i) => i));
      expect(flat.map((l) => l.lineNo)).toEqual(rows.map((_, i) => i + 1));
      expect(lines.map((l) => l.text)).toEqual(rows);
    }
  });

  it('reuses one read buffer: lines split anywhere (mid-character, between \\r and \\n), longer than it, or unterminated', async () => {
    // Multi-byte characters, CRLF and LF, a blank line, a line of 300 bytes: with reads of
    // 7 bytes every kind of split happens, and the buffer must grow for the long line.
    const lines = ['{"a":"é€𝄞"}', '', '{"b":1}', `{"long":"${'ü'.repeat(150)}"}`, '€', 'end'];
    const text = `${lines[0]}\r\n${lines[1]}\n${lines[2]}\r\n${lines[3]}\n${lines[4]}\n${lines[5]}`;
    const path = join(dir, 'splits.jsonl');
    writeFileSync(path, text);
    for (const readBytes of [7, 8, 64, 1 << 20]) {
      let bytes = 0;
      const got: string[] = [];
      for await (const batch of textLineBatches(path, (n) => (bytes += n), readBytes)) got.push(...batch);
      expect(got, `reads of ${readBytes} bytes`).toEqual(lines);
      expect(bytes).toBe(Buffer.byteLength(text));
    }
  });

  it('names the file and how far it got when it cannot be read', async () => {
    const read = async (p: string) => {
      for await (const _ of textLineBatches(p)) {
        // drained
      }
    };
    await expect(read(join(dir, 'missing.jsonl'))).rejects.toThrow(/missing\.jsonl: no such file/);
    await expect(read(dir)).rejects.toThrow(/is a directory, not a file/);
  });

  it('parses a line when it is looked at and does not keep its value (a batch would hold its parsed scans)', async () => {
    const path = join(dir, 'once.jsonl');
    writeFileSync(path, '{"a":{"b":1}}\n');
    const [line] = (await all(path)).batches.flat();
    expect(line!.parseError).toBeUndefined();
    const first = line!.value;
    expect(first).toEqual({ a: { b: 1 } });
    expect(line!.value).toEqual(first);
    expect(line!.value).not.toBe(first);
  });
});
