/**
 * Post-fill markouts (issue #18, item 3). The tracker against a brute-force oracle over
 * random price paths (the market as of fill + h is the last scan price at or before that
 * instant, known at the first scan at or after it, never a later price); then the whole
 * path: a replay whose markout events become new execution_quality versions, each an
 * unchanged copy of the order's row plus the markouts, checked against the scan file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CanonicalEvent,
  MARKOUT_HORIZONS_S,
  type MarkoutEvent,
  type OrderEvent,
} from '../src/domain/events.js';
import { getOrCreate } from '../src/domain/maps.js';
import { MarkoutTracker, markoutBps } from '../src/execution/markouts.js';
import { type ExecutionQuality, markoutColumn, TradeStoryCollector } from '../src/execution/trade-story.js';
import { replaySynthetic } from './support/synthetic-replay.js';

const dir = mkdtempSync(join(tmpdir(), 'pink-markouts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Tick {
  readonly ts: number;
  /** undefined: the asset is not in this scan (the board keeps its last price). */
  readonly price: number | undefined;
}

const orderDone = (o: Partial<OrderEvent> & Pick<OrderEvent, 'ts' | 'purpose'>): OrderEvent => ({
  type: 'order',
  monoNs: 0n,
  milestone: 'REFLECTED',
  tradeId: 'T1',
  clientOrderId: 'C1',
  exchangeOrderId: 'X1',
  asset: 'BTCUSDT',
  qty: 1,
  filledQty: 1,
  avgPrice: 100,
  referencePrice: 100,
  arrivalPrice: 100,
  arrivalSource: 'scan_price_at_submit',
  venueAckTs: 0,
  reason: '',
  ...o,
});

/** The markouts the definition gives: for each horizon not already past at registration. */
function oracle(
  ticks: readonly Tick[],
  r: number,
  fillTs: number,
  side: 'BUY' | 'SELL',
  avg: number,
): Map<number, { ts: number; horizonS: number; markPrice: number; bps: number }[]> {
  const board: (number | undefined)[] = [];
  for (const [i, t] of ticks.entries()) board.push(t.price ?? (i > 0 ? board[i - 1] : undefined));
  const byTs = new Map<number, { ts: number; horizonS: number; markPrice: number; bps: number }[]>();
  for (const h of MARKOUT_HORIZONS_S) {
    const at = fillTs + h * 1000;
    if (ticks[r]!.ts > at) continue; // already past when the order was done: unknown
    const k = ticks.findIndex((t, i) => i > r && t.ts >= at);
    if (k < 0) continue; // not yet passed
    const mark = ticks[k]!.ts === at ? board[k] : board[k - 1];
    if (mark === undefined) continue;
    const list = byTs.get(ticks[k]!.ts) ?? [];
    list.push({ ts: ticks[k]!.ts, horizonS: h, markPrice: mark, bps: markoutBps(side, avg, mark) });
    byTs.set(ticks[k]!.ts, list);
  }
  return byTs;
}

describe('MarkoutTracker', () => {
  it('gives, per horizon, the last price at or before fill + h, once, at the first scan at or after it', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            gap: fc.integer({ min: 1, max: 90_000 }),
            price: fc.option(fc.double({ min: 1, max: 1e5, noNaN: true }), { freq: 6 }),
          }),
          { minLength: 2, maxLength: 80 },
        ),
        fc.nat(),
        fc.integer({ min: 0, max: 400_000 }),
        fc.constantFrom('LONG', 'SHORT'),
        fc.constantFrom('ENTRY', 'EXIT'),
        fc.double({ min: 1, max: 1e5, noNaN: true }),
        (raw, rPick, age, tradeSide, purpose, avg) => {
          let ts = 1_700_000_000_000;
          const ticks: Tick[] = raw.map((x) => {
            ts += x.gap;
            return { ts, price: x.price ?? undefined };
          });
          const r = rPick % ticks.length;
          const fillTs = ticks[r]!.ts - Math.min(age, ticks[r]!.ts - ticks[0]!.ts);
          const board = new Map<string, number>();
          let now = 0;
          const tracker = new MarkoutTracker({ price: (a) => board.get(a), now: () => now });
          const got: MarkoutEvent[] = [];
          for (const [i, t] of ticks.entries()) {
            now = t.ts;
            if (t.price !== undefined) board.set('BTCUSDT', t.price);
            got.push(...tracker.onScan(t.ts));
            if (i !== r) continue;
            const events: CanonicalEvent[] = [
              {
                type: 'lifecycle',
                ts: t.ts,
                tradeId: 'T1',
                state: 'POSITION_OPENED',
                asset: 'BTCUSDT',
                side: tradeSide,
                size: 1,
                clientOrderId: 'C1',
                exchangeOrderId: 'X1',
                detail: '',
              },
              {
                type: 'fill',
                ts: fillTs,
                tradeId: 'T1',
                clientOrderId: 'C1',
                exchangeOrderId: 'X1',
                fillId: 'F1',
                asset: 'BTCUSDT',
                purpose,
                qty: 1,
                price: avg,
                fee: 0,
                realizedPnl: 0,
              },
              orderDone({ ts: t.ts, purpose, avgPrice: avg }),
            ];
            for (const e of events) tracker.observe(e);
          }
          const side = (tradeSide === 'LONG') === (purpose === 'ENTRY') ? 'BUY' : 'SELL';
          const expected = oracle(ticks, r, fillTs, side, avg);
          expect(got.map((e) => [e.ts, e.markouts.map((m) => [m.horizonS, m.markPrice, m.bps])])).toEqual(
            [...expected.entries()].map(([at, ms]) => [at, ms.map((m) => [m.horizonS, m.markPrice, m.bps])]),
          );
          for (const e of got) {
            expect(e).toMatchObject({
              clientOrderId: 'C1',
              tradeId: 'T1',
              orderSide: side,
              fillTs,
              avgFillPrice: avg,
            });
          }
          // Nothing is waiting once the last horizon has passed (or could no longer be known).
          if (ticks.at(-1)!.ts >= fillTs + 300_000) expect(tracker.waiting).toBe(0);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('gives nothing for an order that did not fill, or whose trade side it never saw', () => {
    const board = new Map([['BTCUSDT', 100]]);
    let now = 1_000_000;
    const tracker = new MarkoutTracker({ price: (a) => board.get(a), now: () => now });
    tracker.observe(orderDone({ ts: now, purpose: 'ENTRY' })); // no lifecycle: side unknown
    tracker.observe({
      type: 'lifecycle',
      ts: now,
      tradeId: 'T2',
      state: 'POSITION_OPENED',
      asset: 'BTCUSDT',
      side: 'LONG',
      size: 1,
      clientOrderId: 'C2',
      exchangeOrderId: '',
      detail: '',
    });
    tracker.observe(
      orderDone({
        ts: now,
        purpose: 'ENTRY',
        tradeId: 'T2',
        clientOrderId: 'C2',
        filledQty: 0,
        milestone: 'REJECTED',
      }),
    );
    expect(tracker.waiting).toBe(0);
    now += 400_000;
    expect(tracker.onScan(now)).toEqual([]);
  });

  it('signs the move by the order side: positive when the market moved in its favour', () => {
    expect(markoutBps('BUY', 100, 101)).toBeCloseTo(100, 9);
    expect(markoutBps('SELL', 100, 101)).toBeCloseTo(-100, 9);
    expect(markoutBps('SELL', 100, 99)).toBeCloseTo(100, 9);
  });
});

