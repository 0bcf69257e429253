/**
 * Bounded memory for a replay with the ledger (issue #19, item 1): the ledger's room() holds
 * the reader back while the engine is behind, so the rows waiting in memory stay under the
 * limit whatever the file's length, and every row is still written, in the same order of
 * decisions. On the embedded engine, with small batches so that a short file shows it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseLedger } from '../src/adapters/clickhouse/ledger.js';
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
let ch: EmbeddedEngine;
let data: string;

beforeAll(async () => {
  ch = await openEmbedded('backpressure');
  await applySchema(ch.client, PINK.clickhouseDb, ch.guard);
  data = path.join(ch.dir, 'scans.jsonl');
  writeFileSync(data, `${syntheticScanLines({ scans: SCANS, seed: 5 }).join('\n')}\n`);
});
afterAll(() => ch?.close());

/** One replay as its own run; the most rows the ledger held at once, and what it wrote. */
async function replay(runId: string, withRoom: boolean) {
  const ledger = new ClickHouseLedger({
    client: ch.client,
    database: PINK.clickhouseDb,
    guard: ch.guard,
    engine: 'embedded',
    spoolDir: ch.tmp(`spool-${runId}`),
    runId,
    batchRows: BATCH,
    ownsClient: false,
  });
  const sink = new ClickHouseEventSink({ ledger, strategy: 'pink', runId: ledger.runId });
  const decisions: string[] = [];
  let peak = 0;
  let waits = 0;
  await runReplay({
    dataPath: data,
    strategy: await loadStrategy('blue-v7-ref'),
    namespace: 'pink',
    initialCapital: 25_000,
    strict: false,
    sinks: [
      sink.sink,
      (e: CanonicalEvent) => {
        if (e.type === 'decision') decisions.push(decisionLine(e.record));
        peak = Math.max(peak, ledger.health().pendingRows);
      },
    ],
    ...(withRoom
      ? {
          room: () => {
            const wait = ledger.room(MAX_PENDING);
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
  return { peak, waits, decisions, written: Number(row!.n), health: ledger.health() };
}

describe("a replay held back by the ledger's room", () => {
  it("keeps the rows in memory under the limit plus one scan's, writes every row, decides the same", async () => {
    const free = await replay('bp-free', false);
    const held = await replay('bp-held', true);
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
    expect(ledger.room(1)).toBeNull();
    await ledger.close();
    expect(ledger.room(0)).toBeNull();
  });
});
