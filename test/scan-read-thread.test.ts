/**
 * A scan file read and parsed on a worker thread (`pink replay --no-ledger`): every line
 * reaches the replay as the decision thread's own reader gives it (value, key order, -0,
 * parse error, line number) whatever the line holds; the worker runs at most
 * READ_AHEAD_BATCHES ahead, its read errors are the reader's, and a replay that stops
 * early ends it. The replay decides the same either way.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ParsedLine, parseScanJson, readScanLineBatches } from '../src/adapters/files/scan-lines.js';
import { ScanPacker, ScanUnpacker } from '../src/adapters/files/scan-pack.js';
import {
  READ_AHEAD_BATCHES,
  readHashedScanLines,
  readScanLinesInWorker,
} from '../src/adapters/files/scan-read-thread.js';
import { runReplay, StrictReplayStop } from '../src/app/replay.js';
import type { CanonicalEvent } from '../src/domain/events.js';
import { writeSimulatedScans } from '../src/market/scan-file.js';
import { BlueV7Ref } from '../src/strategy/blue-v7-ref.js';
import { sameValue } from './support/same-value.js';

const dir = mkdtempSync(join(tmpdir(), 'pink-scan-read-thread-'));

function expectSameLines(got: readonly ParsedLine[], want: readonly ParsedLine[]): void {
  expect(got.map((l) => [l.lineNo, l.parseError])).toEqual(want.map((l) => [l.lineNo, l.parseError]));
  for (let i = 0; i < want.length; i++)
    if (!sameValue(got[i]!.value, want[i]!.value))
      throw new Error(
        `line ${want[i]!.lineNo}: ${JSON.stringify(got[i]!.value)} != ${JSON.stringify(want[i]!.value)}`,
      );
}

const symbol = fc.oneof(
  fc.constantFrom(
    'BTCUSDT',
    'ETHUSDT',
    '__proto__',
    'constructor',
    '123',
    '0',
    '',
    'a"b',
    'c\\d',
    'é',
    '\u2028',
  ),
  fc.string({ maxLength: 6 }),
);
const quote = fc.record({ price: fc.double(), irp: fc.double() });
const scan = fc.record({
  ts: fc.oneof(fc.integer(), fc.double()),
  scan: fc.integer(),
  vel_div: fc.double(),
  vol_ok: fc.boolean(),
  assets: fc.dictionary(symbol, quote, { maxKeys: 6 }),
});
const canonical = scan.map((s) => JSON.stringify(s));
/** Lines that look like scans and are not quite: each must go as text and come out as parsed. */
const nearlyCanonical = fc.oneof(
  scan.map((s) => JSON.stringify({ ...s, extra: 1 })),
  scan.map((s) =>
    JSON.stringify({ assets: s.assets, ts: s.ts, scan: s.scan, vel_div: s.vel_div, vol_ok: s.vol_ok }),
  ),
  canonical.map((l) => l.replace('{"ts":', '{"ts":1,"ts":')),
  canonical.map((l) => l.replace(/"ts":(-?\d+)([,}])/, '"ts":$1.0$2')),
  canonical.map((l) => l.replace(/"vel_div":[^,]+,/, '"vel_div":-0,')),
  canonical.map((l) => l.replace(/"price":[^,]+,/, '"price":"1",')),
  canonical.map((l) => l.replace(/"irp":([^}]+)}/, '"irp":$1,"x":null}')),
  canonical.map((l) => l.replace('"vol_ok":true', '"vol_ok":1')),
  canonical.map((l) => l.replace(/"BTCUSDT"/, '"BTC\\u0055SDT"')),
  canonical.map((l) => l.slice(0, -1)),
);
const anyLine = fc.oneof(
  { weight: 4, arbitrary: canonical },
  { weight: 4, arbitrary: nearlyCanonical },
  { weight: 1, arbitrary: fc.json() },
  { weight: 1, arbitrary: fc.string() },
);

