/**
 * The embedded engine's staged RowBinary path stores exactly what the JSONEachRow path
 * stores: random rows (fast-check) go into two identical tables, one per batch writer,
 * and the tables are compared row by row. Values neither path may take are refused by
 * both, and the staged path names the row and column.
 */

import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JsonBatchWriter,
  STAGE_FROM_ROWS,
  StagedBatchWriter,
} from '../src/adapters/clickhouse/batch-writer.js';
import {
  type BinaryColumn,
  binaryColumn,
  decodeRowBinary,
  encodeRowBinary,
  RowBinaryAppender,
  RowEncodeError,
} from '../src/adapters/clickhouse/row-binary.js';
import type { ChClient } from '../src/adapters/clickhouse/schema.js';
import { type EmbeddedEngine, openEmbedded } from './clickhouse-support.js';

let ch: EmbeddedEngine;
let json: JsonBatchWriter;
let staged: StagedBatchWriter;
const DB = 'rowbinary_probe';

/** Every column type the ledger schema uses. */
const COLUMNS = `
  id UInt64,
  ts DateTime64(3, 'UTC'),
  day Date,
  name LowCardinality(String),
  note String,
  price Float64,
  qty Nullable(Float64),
  seq Int64,
  count UInt32,
  big UInt64,
  flag Bool,
  done_ts Nullable(DateTime64(3, 'UTC')),
  maybe Nullable(Int64)`;

beforeAll(async () => {
  ch = await openEmbedded('rowbinary');
  await ch.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
  for (const t of ['via_json', 'via_file', 'via_decoded'])
    await ch.client.command({
      query: `CREATE TABLE ${DB}.${t} (${COLUMNS}) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 1000`,
    });
  json = new JsonBatchWriter(ch.client);
  staged = new StagedBatchWriter(ch.client, ch.tmp('staging'), 1);
});
afterAll(async () => ch.close());

const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ minLength: 40, maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.constantFrom('', 'a\tb\nc', "quote ' and \\ backslash", 'x'.repeat(64)),
);
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const ts = fc
  .integer({ min: 0, max: 4_102_444_800_000 })
  .map((ms) => new Date(ms).toISOString().replace('T', ' ').replace('Z', ''));

/** One row: each column may be absent, null, or a value of a kind JSON sends. */
const row = (id: number) =>
  fc
    .record(
      {
        ts,
        day: ts.map((t) => t.slice(0, 10)),
        name: fc.oneof(text, fc.integer(), fc.boolean()),
        note: fc.oneof(text, finite),
        price: fc.oneof(finite, fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 1e-310)),
        qty: fc.oneof(finite, fc.constant(null), fc.constant(Number.NaN)),
        seq: fc.oneof(fc.maxSafeInteger(), fc.constantFrom(-(2 ** 53) + 1, 0)),
        count: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        big: fc.oneof(
          fc.maxSafeNat(),
          fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((b) => b.toString()),
        ),
        flag: fc.oneof(fc.boolean(), fc.constantFrom(0, 1)),
        done_ts: fc.oneof(ts, fc.constant(null)),
        maybe: fc.oneof(fc.maxSafeInteger(), fc.constant(null)),
      },
      { requiredKeys: [] },
    )
    .map((r) => ({ id, ...r }));

const idsFrom = (table: string, from: number) =>
  ch.rows(`SELECT * FROM ${DB}.${table} WHERE id >= ${from} AND id < 1000000 ORDER BY id`);