describe('markouts through the pipeline and the ledger records', () => {
  it('adds each passed horizon as a new version of the order row, from the scan file, never editing one', async () => {
    const seed = 7;
    const stories = new TradeStoryCollector();
    const records: ExecutionQuality[] = [];
    const markouts: MarkoutEvent[] = [];
    await replaySynthetic({
      dir,
      scans: 1500,
      seed,
      sim: { seed, slippageBps: 2, slippageJitterBps: 1 },
      sinks: [
        (e) => {
          if (e.type === 'markout') markouts.push(e);
          for (const o of stories.observe(e)) if (o.kind === 'execution_quality') records.push(o.record);
        },
      ],
    });
    const scans = readFileSync(join(dir, `scans-${seed}.jsonl`), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ts: number; assets: Record<string, { price: number }> });
    /** The market as of T: the last scan at or before T quoting the asset. */
    const asOf = (asset: string, at: number) =>
      scans.findLast((s) => s.ts <= at && s.assets[asset])?.assets[asset]?.price;

    const byOrder = new Map<string, ExecutionQuality[]>();
    for (const r of records) getOrCreate(byOrder, r.client_order_id, () => []).push(r);
    const filled = [...byOrder.values()].filter((v) => v[0]!.filled_qty > 0);
    expect(filled.length).toBeGreaterThan(10);
    let checked = 0;
    for (const versions of filled) {
      const base = versions[0]!;
      expect(versions.map((v) => v.row_version)).toEqual(versions.map((_, i) => i));
      expect([base.markout_5s_bps, base.markout_60s_bps, base.markout_300s_bps]).toEqual([null, null, null]);
      for (const [i, v] of versions.entries()) {
        const { row_version, markout_5s_bps, markout_60s_bps, markout_300s_bps, ...rest } = v;
        const {
          row_version: _r,
          markout_5s_bps: _a,
          markout_60s_bps: _b,
          markout_300s_bps: _c,
          ...baseRest
        } = base;
        expect(rest).toEqual(baseRest); // a copy of the row, plus the markouts
        if (i > 0) {
          const prev = versions[i - 1]!;
          for (const h of MARKOUT_HORIZONS_S) {
            const col = markoutColumn(h);
            if (prev[col] !== null) expect(v[col]).toBe(prev[col]); // a known markout never changes
          }
        }
      }
      const last = versions.at(-1)!;
      const fillTs = base.exchange_last_fill_ts!;
      const side = base.order_side as 'BUY' | 'SELL';
      for (const h of MARKOUT_HORIZONS_S) {
        const value = last[markoutColumn(h)];
        if (value === null) continue;
        const mark = asOf(base.asset, fillTs + h * 1000)!;
        expect(value).toBeCloseTo(markoutBps(side, base.avg_fill_price, mark), 9);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(filled.length); // most orders got more than one horizon
    // One version per scan at which something passed, one event per version.
    expect(records.filter((r) => r.row_version > 0)).toHaveLength(markouts.length);
  }, 120_000);
});