describe('scan lines packed for another thread', () => {
  it('come out as JSON.parse and the line checks give them, batch after batch (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(anyLine, { maxLength: 12 }), { maxLength: 6 }), (batches) => {
        const packer = new ScanPacker();
        const unpacker = new ScanUnpacker();
        let lineNo = 0;
        for (const texts of batches) {
          const lines = texts.map((text) => ({ lineNo: ++lineNo, text }));
          const packed = packer.pack(lines, 0);
          const want = lines.map((l): ParsedLine => {
            const p = parseScanJson(l.text);
            return 'value' in p
              ? { lineNo: l.lineNo, value: p.value }
              : { lineNo: l.lineNo, value: undefined, ...p };
          });
          expectSameLines(unpacker.unpack(packed), want);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keep their symbol dictionary bounded: a line with a symbol beyond it goes as text', () => {
    const packer = new ScanPacker(2);
    const line = (sym: string) =>
      `{"ts":1,"scan":1,"vel_div":0,"vol_ok":true,"assets":{"${sym}":{"price":1,"irp":0}}}`;
    const lines = ['A', 'B', 'C', 'A'].map((sym, i) => ({ lineNo: i + 1, text: line(sym) }));
    const packed = packer.pack(lines, 0);
    expect(packed.symbols).toEqual(['A', 'B']);
    expect(packed.texts).toEqual([line('C')]);
    expectSameLines(
      new ScanUnpacker().unpack(packed),
      lines.map((l) => ({ lineNo: l.lineNo, value: JSON.parse(l.text) })),
    );
  });

  it('send canonical scans as numbers and only the other lines as text', () => {
    const packer = new ScanPacker();
    const line = '{"ts":1,"scan":2,"vel_div":-0.5,"vol_ok":false,"assets":{"X":{"price":1.5,"irp":0.25}}}';
    const packed = packer.pack(
      [
        { lineNo: 1, text: line },
        { lineNo: 3, text: '{"ts":1,"ts":2}' },
        { lineNo: 4, text: line.replace('"X"', '"__proto__"') },
      ],
      10,
    );
    expect(packed.texts).toEqual(['{"ts":1,"ts":2}', line.replace('"X"', '"__proto__"')]);
    expect(packed.symbols).toEqual(['X']);
    expect([...packed.numbers.slice(0, 11)]).toEqual([1, 1, 1, 2, -0.5, 0, 0, 1.5, 0.25, 3, -1]);
    const out = new ScanUnpacker().unpack(packed);
    expect(Object.getOwnPropertyNames((out[2]!.value as { assets: object }).assets)).toEqual(['__proto__']);
  });
});

async function readAll(read: { batches: AsyncGenerator<readonly ParsedLine[]> }): Promise<ParsedLine[]> {
  const out: ParsedLine[] = [];
  for await (const b of read.batches) out.push(...b);
  return out;
}

/** A simulated file with a bad line every 97 lines, blank lines and CRLF among them. */
async function fileWithBadLines(name: string, scans: number): Promise<string> {
  const clean = join(dir, `${name}-clean.jsonl`);
  await writeSimulatedScans(clean, { scans, assets: 5, seed: 3 });
  const lines = readFileSync(clean, 'utf8').trimEnd().split('\n');
  const bad = ['not json', '{"ts":1,"ts":2}', '', '   ', '{"ts":1.0e3,"scan":1}', '[1,2]', 'null'];
  const mixed = lines.map((l, i) => (i % 97 === 50 ? `${bad[(i / 97) | (0 % bad.length)]}\r` : l));
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, `${mixed.join('\n')}\n`);
  return path;
}

