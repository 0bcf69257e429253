/**
 * Exchange-led truth while running (issue: exchange-led recovery, cases 5, 7 and 8):
 * an ambiguous positions answer is never "flat", a manual add grows the trade, and an
 * unreadable fill row is quarantined while every other row is still processed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BingxCcxtVenue, createBingxVenue } from '../src/adapters/bingx/ccxt-venue.js';
import { BingxPayloadError, positionsIn } from '../src/adapters/bingx/normalize.js';
import { type BingxSim, DEFAULT_SIM_CONTRACTS, startBingxSim } from '../src/adapters/bingx/sim-server.js';
import type { VenueFact } from '../src/domain/venue.js';
import { KernelHarness } from './support/kernel-harness.js';
import { orderMaker } from './support/orders.js';

const KEY = 'sim-api-key-truth';
const SECRET = 'sim-api-secret-truth';
const MARKS: Record<string, number> = { 'LTC-USDT': 80, 'XRP-USDT': 0.5 };
const extra = ['LTC', 'XRP'].map((base) => ({ ...DEFAULT_SIM_CONTRACTS[2]!, symbol: `${base}-USDT` }));

let sim: BingxSim;
let venue: BingxCcxtVenue;

beforeAll(async () => {
  sim = await startBingxSim({
    apiKey: KEY,
    apiSecret: SECRET,
    contracts: [...DEFAULT_SIM_CONTRACTS, ...extra],
    marks: MARKS,
    balance: 10_000,
  });
  venue = await createBingxVenue({
    environment: { BINGX_API_KEY: KEY, BINGX_API_SECRET: SECRET },
    baseUrl: sim.url,
    ordersPollMs: 0,
    positionsPollMs: 0,
    accountPollMs: 0,
    fundingPollMs: 0,
    submitTimeoutMs: 700,
    requestTimeoutMs: 1500,
    rateLimitMs: 1,
    streams: false,
  });
});

afterAll(async () => {
  await venue?.close();
  await sim?.close();
});

const order = orderMaker('truth', MARKS, 68000);

async function drainUntil(done: (facts: VenueFact[]) => boolean, ms = 4000): Promise<VenueFact[]> {
  const facts: VenueFact[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    facts.push(...(await venue.drain(Date.now())));
    if (done(facts)) return facts;
    await new Promise((r) => setTimeout(r, 40));
  }
  throw new Error(`condition not met in ${ms} ms; facts: ${JSON.stringify(facts)}`);
}

describe('unknown is never flat', () => {
  it('positionsIn refuses null, a missing list and an object, naming the problem', () => {
    for (const data of [null, undefined, {}, { positions: [] }, 'x'])
      expect(() => positionsIn(data, 0)).toThrow(/positions must be a list .*unknown, not flat/);
    expect(() => positionsIn(null, 0)).toThrow(BingxPayloadError);
    expect(positionsIn([], 0)).toEqual([]);
  });

  it('a positions answer {"code":0,"data":null} while a position is open reports nothing, not a close', async () => {
    await venue.submit(order('LTCUSDT', 'BUY', 1));
    await drainUntil((f) => f.some((x) => x.kind === 'position' && x.asset === 'LTCUSDT' && x.qty === 1));
    sim.control.tamperNextResponses('GET /openApi/swap/v2/user/positions', 3, () => null);
    const during: VenueFact[] = [];
    for (let i = 0; i < 3; i++) during.push(...(await venue.drain(Date.now())));
    expect(during.filter((x) => x.kind === 'position' && x.asset === 'LTCUSDT')).toEqual([]);
    // Start-up cannot read it as flat either: the snapshot fails and says why.
    sim.control.tamperNextResponses('GET /openApi/swap/v2/user/positions', 1, () => null);
    await expect(venue.snapshot()).rejects.toThrow(/positions must be a list/);
    // With a readable answer again the position is there, unchanged.
    const snap = await venue.snapshot();
    expect(snap.positions.find((p) => p.asset === 'LTCUSDT')?.qty).toBe(1);
  });
});

describe('an unreadable fill row', () => {
  it('is quarantined once as a correction while the other rows of every poll are processed', async () => {
    // The bad row stays in every answer (as a venue row would): polls must not stall on it.
    sim.control.tamperNextResponses('GET /openApi/swap/v2/trade/allFillOrders', 10_000, (data) => {
      const d = data as { fill_orders: unknown[] };
      return { ...d, fill_orders: [{ orderId: '999', symbol: 'XRP-USDT', price: 'abc' }, ...d.fill_orders] };
    });
    try {
      await venue.submit(order('XRPUSDT', 'BUY', 10));
      const facts = await drainUntil(
        (f) =>
          f.some((x) => x.kind === 'fill' && x.asset === 'XRPUSDT') && f.some((x) => x.kind === 'order_done'),
      );
      const fills = facts.filter((x) => x.kind === 'fill' && x.asset === 'XRPUSDT');
      expect(fills).toHaveLength(1);
      const anomalies = facts.filter((x) => x.kind === 'anomaly');
      expect(anomalies).toHaveLength(1);
      expect(anomalies[0]).toMatchObject({ what: 'VENUE_ROW_QUARANTINED' });
      expect((anomalies[0] as { detail: string }).detail).toMatch(/"volume" is missing|qty|price/);
      expect(venue.quarantinedCount()).toBe(1);
      // Reported once, however many polls list it.
      for (let i = 0; i < 3; i++)
        expect((await venue.drain(Date.now())).some((x) => x.kind === 'anomaly')).toBe(false);
    } finally {
      sim.control.tamperNextResponses('GET /openApi/swap/v2/trade/allFillOrders', 0, (d) => d);
    }
  });
});

describe('an external add', () => {
  it('grows the trade by the added quantity, with the venue price and fee, and says so', async () => {
    const h = new KernelHarness({
      latencyMs: 0,
      ackMs: 0,
      feeRate: 0.0005,
      slippageBps: 0,
      slippageJitterBps: 0,
    });
    await h.enter('T1', 'SOLUSDT', 2, 100);
    expect(h.kernel.view()?.remainingQty).toBeCloseTo(2, 12);
    h.prices.set('SOLUSDT', 110);
    h.venue.injectExternalAdd('SOLUSDT', 3, h.now + 1000);
    await h.settle(2000);
    expect(h.venue.positionOf('SOLUSDT')).toBeCloseTo(-5, 12);
    const view = h.kernel.view()!;
    expect(view.remainingQty).toBeCloseTo(5, 12);
    expect(view.entryPrice).toBeCloseTo((2 * 100 + 3 * 110) / 5, 9);
    expect(h.account.positionQty).toBeCloseTo(-5, 12);
    const add = h.of('fill').find((f) => f.purpose === 'EXTERNAL');
    expect(add).toMatchObject({ qty: 3, price: 110, tradeId: 'T1' });
    expect(add!.fee).toBeCloseTo(3 * 110 * 0.0005, 12);
    expect(h.of('correction').map((c) => c.what)).toContain('EXTERNAL_ADD');
    // The final exit closes all of it, and the trade closes only when the venue is flat.
    await h.exit('T1', 'SOLUSDT', 1, true, 'TP1', 100);
    await h.settle(1000);
    expect(h.venue.positionOf('SOLUSDT')).toBe(0);
    expect(h.kernel.view()).toBeNull();
    expect(h.of('trade_closed')[0]!.trade.size).toBeCloseTo(5, 12);
  });
});
