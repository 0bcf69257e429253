/**
 * The whole pipeline (synthetic scans -> strategy -> kernel -> sim venue with fees and
 * slippage) into the ClickHouse event sink on chDB: every event lands in its table,
 * values round-trip, trade stories and execution quality are complete, and capital
 * replay from status_snapshots + trade_events reproduces the live capital.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capitalReplay } from '../src/adapters/clickhouse/capital-replay.js';
import { ClickHouseLedger } from '../src/adapters/clickhouse/ledger.js';
import { msFromChTs } from '../src/adapters/clickhouse/rows.js';
import { applySchema } from '../src/adapters/clickhouse/schema.js';
import { ClickHouseEventSink } from '../src/adapters/clickhouse/sink.js';
import { DEFAULT_SIM_VENUE } from '../src/adapters/sim/sim-venue.js';
import { runReplay } from '../src/app/replay.js';
import { syntheticScanLines } from '../src/app/simtest/synthetic-scans.js';
import type { CanonicalEvent } from '../src/domain/events.js';
import { EXIT_LEG_COLUMNS } from '../src/domain/exit-legs.js';
import { loadStrategy } from '../src/strategy/loader.js';
import { type EmbeddedEngine, openEmbedded, PINK } from './clickhouse-support.js';

const DB = PINK.clickhouseDb;
let ch: EmbeddedEngine;
let ledger: ClickHouseLedger;
let sink: ClickHouseEventSink;
const events: CanonicalEvent[] = [];
let liveCapital = 0;
const SCANS = 1500;

/**
 * An insert outside the ledger. Always with its own token: on chDB a per-query setting
 * stays on the session, so an insert without one would reuse the ledger's last token and
 * be dropped as a duplicate.
 */
const rawInsert = (table: string, values: Record<string, unknown>[], token: string) =>
  ch.client.insert({
    table: `${DB}.${table}`,
    values,
    format: 'JSONEachRow',
    clickhouse_settings: { insert_deduplication_token: `test:${token}` },
  });

const of = <T extends CanonicalEvent['type']>(t: T) =>
  events.filter((e): e is Extract<CanonicalEvent, { type: T }> => e.type === t);

beforeAll(async () => {
  ch = await openEmbedded('sink');
  await applySchema(ch.client, DB, ch.guard);
  ledger = new ClickHouseLedger({
    client: ch.client,
    database: DB,
    guard: ch.guard,
    engine: 'embedded',
    spoolDir: ch.tmp('spool'),
    runId: 'sink-run',
    batchRows: 500,
    ownsClient: false,
  });
  sink = new ClickHouseEventSink({ ledger, strategy: 'pink', runId: ledger.runId });
  const data = path.join(ch.dir, 'scans.jsonl');
  writeFileSync(data, `${syntheticScanLines({ scans: SCANS, seed: 11 }).join('\n')}\n`);
  let lines = 0;
  const result = await runReplay({
    dataPath: data,
    strategy: await loadStrategy('blue-v7-ref'),
    namespace: 'pink',
    initialCapital: 25_000,
    strict: false,
    sim: { seed: 3, feeRate: 0.0005, slippageBps: 2, slippageJitterBps: 1, partialFills: 2 },
    sinks: [sink.sink, (e) => events.push(e)],
    // After the last scan: an operator FLATTEN, so the run ends flat and the live capital is final.
    between: async (pipeline) => {
      if (++lines === SCANS) await pipeline.flatten(pipeline.lastTs);
    },
  });
  liveCapital = result.account.capital;
  await sink.close();
});
afterAll(async () => {
  await ledger.close();
  await ch.close();
});