describe('scan file read on a worker thread', () => {
  it('gives the lines the decision thread reader gives, plain and gzip, and the bytes read', async () => {
    const path = await fileWithBadLines('mixed', 3_000);
    const want = await readAll(readScanLineBatches(path));
    const read = readScanLinesInWorker(path);
    expectSameLines(await readAll(read), want);
    expect(read.bytesRead()).toBe(statSync(path).size);
    expect(want.filter((l) => l.parseError !== undefined).length).toBeGreaterThan(10);

    const gz = `${path}.gz`;
    writeFileSync(gz, gzipSync(readFileSync(path)));
    expectSameLines(await readAll(readScanLinesInWorker(gz)), want);
  });

  it('hashes the dataset as parity identifies it, the same on either thread', async () => {
    const path = await fileWithBadLines('hashed', 1_500);
    const read = async (where: 'worker' | 'inline') => {
      const source = readHashedScanLines(path, where);
      expect(source.datasetHash).toThrow('the dataset hash is known only once every line is read');
      const lines: ParsedLine[] = [];
      for await (const line of source.lines) lines.push(line);
      return { lines, hash: source.datasetHash() };
    };
    const inline = await read('inline');
    const worker = await read('worker');
    expectSameLines(worker.lines, inline.lines);
    const text = readFileSync(path, 'utf8').split('\n');
    const expected = createHash('sha256');
    text.forEach((t, i) => {
      const line = t.replace(/\r$/, '');
      if (line.trim() !== '') expected.update(`${i + 1}:${line}\n`);
    });
    expect(inline.hash).toBe(expected.digest('hex'));
    expect(worker.hash).toBe(inline.hash);
  });

  it('refuses a missing file, a directory and a corrupt gzip with the reader own message', async () => {
    const corrupt = join(dir, 'corrupt.jsonl.gz');
    const zipped = gzipSync(readFileSync(await fileWithBadLines('to-corrupt', 500)));
    writeFileSync(corrupt, zipped.subarray(0, zipped.length >> 1));
    for (const path of [join(dir, 'missing.jsonl'), dir, corrupt]) {
      const inline = await readAll(readScanLineBatches(path)).then(
        () => 'no error',
        (e: Error) => e.message,
      );
      expect(inline).not.toBe('no error');
      await expect(readAll(readScanLinesInWorker(path))).rejects.toThrow(inline);
    }
  });

  it('names the file when the thread itself fails (a line larger than its heap)', async () => {
    const path = join(dir, 'huge-line.jsonl');
    writeFileSync(path, `{"ts":1,"scan":1}\n[${'{"a":1},'.repeat(2_000_000)}1]\n`);
    await expect(readAll(readScanLinesInWorker(path, { maxOldGenerationSizeMb: 16 }))).rejects.toThrow(
      `${path}: the scan reader thread failed: `,
    );
    expect(process.getActiveResourcesInfo()).not.toContain('MessagePort');
  });

  it('reads at most READ_AHEAD_BATCHES ahead, and a stop part-way ends the thread', async () => {
    const path = join(dir, 'long.jsonl');
    await writeSimulatedScans(path, { scans: 8_000, assets: 5, seed: 4 });
    const read = readScanLinesInWorker(path);
    const seen: number[] = [];
    for await (const _ of read.batches) {
      const deadline = Date.now() + 10_000;
      while (read.waiting() < READ_AHEAD_BATCHES && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      seen.push(read.waiting());
      expect(process.getActiveResourcesInfo()).toContain('MessagePort');
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([READ_AHEAD_BATCHES, READ_AHEAD_BATCHES]);
    expect(read.bytesRead()).toBeLessThan(statSync(path).size);
    expect(process.getActiveResourcesInfo()).not.toContain('MessagePort');
  });
});

describe('replay with the lines parsed on a worker thread', () => {
  // Every event but its monotonic clock reading (when it was made, not what it says).
  const replay = async (dataPath: string, readLines: 'worker' | 'inline', strict = false) => {
    const events: string[] = [];
    const sink = (e: CanonicalEvent) =>
      void events.push(JSON.stringify(e, (k, v) => (k === 'monoNs' ? undefined : v)));
    const r = await runReplay({
      dataPath,
      readLines,
      strict,
      strategy: new BlueV7Ref(),
      namespace: 'pink',
      initialCapital: 25_000,
      sinks: [sink],
    });
    return { summary: r.summary, events };
  };

  it('decides, refuses and reports exactly as with the lines parsed inline', async () => {
    const path = await fileWithBadLines('replay', 4_000);
    const worker = await replay(path, 'worker');
    const inline = await replay(path, 'inline');
    expect(worker.summary.rejectedScans).toBeGreaterThan(10);
    expect(worker.summary).toEqual(inline.summary);
    expect(worker.events).toEqual(inline.events);
  });

  it('stops at the first bad line with --strict and leaves no thread behind', async () => {
    const path = await fileWithBadLines('strict', 1_000);
    await expect(replay(path, 'worker', true)).rejects.toThrow(StrictReplayStop);
    await expect(replay(path, 'worker', true)).rejects.toThrow(`${path}:51: `);
    expect(process.getActiveResourcesInfo()).not.toContain('MessagePort');
  });
});
