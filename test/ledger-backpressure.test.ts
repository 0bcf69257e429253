/**
 * Bounded memory for a replay with the ledger (issue #19, item 1): the ledger's room() holds
 * the reader back while the engine is behind, so the rows (and, encoded as queued, their
 * bytes) waiting in memory stay under the limit whatever the file's length, and every row is
 * still written, in the same order of decisions. On the embedded engine, with small batches
 * so that a short file shows it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InsertBatch, StagedBatchWriter } from '../src/adapters/clickhouse/batch-writer.js';
import { ClickHouseLedger, type PendingLimit } from '../src/adapters/clickhouse/ledger.js';
import { applySchema } from '../src/adapters/clickhouse/schema.js';
import { ClickHouseEventSink } from '../src/adapters/clickhouse/sink.js';
import { runReplay } from '../src/app/replay.js';
import { syntheticScanLines } from '../src/app/simtest/synthetic-scans.js';
import type { CanonicalEvent } from '../src/domain/events.js';
import { decisionLine } from '../src/strategy/decision-log.js';
import { loadStrategy } from '../src/strategy/loader.js';
import { type EmbeddedEngine, openEmbedded, PINK } from './clickhouse-support.js';

const SCANS = 6000;
const BATCH = 400;
const MAX_PENDING = 2 * BATCH;
const NO_LIMIT = Number.POSITIVE_INFINITY;
/** The encoded variant: batches cut at this many bytes, the producer held at four of them. */
const BATCH_BYTES = 32 * 1024;
const MAX_PENDING_BYTES = 4 * BATCH_BYTES;
/** What one scan can add to a table at most, encoded: a few trade stories of ~21 KB each. */
const ONE_SCAN_BYTES = 3 * 25_000;
let ch: EmbeddedEngine;
let data: string;

beforeAll(async () => {
  ch = await openEmbedded('backpressure');
  await applySchema(ch.client, PINK.clickhouseDb, ch.guard);
  data = path.join(ch.dir, 'scans.jsonl');
  writeFileSync(data, `${syntheticScanLines({ scans: SCANS, seed: 5 }).join('\n')}\n`);
});
afterAll(() => ch?.close());

/** The bulk ledger's batches as the staged writer received them (table, rows, bytes). */
type Written = Array<{ table: string; count: number; bytes: number }>;

/**
 * One replay as its own run; the most rows (and encoded bytes) the ledger held at once, and
 * what it wrote. `limit` null: no backpressure. `encoded`: rows encoded as queued, batches
 * cut by bytes too (the bulk ledger of `pink replay`).
 */
async function replay(
  runId: string,
  limit: PendingLimit | null,
  encoded = false,
  readLines: 'inline' | 'worker' = 'inline',
) {
  const batches: Written = [];
  const staged = new StagedBatchWriter(ch.client, ch.tmp(`staging-${runId}`));
  const writer = Object.assign(Object.create(staged) as StagedBatchWriter, {
    write: (b: InsertBatch) => {
      const e = b.encoded;
      batches.push({ table: b.table, count: e ? e.count : b.rows.length, bytes: e ? e.payload.length : 0 });
      return staged.write(b);
    },
  });
  const ledger = new ClickHouseLedger({
    client: ch.client,
    database: PINK.clickhouseDb,
    guard: ch.guard,
    engine: 'embedded',
    spoolDir: ch.tmp(`spool-${runId}`),
    runId,
    batchRows: BATCH,
    ownsClient: false,
    ...(encoded ? { writer, encodeOnQueue: true, batchBytes: BATCH_BYTES, batchRows: 1_000_000 } : {}),
  });
  await ledger.prepare();
  const sink = new ClickHouseEventSink({ ledger, strategy: 'pink', runId: ledger.runId });
  const decisions: string[] = [];
  let peak = 0;
  let peakBytes = 0;
  let waits = 0;
  await runReplay({
    dataPath: data,
    readLines,
    strategy: await loadStrategy('blue-v7-ref'),
    namespace: 'pink',
    initialCapital: 25_000,
    strict: false,
    sinks: [
      sink.sink,
      (e: CanonicalEvent) => {
        if (e.type === 'decision') decisions.push(decisionLine(e.record));
        peak = Math.max(peak, ledger.health().pendingRows);
        peakBytes = Math.max(peakBytes, ledger.health().pendingBytes);
      },
    ],
    ...(limit
      ? {
          room: () => {
            const wait = ledger.room(limit);
            if (wait) waits += 1;
            return wait;
          },
        }
      : {}),
  });
  await sink.close();
  await ledger.close();
  const [row] = await ch.rows<{ n: string }>(
    `SELECT count() AS n FROM ${PINK.clickhouseDb}.v7_decision_events WHERE run_id = '${runId}'`,
  );
  return { peak, peakBytes, waits, decisions, batches, written: Number(row!.n), health: ledger.health() };
}