describe('ClickHouseEventSink over a full replay', () => {
  it('ran a run worth checking (trades with several legs, fills, status ticks)', () => {
    expect(of('trade_closed').length).toBeGreaterThanOrEqual(5);
    expect(of('exit_leg').length).toBeGreaterThan(of('trade_closed').length);
    expect(of('status').length).toBeGreaterThan(5);
    expect(ledger.health()).toMatchObject({ spoolDepth: 0, reachable: true, lastError: '' });
  });

  it('writes one row per event for the stateless tables', async () => {
    expect(await ch.count('v7_decision_events')).toBe(of('decision').length);
    expect(await ch.count('position_state')).toBe(of('lifecycle').length);
    expect(await ch.count('trade_events')).toBe(of('trade_closed').length);
    expect(await ch.count('trade_exit_legs')).toBe(of('exit_leg').length);
    expect(await ch.count('adaptive_exit_shadow')).toBe(of('shadow_exit').length);
    expect(await ch.count('status_snapshots')).toBe(of('status').length + of('capital_adjusted').length);
    expect(await ch.count('account_events')).toBe(sink.counters().volume.written);
    expect(await ch.count('account_events_debug')).toBe(0);
  });

  it('round-trips decision rows, with hashes, in scan order', async () => {
    const rows = await ch.rows<Record<string, unknown>>(
      `SELECT * FROM ${DB}.v7_decision_events ORDER BY event_seq`,
    );
    const decisions = of('decision');
    rows.forEach((r, i) => {
      const d = decisions[i]!;
      expect({ ...r, ts: msFromChTs(String(r.ts)) }).toMatchObject({
        ...d.record,
        decision_hash: d.decisionHash,
        chain_hash: d.chainHash,
        strategy: 'pink',
        run_id: 'sink-run',
      });
    });
  });

  it('trade_exit_legs rows carry exactly the reference columns and the event values', async () => {
    const rows = await ch.rows<Record<string, unknown>>(
      `SELECT * FROM ${DB}.trade_exit_legs ORDER BY trade_id, exit_seq`,
    );
    const legs = of('exit_leg')
      .map((e) => e.row)
      .sort((a, b) => a.trade_id.localeCompare(b.trade_id) || a.exit_seq - b.exit_seq);
    expect(Object.keys(rows[0]!)).toEqual([...EXIT_LEG_COLUMNS]);
    rows.forEach((r, i) => {
      expect({ ...r, ts: msFromChTs(String(r.ts)) }).toEqual({ ...legs[i] });
    });
  });

  it('trade_events round-trip the terminal record', async () => {
    const rows = await ch.rows<Record<string, unknown>>(
      `SELECT * FROM ${DB}.trade_events FINAL ORDER BY exit_ts`,
    );
    const trades = of('trade_closed').map((e) => e.trade);
    expect(rows.map((r) => r.trade_id)).toEqual(trades.map((t) => t.tradeId));
    const [r, t] = [rows[0]!, trades[0]!];
    expect(r).toMatchObject({ pnl: t.pnl, fees: t.fees, funding: t.funding, capital_after: t.capitalAfter });
    expect(r.net_pnl).toBeCloseTo(t.pnl - t.fees - t.funding, 9);
    expect(msFromChTs(String(r.entry_ts))).toBe(t.entryTs);
  });

  it('writes one complete trade_reconstruction story per closed trade', async () => {
    const stories = await ch.rows<Record<string, string>>(
      `SELECT * FROM ${DB}.trade_reconstruction FINAL WHERE status = 'CLOSED' ORDER BY trade_id`,
    );
    const closed = of('trade_closed')
      .map((e) => e.trade.tradeId)
      .sort();
    expect(stories.map((s) => s.trade_id)).toEqual(closed);
    for (const s of stories) {
      const id = s.trade_id!;
      const json = (k: string) => JSON.parse(s[k]!) as Array<Record<string, unknown>>;
      expect(json('decisions')[0]).toMatchObject({ action: 'ENTER' });
      expect(json('intents').length).toBeGreaterThanOrEqual(2);
      expect(json('lifecycle').map((l) => l.state)).toContain('POSITION_CLOSED');
      expect(json('fills').length).toBe(of('fill').filter((f) => f.tradeId === id).length);
      expect(json('legs').length).toBe(of('exit_leg').filter((l) => l.row.trade_id === id).length);
      expect(json('latencies').length).toBeGreaterThanOrEqual(2);
    }
  });

  it('writes one execution_quality row per order (version 0) with latency legs, slippage and fees', async () => {
    const orderIds = new Set(of('order').map((o) => o.clientOrderId));
    const rows = await ch.rows<Record<string, unknown>>(
      `SELECT * FROM ${DB}.execution_quality WHERE row_version = 0 ORDER BY event_seq`,
    );
    expect(rows.map((r) => r.client_order_id).sort()).toEqual([...orderIds].sort());
    const filled = rows.filter((r) => Number(r.filled_qty) > 0);
    expect(filled.length).toBeGreaterThan(0);
    for (const r of filled) {
      expect(r.decision_to_submit_us).not.toBeNull();
      expect(r.submit_to_ack_us).not.toBeNull();
      expect(r.slippage_vs_reference_bps).not.toBeNull();
      expect(['SELL', 'BUY']).toContain(r.order_side);
      expect(r.exchange_first_fill_ts).not.toBeNull();
      // The venue's own clock: it accepted the order ackMs after it left, before its first fill.
      const venueAck = msFromChTs(String(r.exchange_ack_ts));
      expect(venueAck - msFromChTs(String(r.submit_ts))).toBe(DEFAULT_SIM_VENUE.ackMs);
      expect(venueAck).toBeLessThan(msFromChTs(String(r.exchange_first_fill_ts)));
      const fees = of('fill')
        .filter((f) => f.clientOrderId === r.client_order_id)
        .reduce((a, f) => a + f.fee, 0);
      expect(Number(r.fees)).toBeCloseTo(fees, 9);
    }
    // Slippage on the sim is a cost (configured 2 bps +- 1 against us).
    const mean = filled.reduce((a, r) => a + Number(r.slippage_vs_reference_bps), 0) / filled.length;
    expect(mean).toBeGreaterThan(0);
  });

  it('capital replay reproduces the live capital to 1e-9 from snapshots and from trades', async () => {
    const r = await capitalReplay(ledger, { liveCapital });
    expect(r.trades).toBeGreaterThan(0);
    expect(Math.abs(r.diffTrades!)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(r.diffSnapshots!)).toBeLessThanOrEqual(1e-9);
    expect(r.ok).toBe(true);
  });

  it('capital replay is not fooled by a terminal row stored twice', async () => {
    const [t] = await ch.rows<Record<string, unknown>>(`SELECT * FROM ${DB}.trade_events LIMIT 1`);
    await rawInsert('trade_events', [t!], 'dup-terminal');
    const r = await capitalReplay(ledger, { liveCapital });
    expect(r.duplicateTradeRows).toBe(1);
    expect(r.ok).toBe(true);
  });

  it('capital replay counts a command re-applied after a crash once (the last row holds)', async () => {
    const [last] = await ch.rows<Record<string, unknown>>(
      `SELECT * FROM ${DB}.status_snapshots ORDER BY ts DESC, event_seq DESC LIMIT 1`,
    );
    // The killed process's row, then the restarted runtime's: same command, same delta.
    const row = (ms: string, seq: number) => ({
      ...last,
      ts: String(last!.ts).replace(/\.\d+$/, ms),
      event_seq: Number(last!.event_seq) + seq,
      kind: 'SET_CAPITAL',
      capital: liveCapital + 1000,
      equity: liveCapital + 1000,
      capital_delta: 1000,
      command_id: 'crash-cmd',
    });
    await rawInsert('status_snapshots', [row('.997', 1)], 'crash-cmd-1');
    await rawInsert('status_snapshots', [row('.998', 2)], 'crash-cmd-2');
    try {
      const r = await capitalReplay(ledger, { liveCapital: liveCapital + 1000 });
      expect(r).toMatchObject({ duplicateCommandRows: 1, ok: true });
      // Counted twice, as before oncePerCommand, the replay would be 1000 over.
      expect(r.fromSnapshots).toBeCloseTo(liveCapital + 1000, 9);
    } finally {
      await ch.client.command({
        query: `ALTER TABLE ${DB}.status_snapshots DELETE WHERE command_id = 'crash-cmd' SETTINGS mutations_sync = 2`,
      });
    }
    expect((await capitalReplay(ledger, { liveCapital })).ok).toBe(true);
  });

  it('capital replay with a trade still open checks up to the last close and reports the open effect', async () => {
    const [last] = await ch.rows<Record<string, unknown>>(
      `SELECT * FROM ${DB}.status_snapshots ORDER BY ts DESC, event_seq DESC LIMIT 1`,
    );
    const entryFee = 3.25;
    const openRow = {
      ...last,
      ts: String(last!.ts).replace(/\.\d+$/, '.999'),
      event_seq: Number(last!.event_seq) + 1,
      capital: liveCapital - entryFee,
      open_trade_id: 'BTCUSDT-T-999999999999',
    };
    await rawInsert('status_snapshots', [openRow], 'open-tick');
    const r = await capitalReplay(ledger, { liveCapital: liveCapital - entryFee });
    expect(r).toMatchObject({
      targetSource: 'last_trade_capital_after',
      openTradeId: 'BTCUSDT-T-999999999999',
    });
    expect(r.openTradeEffect).toBeCloseTo(-entryFee, 9);
    expect(r.ok).toBe(true);
    // A terminal row whose numbers disagree with the snapshots is caught.
    const [t] = await ch.rows<Record<string, unknown>>(
      `SELECT * FROM ${DB}.trade_events FINAL ORDER BY ts DESC LIMIT 1`,
    );
    await rawInsert('trade_events', [{ ...t, pnl: Number(t!.pnl) + 1 }], 'bad-terminal');
    const bad = await capitalReplay(ledger, { liveCapital: liveCapital - entryFee });
    expect(bad.ok).toBe(false);
    expect(bad.diffTrades).toBeCloseTo(1, 6);
  });
});
