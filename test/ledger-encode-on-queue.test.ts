/**
 * The bulk ledger (issue #19): rows encoded as they are queued (ClickHouseLedger
 * encodeOnQueue) store exactly what the row-keeping ledger stores, in every table a replay
 * writes; a batch that cannot be inserted is spooled as its rows (decoded) and lands once
 * ClickHouse is back, with the same token; a row the encoder refuses is neither thrown at
 * the producer nor able to take good rows with it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InsertBatch, StagedBatchWriter } from '../src/adapters/clickhouse/batch-writer.js';
import { ClickHouseLedger } from '../src/adapters/clickhouse/ledger.js';
import type { RowBinaryAppender } from '../src/adapters/clickhouse/row-binary.js';
import { applySchema, type ChClient } from '../src/adapters/clickhouse/schema.js';
import { ClickHouseEventSink } from '../src/adapters/clickhouse/sink.js';
import { FileSpool } from '../src/adapters/clickhouse/spool.js';
import { runReplay } from '../src/app/replay.js';
import { syntheticScanLines } from '../src/app/simtest/synthetic-scans.js';
import { loadStrategy } from '../src/strategy/loader.js';
import { type EmbeddedEngine, FaultyClient, openEmbedded, PINK } from './clickhouse-support.js';

const DB = PINK.clickhouseDb;
let ch: EmbeddedEngine;
let data: string;

beforeAll(async () => {
  ch = await openEmbedded('encode-on-queue');
  await applySchema(ch.client, DB, ch.guard);
  data = path.join(ch.dir, 'scans.jsonl');
  writeFileSync(data, `${syntheticScanLines({ scans: 4000, seed: 11 }).join('\n')}\n`);
});
afterAll(() => ch?.close());

/** A ledger on the staged writer; `encoded` counts the batches that arrived already encoded. */
async function bulkLedger(
  runId: string,
  encodeOnQueue: boolean,
  client: ChClient = ch.client,
  onError?: (message: string) => void,
) {
  const staged = new StagedBatchWriter(client, ch.tmp(`staging-${runId}`));
  const seen = { encoded: 0, rows: 0 };
  const writer = Object.assign(Object.create(staged) as StagedBatchWriter, {
    write: (b: InsertBatch) => {
      if (b.encoded) seen.encoded += 1;
      else seen.rows += 1;
      return staged.write(b);
    },
  });
  const spoolDir = ch.tmp(`spool-${runId}`);
  const ledger = new ClickHouseLedger({
    client,
    database: DB,
    guard: ch.guard,
    engine: 'embedded',
    spoolDir,
    runId,
    batchRows: 700,
    ownsClient: false,
    writer,
    encodeOnQueue,
    retryBaseMs: 20,
    retryMaxMs: 50,
    ...(onError ? { onError } : {}),
  });
  await ledger.prepare();
  return { ledger, seen, spoolDir };
}