describe("a replay held back by the ledger's room", () => {
  it("keeps the rows in memory under the limit plus one scan's, writes every row, decides the same", async () => {
    const free = await replay('bp-free', null);
    const held = await replay('bp-held', { rows: MAX_PENDING, bytes: NO_LIMIT });
    // Without backpressure the replay outruns the engine and the queue grows with the file.
    expect(free.peak).toBeGreaterThan(4 * MAX_PENDING);
    // With it: the limit, plus the rows of the one scan that crossed it.
    expect(held.waits).toBeGreaterThan(0);
    expect(held.peak).toBeLessThan(free.peak / 2);
    expect(held.peak).toBeLessThanOrEqual(MAX_PENDING + 50);
    expect(held.decisions).toEqual(free.decisions);
    expect(held.written).toBe(SCANS);
    expect(free.written).toBe(SCANS);
    expect(held.health).toMatchObject({ pendingRows: 0, spoolDepth: 0, lastError: '' });
  }, 120_000);

  it('with rows encoded as queued: batches cut by bytes, the bytes in memory under the limit', async () => {
    const free = await replay('bp-bytes-free', null, true);
    const held = await replay('bp-bytes-held', { rows: NO_LIMIT, bytes: MAX_PENDING_BYTES }, true);
    // The row limit never triggers (a million rows a batch): bytes alone cut the batches.
    // A batch is cut by the insert that crossed the limit, so it may exceed it by one scan's
    // rows for its table; the producer is held between scans, so the same holds for memory.
    const decisionBatches = held.batches.filter((b) => b.table === 'v7_decision_events');
    expect(decisionBatches.length).toBeGreaterThan(3);
    for (const b of held.batches)
      expect(b.bytes, JSON.stringify(b)).toBeLessThan(BATCH_BYTES + ONE_SCAN_BYTES);
    expect(free.peakBytes).toBeGreaterThan(4 * MAX_PENDING_BYTES);
    expect(held.waits).toBeGreaterThan(0);
    expect(held.peakBytes).toBeLessThan(MAX_PENDING_BYTES + ONE_SCAN_BYTES);
    expect(held.decisions).toEqual(free.decisions);
    expect(held.written).toBe(SCANS);
    expect(free.written).toBe(SCANS);
    expect(held.health).toMatchObject({ pendingRows: 0, pendingBytes: 0, spoolDepth: 0, lastError: '' });
  }, 120_000);

  it('with the file read on a worker thread (as over a ClickHouse server): held the same, every row written', async () => {
    const inline = await replay('bp-thread-inline', { rows: MAX_PENDING, bytes: NO_LIMIT });
    const thread = await replay('bp-thread-worker', { rows: MAX_PENDING, bytes: NO_LIMIT }, false, 'worker');
    expect(thread.waits).toBeGreaterThan(0);
    expect(thread.peak).toBeLessThanOrEqual(MAX_PENDING + 50);
    expect(thread.decisions).toEqual(inline.decisions);
    expect(thread.written).toBe(SCANS);
    expect(thread.health).toMatchObject({ pendingRows: 0, spoolDepth: 0, lastError: '' });
  }, 120_000);

  it('room() is null under the limit and on a closed ledger, so a replay never waits for nothing', async () => {
    const ledger = new ClickHouseLedger({
      client: ch.client,
      database: PINK.clickhouseDb,
      guard: ch.guard,
      engine: 'embedded',
      spoolDir: ch.tmp('spool-room'),
      batchRows: BATCH,
      ownsClient: false,
    });
    expect(ledger.room({ rows: 1, bytes: 1 })).toBeNull();
    await ledger.close();
    expect(ledger.room({ rows: 0, bytes: 0 })).toBeNull();
  });
});