describe('staged RowBinary vs JSONEachRow', () => {
  it('stores the same values for random rows of every column type (and so do rows decoded from RowBinary)', async () => {
    const described = await ch.rows<{ name: string; type: string }>(
      `SELECT name, type FROM system.columns WHERE database = '${DB}' AND table = 'via_decoded' ORDER BY position`,
    );
    const layout = described.map((c) => binaryColumn(c.name, c.type) as BinaryColumn);
    let next = 0;
    let batch = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }).chain((n) => fc.tuple(...Array.from({ length: n }, () => row(0)))),
        async (rows) => {
          const first = next + 1;
          const withIds = rows.map((r) => ({ ...r, id: ++next }));
          batch += 1;
          await json.write({ database: DB, table: 'via_json', token: `j${batch}`, rows: withIds });
          await staged.write({ database: DB, table: 'via_file', token: `f${batch}`, rows: withIds });
          // What the spool keeps of an encoded batch: its RowBinary decoded back to rows.
          const decoded = decodeRowBinary(layout, encodeRowBinary('via_decoded', layout, withIds));
          await json.write({ database: DB, table: 'via_decoded', token: `d${batch}`, rows: decoded });
          const stored = await idsFrom('via_file', first);
          expect(stored).toHaveLength(withIds.length);
          expect(stored).toEqual(await idsFrom('via_json', first));
          expect(await idsFrom('via_decoded', first)).toEqual(stored);
        },
      ),
      { numRuns: process.env.PINK_LONG ? 500 : 25 },
    );
    expect(next).toBeGreaterThan(25);
  }, 600_000);

  it('stages the next batch while this one is inserted, starting once the engine has it; discard removes a staged file', async () => {
    const dir = ch.tmp('staging-overlap');
    // The real client, with a look at the staging directory whenever an insert is handed over.
    const seenAtInsert: string[][] = [];
    const client: ChClient = {
      query: (p) => ch.client.query(p),
      insert: (p) => ch.client.insert(p),
      ping: () => ch.client.ping(),
      close: () => ch.client.close(),
      command: (p) => {
        if (p.query.startsWith('INSERT')) seenAtInsert.push(readdirSync(dir).sort());
        return ch.client.command(p);
      },
    };
    const writer = new StagedBatchWriter(client, dir, 1);
    const batch = (n: number) => ({
      database: DB,
      table: 'via_file',
      token: `overlap-${n}`,
      rows: Array.from({ length: 2000 }, (_, i) => ({ id: 3_500_000 + n * 10_000 + i, note: `b${n}` })),
    });
    const [b1, b2, b3] = [batch(1), batch(2), batch(3)];
    const writing = writer.write(b1);
    writer.prefetch(b2);
    writer.prefetch(b3);
    await writing;
    await writer.write(b2);
    writer.discard(b3);
    // b1 went to the engine before anything else was staged; b2 was staged meanwhile (its
    // file already there when its own insert was handed over).
    expect(seenAtInsert[0]).toEqual(['via_file-1.rowbinary']);
    expect(seenAtInsert[1]).toContain('via_file-2.rowbinary');
    await expect.poll(() => readdirSync(dir)).toEqual([]);
    const stored = await ch.rows(
      `SELECT note, count() AS n FROM ${DB}.via_file WHERE id >= 3500000 AND id < 3600000 GROUP BY note ORDER BY note`,
    );
    expect(stored).toEqual([
      { note: 'b1', n: 2000 },
      { note: 'b2', n: 2000 },
    ]);
  });

  it('a retried batch with its token is stored once', async () => {
    const rows = [{ id: 1_000_000, ts: '2026-05-20 12:00:00.000', name: 'again' }];
    for (let i = 0; i < 3; i++)
      await staged.write({ database: DB, table: 'via_file', token: 'retry-token', rows });
    expect(await ch.rows(`SELECT id FROM ${DB}.via_file WHERE id = 1000000`)).toHaveLength(1);
  });

  it.each([
    ['an unknown key', { id: 1, bogus: 1 }, /via_file row 1: unknown column "bogus"/],
    ['text in a Float64', { id: 1, price: 'cheap' }, /row 1 column price: "cheap" is not a number/],
    ['a fraction in an Int64', { id: 1, seq: 2.5 }, /row 1 column seq: 2.5 is not a Int64/],
    ['a negative UInt32', { id: 1, count: -1 }, /row 1 column count: -1 is not a UInt32/],
    ['a word in a Bool', { id: 1, flag: 'yes' }, /column flag: yes is not a boolean/],
  ])('refuses %s, naming row and column, where JSONEachRow is refused too', async (_, bad, message) => {
    const rows = [{ id: 2_000_000 }, bad];
    await expect(staged.write({ database: DB, table: 'via_file', token: 'bad', rows })).rejects.toThrow(
      message,
    );
    await expect(json.write({ database: DB, table: 'via_json', token: 'bad', rows })).rejects.toThrow();
    expect(await ch.rows(`SELECT id FROM ${DB}.via_file WHERE id = 2000000`)).toHaveLength(0);
  });

  it('refuses an integer beyond its type, which the JSON parser would wrap around silently', async () => {
    const rows = [{ id: 3_000_000, big: (2n ** 64n).toString() }];
    await expect(staged.write({ database: DB, table: 'via_file', token: 'wrap', rows })).rejects.toThrow(
      /row 0 column big: 18446744073709551616 is not a UInt64/,
    );
    await json.write({ database: DB, table: 'via_json', token: 'wrap', rows });
    expect(await ch.rows(`SELECT toString(big) AS big FROM ${DB}.via_json WHERE id = 3000000`)).toEqual([
      { big: '0' },
    ]);
  });

  it('with the default threshold, small batches go inline and large ones through a staged file', async () => {
    const sent: string[] = [];
    const watched = {
      ...ch.client,
      insert: (p: Parameters<typeof ch.client.insert>[0]) => {
        sent.push('inline');
        return ch.client.insert(p);
      },
      command: (p: Parameters<typeof ch.client.command>[0]) => {
        if (p.query.includes("'RowBinary'")) sent.push('staged');
        return ch.client.command(p);
      },
      query: (p: Parameters<typeof ch.client.query>[0]) => ch.client.query(p),
    } as unknown as typeof ch.client;
    const writer = new StagedBatchWriter(watched, ch.tmp('threshold'));
    const rows = (n: number, from: number) =>
      Array.from({ length: n }, (_, i) => ({ id: from + i, name: 'x' }));
    await writer.write({
      database: DB,
      table: 'via_file',
      token: 'small',
      rows: rows(STAGE_FROM_ROWS - 1, 4_000_000),
    });
    await writer.write({
      database: DB,
      table: 'via_file',
      token: 'large',
      rows: rows(STAGE_FROM_ROWS, 5_000_000),
    });
    expect(sent).toEqual(['inline', 'staged']);
    expect(await ch.rows(`SELECT count() AS n FROM ${DB}.via_file WHERE id >= 4000000`)).toEqual([
      { n: 2 * STAGE_FROM_ROWS - 1 },
    ]);
  });

  it('writes each string as its UTF-8 bytes after a LEB128 length, at every length and width', () => {
    // An independent reading of the format (ClickHouse's String: varint length, then bytes).
    const read = (buf: Buffer): string[] => {
      const out: string[] = [];
      for (let pos = 0; pos < buf.length; ) {
        let n = 0;
        for (let shift = 0; ; shift += 7) {
          const b = buf[pos++] as number;
          n += (b & 0x7f) * 2 ** shift;
          if (b < 0x80) break;
        }
        out.push(buf.toString('utf8', pos, pos + n));
        pos += n;
      }
      return out;
    };
    const columns = [binaryColumn('s', 'String')].filter((c) => c !== null);
    // Lengths around every branch (short ASCII loop, one-byte slot, the move to a two-byte
    // length at 128 UTF-8 bytes, long strings) in one-, two-, three- and four-byte characters
    // (the last are two UTF-16 units each, so they reach each branch at half the count).
    const values = ['a', 'é', '€', '😀'].flatMap((ch) =>
      [0, 1, 23, 24, 42, 43, 63, 64, 65, 127, 128, 129, 300].map((len) => ch.repeat(len)),
    );
    expect(
      read(
        encodeRowBinary(
          't',
          columns,
          values.map((s) => ({ s })),
        ),
      ),
    ).toEqual(values);
  });

  it("an appender refills a recycled batch's buffer, and each payload holds its own rows", () => {
    const columns = [binaryColumn('n', 'UInt32'), binaryColumn('s', 'String')].filter((c) => c !== null);
    const rows = (from: number) =>
      Array.from({ length: 2000 }, (_, i) => ({ n: from + i, s: `row ${from + i}` }));
    const a = new RowBinaryAppender('t', columns, 2000);
    a.append(rows(0));
    const first = a.take();
    expect(decodeRowBinary(columns, first)).toEqual(rows(0));
    // Not handed back yet (still being inserted): the next batch gets a buffer of its own.
    a.append(rows(5000));
    const second = a.take();
    expect(second.buffer).not.toBe(first.buffer);
    expect(decodeRowBinary(columns, first)).toEqual(rows(0));
    // Handed back: the batch after the one filling now is written into it.
    a.recycle(first);
    a.append(rows(9000));
    const third = a.take();
    a.append(rows(12000));
    const fourth = a.take();
    expect(third.buffer).not.toBe(first.buffer);
    expect(fourth.buffer).toBe(first.buffer);
    expect(decodeRowBinary(columns, fourth)).toEqual(rows(12000));
    expect(decodeRowBinary(columns, third)).toEqual(rows(9000));
    expect(decodeRowBinary(columns, second)).toEqual(rows(5000));
    // A slice of Node's shared small-buffer pool is never taken over (other code owns the rest).
    const pooled = Buffer.from('shared pool slice');
    const b = new RowBinaryAppender('t', columns, 1);
    b.recycle(pooled.byteOffset === 0 ? pooled.subarray(1) : pooled);
    b.append(rows(0));
    expect(b.take().buffer).not.toBe(pooled.buffer);
  });

  it("encodes a DEFAULT column when a row gives it; a row that does not goes the JSON way and gets the table's default", async () => {
    const columns = `id UInt64, note String DEFAULT 'none', n Int64 DEFAULT 7, q Nullable(Float64) DEFAULT 1.5`;
    for (const t of ['def_json', 'def_queue'])
      await ch.client.command({
        query: `CREATE TABLE ${DB}.${t} (${columns}) ENGINE = MergeTree ORDER BY id`,
      });
    const rows = [
      { id: 1, note: 'given', n: 1, q: 2 },
      { id: 2 },
      // null: the default in a column that is not Nullable, NULL in one that is.
      { id: 3, note: null, n: 3, q: null },
      { id: 4, note: '', n: 0, q: 0 },
      { id: 5, note: 'x', n: Number.NaN },
      { id: 6, note: 'y', n: 6, q: null },
    ];
    await json.write({ database: DB, table: 'def_json', token: 'defaults-json', rows });
    // The ledger's way (ClickHouseLedger.encode): each row the appender refuses goes as JSON.
    const writer = new StagedBatchWriter(ch.client, ch.tmp('staging-defaults'));
    await writer.prepare(DB, ['def_queue']);
    const appender = writer.appender(DB, 'def_queue', 10);
    if (!appender) throw new Error('a table with DEFAULT columns has an appender');
    const refused: (typeof rows)[number][] = [];
    for (const r of rows) {
      try {
        appender.append([r]);
      } catch (err) {
        expect(err).toBeInstanceOf(RowEncodeError);
        expect((err as Error).message).toMatch(/no value, and the table computes (note|n)'s DEFAULT/);
        refused.push(r);
      }
    }
    expect(refused.map((r) => r.id)).toEqual([2, 3, 5]);
    const encoded = { columns: appender.columns, count: appender.count, payload: appender.take() };
    await writer.write({ database: DB, table: 'def_queue', token: 'defaults-queue', rows: [], encoded });
    await json.write({ database: DB, table: 'def_queue', token: 'defaults-refused', rows: refused });
    const stored = (t: string) => ch.rows(`SELECT * FROM ${DB}.${t} ORDER BY id`);
    expect(await stored('def_queue')).toEqual(await stored('def_json'));
    expect((await stored('def_json'))[1]).toMatchObject({ id: 2, note: 'none', n: 7, q: 1.5 });
  });

  it('a refused value is a RowEncodeError (the ledger quarantines it instead of retrying)', () => {
    const columns = [binaryColumn('n', 'UInt32')].filter((c) => c !== null);
    expect(() => encodeRowBinary('t', columns, [{ n: 'x' }])).toThrow(RowEncodeError);
  });

  it('a table with a column type the encoder does not know takes the JSON path', async () => {
    await ch.client.command({
      query: `CREATE TABLE ${DB}.odd (id UInt64, tags Array(String)) ENGINE = MergeTree ORDER BY id`,
    });
    expect(binaryColumn('tags', 'Array(String)')).toBeNull();
    const described: string[] = [];
    const counting = {
      ...ch.client,
      insert: (p: Parameters<typeof ch.client.insert>[0]) => ch.client.insert(p),
      command: (p: Parameters<typeof ch.client.command>[0]) => ch.client.command(p),
      query: (p: Parameters<typeof ch.client.query>[0]) => {
        if (p.query.includes('system.columns')) described.push(p.query);
        return ch.client.query(p);
      },
    } as unknown as typeof ch.client;
    const writer = new StagedBatchWriter(counting, ch.tmp('odd'), 1);
    await writer.write({ database: DB, table: 'odd', token: 'odd1', rows: [{ id: 1, tags: ['a', 'b'] }] });
    await writer.write({ database: DB, table: 'odd', token: 'odd2', rows: [{ id: 2, tags: [] }] });
    expect(await ch.rows(`SELECT id, tags FROM ${DB}.odd ORDER BY id`)).toEqual([
      { id: 1, tags: ['a', 'b'] },
      { id: 2, tags: [] },
    ]);
    // The table's layout (JSON path) is looked up once, not per batch.
    expect(described).toHaveLength(1);
  });
});