async function replayInto(ledger: ClickHouseLedger): Promise<void> {
  const sink = new ClickHouseEventSink({ ledger, strategy: 'pink', runId: ledger.runId });
  await runReplay({
    dataPath: data,
    strategy: await loadStrategy('blue-v7-ref'),
    namespace: 'pink',
    initialCapital: 25_000,
    strict: false,
    flattenAtEnd: true,
    sinks: [sink.sink],
  });
  await sink.close();
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A run's rows in every ledger table that records its run, in a canonical order, without
 * the run id and what the monotonic clock measured (`*_us` columns, and those keys and
 * `mono_ns` inside a trade story's JSON text).
 */
async function stored(runId: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  const withRunId = await ch.rows<{ table: string }>(
    `SELECT table FROM system.columns WHERE database = '${DB}' AND name = 'run_id'`,
  );
  expect(withRunId.length).toBeGreaterThan(6);
  for (const { table } of withRunId) {
    const rows = await ch.rows(`SELECT * EXCEPT run_id FROM ${DB}.${table} WHERE run_id = '${runId}'`);
    const timeless = rows.map((r) =>
      Object.entries(r)
        .filter(([k]) => !k.endsWith('_us'))
        .map(([k, v]) => [
          k,
          typeof v === 'string' ? v.replace(/(_us"):-?[\d.e+-]+|("mono_ns"):"\d+"/g, '$1$2:0') : v,
        ]),
    );
    out[table] = timeless.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

describe('a ledger that encodes rows as they are queued', () => {
  it('stores what the row-keeping ledger stores, in every table, and hands the engine encoded batches', async () => {
    const plain = await bulkLedger('plain', false);
    await replayInto(plain.ledger);
    await plain.ledger.close();
    const bulk = await bulkLedger('bulk', true);
    await replayInto(bulk.ledger);
    await bulk.ledger.close();

    const [a, b] = [await stored('plain'), await stored('bulk')];
    expect(Object.values(b).flat().length).toBeGreaterThan(4000);
    for (const table of ['v7_decision_events', 'trade_events', 'trade_reconstruction', 'position_state'])
      expect(b[table]!.length, table).toBeGreaterThan(0);
    expect(b).toEqual(a);
    // trade_exit_legs has no run_id column: its rows are counted here only.
    expect(bulk.ledger.health().rowsWritten).toBe(plain.ledger.health().rowsWritten);
    expect(bulk.ledger.health().rowsWritten).toBeGreaterThan(Object.values(b).flat().length);
    expect(bulk.seen.encoded).toBeGreaterThan(5);
    expect(plain.seen.encoded).toBe(0);
  }, 120_000);

  it('spools an encoded batch as its rows while inserts fail; they land once ClickHouse answers, stored once', async () => {
    const faulty = new FaultyClient(ch.client);
    const { ledger, spoolDir } = await bulkLedger('spooled', true, faulty);
    const rows = Array.from({ length: 50 }, (_, i) => positionRow('spooled', i));
    faulty.failing = true;
    ledger.insert('position_state', rows.slice(0, 30));
    await ledger.flush();
    expect(ledger.health().spoolDepth).toBe(1);
    const [spooled] = await Promise.all(
      new FileSpool(spoolDir).list().map((e) => new FileSpool(spoolDir).read(e)),
    );
    expect(spooled!.rows).toHaveLength(30);
    expect(spooled!.rows[7]).toMatchObject({ event_seq: 7, asset: 'BTCUSDT', size: 7.5, detail: 'row 7' });
    faulty.failAfterInsert = 1; // the first try after the outage reaches ClickHouse and loses its answer
    faulty.failing = false;
    ledger.insert('position_state', rows.slice(30));
    await ledger.flush();
    await until(() => ledger.health().spoolDepth === 0);
    await ledger.close();
    const got = await ch.rows<{ event_seq: string; size: number }>(
      `SELECT event_seq, size FROM ${DB}.position_state WHERE run_id = 'spooled' ORDER BY event_seq`,
    );
    expect(got.map((r) => Number(r.event_seq))).toEqual(rows.map((_, i) => i));
    expect(got[7]!.size).toBe(7.5);
  }, 60_000);

  it('a row the encoder refuses goes the JSON way to quarantine; the rows around it land', async () => {
    const errors: string[] = [];
    const { ledger, spoolDir } = await bulkLedger('refused', true, ch.client, (m) => errors.push(m));
    const bad = { ...positionRow('refused', 1), not_a_column: 'x' };
    expect(() =>
      ledger.insert('position_state', [positionRow('refused', 0), bad, positionRow('refused', 2)]),
    ).not.toThrow();
    await ledger.flush();
    await until(() => ledger.health().spoolDepth === 0);
    await ledger.close();
    const got = await ch.rows<{ event_seq: string }>(
      `SELECT event_seq FROM ${DB}.position_state WHERE run_id = 'refused' ORDER BY event_seq`,
    );
    expect(got.map((r) => Number(r.event_seq))).toEqual([0, 2]);
    expect(ledger.health().rowsQuarantined).toBe(1);
    expect(errors.join('\n')).toMatch(/not_a_column/);
    expect(new FileSpool(spoolDir).depth()).toBe(0);
  }, 60_000);

  it("an appender's append is all or nothing", async () => {
    const staged = new StagedBatchWriter(ch.client, ch.tmp('appender'));
    await staged.prepare(DB, ['position_state']);
    const appender = staged.appender(DB, 'position_state', 10) as RowBinaryAppender;
    appender.append([positionRow('a', 0)]);
    const before = appender.bytes;
    expect(() => appender.append([positionRow('a', 1), { ...positionRow('a', 2), size: 'lots' }])).toThrow(
      /position_state row 1 column size: "lots" is not a number/,
    );
    expect(appender.bytes).toBe(before);
    expect(appender.count).toBe(1);
    expect(staged.appender(DB, 'no_such_table', 10)).toBeNull();
  });
});

/** A position_state row; `seq` orders them (event_seq) and sizes them (size = seq + 0.5). */
function positionRow(runId: string, seq: number) {
  return {
    ts: '2026-05-20 12:00:00.000',
    strategy: 'pink',
    run_id: runId,
    event_seq: seq,
    trade_id: `${runId}-T-${seq}`,
    state: 'POSITION_UPDATED',
    asset: 'BTCUSDT',
    side: 'SHORT',
    size: seq + 0.5,
    client_order_id: `c${seq}`,
    exchange_order_id: '',
    detail: `row ${seq}`,
  };
}
