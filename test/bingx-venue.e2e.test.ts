/**
 * The `bingx` venue end to end: PINK venue -> ccxt.bingx -> HTTP (127.0.0.1) -> the
 * BingX-protocol simulator. One simulator and one venue for the file (markets load
 * once); each test trades its own symbol so tests do not see each other's positions.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BingxCcxtVenue,
  BingxFatalError,
  type BingxVenueConfig,
  createBingxVenue,
} from '../src/adapters/bingx/ccxt-venue.js';
import { BingxSafetyError } from '../src/adapters/bingx/safety.js';
import { type BingxSim, DEFAULT_SIM_CONTRACTS, startBingxSim } from '../src/adapters/bingx/sim-server.js';
import type { FillFact, PositionFact, VenueFact } from '../src/domain/venue.js';
import { SubmitOutcomeUnknown } from '../src/domain/venue.js';
import { expectOneAckAndVenueTime, orderMaker } from './support/orders.js';

const KEY = 'sim-api-key-0001';
const SECRET = 'sim-api-secret-0001';
const extra = ['LTC', 'XRP', 'DOGE', 'BNB', 'ADA', 'AVAX', 'TRX'].map((base) => ({
  ...DEFAULT_SIM_CONTRACTS[2]!,
  symbol: `${base}-USDT`,
}));
const MARKS: Record<string, number> = {
  'LTC-USDT': 80,
  'XRP-USDT': 0.5,
  'DOGE-USDT': 0.2,
  'BNB-USDT': 600,
  'ADA-USDT': 0.4,
  'AVAX-USDT': 30,
  'TRX-USDT': 0.25,
};

let sim: BingxSim;
let venue: BingxCcxtVenue;

function venueConfig(over: Partial<BingxVenueConfig> = {}): BingxVenueConfig {
  return {
    environment: { BINGX_API_KEY: KEY, BINGX_API_SECRET: SECRET },
    baseUrl: sim.url,
    ordersPollMs: 0,
    positionsPollMs: 0,
    accountPollMs: 0,
    fundingPollMs: 0,
    submitTimeoutMs: 700,
    requestTimeoutMs: 1500,
    rateLimitMs: 1,
    ...over,
  };
}

beforeAll(async () => {
  sim = await startBingxSim({
    apiKey: KEY,
    apiSecret: SECRET,
    contracts: [...DEFAULT_SIM_CONTRACTS, ...extra],
    marks: MARKS,
    balance: 10_000,
  });
  venue = await createBingxVenue(venueConfig());
});

afterAll(async () => {
  await venue?.close();
  await sim?.close();
});

const order = orderMaker('e2e', MARKS, 68000);

/** Drains until `done(facts)` holds (or fails after `ms`), returning every fact seen. */
async function drainUntil(done: (facts: VenueFact[]) => boolean, ms = 4000, v = venue): Promise<VenueFact[]> {
  const facts: VenueFact[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    facts.push(...(await v.drain(Date.now())));
    if (done(facts)) return facts;
    await new Promise((r) => setTimeout(r, 40));
  }
  throw new Error(`condition not met in ${ms} ms; facts: ${JSON.stringify(facts)}`);
}

const of = <K extends VenueFact['kind']>(facts: VenueFact[], kind: K) =>
  facts.filter((f): f is Extract<VenueFact, { kind: K }> => f.kind === kind);
const lastPosition = (facts: VenueFact[], asset: string): PositionFact | undefined =>
  of(facts, 'position')
    .filter((p) => p.asset === asset)
    .at(-1);

describe('bingx venue through ccxt against the simulator', () => {
  it('enters a market short: ack, fill, FILLED, then a short position, in that order', async () => {
    const o = order('BTCUSDT', 'SELL', 0.01234);
    await venue.submit(o);
    const facts = await drainUntil((f) => lastPosition(f, 'BTCUSDT')?.qty === -0.0123);
    const kinds = facts.filter((f) => f.kind !== 'position' || f.asset === 'BTCUSDT').map((f) => f.kind);
    expect(kinds.indexOf('ack')).toBeLessThan(kinds.indexOf('fill'));
    expect(kinds.indexOf('fill')).toBeLessThan(kinds.indexOf('order_done'));
    const [fill] = of(facts, 'fill');
    // 0.01234 rounded to the contract step (4 decimals) at the boundary
    expect(fill).toMatchObject({
      clientOrderId: o.clientOrderId,
      side: 'SELL',
      qty: 0.0123,
      price: 68000,
      liquidation: false,
    });
    expect(fill!.fee).toBeCloseTo(0.0123 * 68000 * 0.0005, 9);
    expect(of(facts, 'order_done')[0]).toMatchObject({ status: 'FILLED', filledQty: 0.0123 });
    expect(lastPosition(facts, 'BTCUSDT')).toMatchObject({ qty: -0.0123, entryPrice: 68000 });
    const placed = sim.control.books().orders.find((x) => x.clientOrderId === o.clientOrderId);
    expect(placed).toMatchObject({ side: 'SELL', positionSide: 'BOTH', reduceOnly: false, status: 'FILLED' });
  });

  it('fills a market order in several fills over time, each reported once', async () => {
    sim.control.setPartialFills(3, 150);
    try {
      const o = order('ETHUSDT', 'BUY', 0.3);
      await venue.submit(o);
      const facts = await drainUntil((f) =>
        of(f, 'order_done').some((d) => d.clientOrderId === o.clientOrderId),
      );
      const fills = of(facts, 'fill').filter((f) => f.clientOrderId === o.clientOrderId);
      expect(fills).toHaveLength(3);
      expect(new Set(fills.map((f) => f.fillId)).size).toBe(3);
      expect(fills.reduce((s, f) => s + f.qty, 0)).toBeCloseTo(0.3, 9);
      const sizes = of(facts, 'position')
        .filter((p) => p.asset === 'ETHUSDT')
        .map((p) => p.qty);
      expect(sizes.at(-1)).toBeCloseTo(0.3, 9);
      expect(sizes.length).toBeGreaterThanOrEqual(2); // the position was seen growing
    } finally {
      sim.control.setPartialFills(1, 0);
    }
  });

  it('insufficient margin comes back as a RejectFact with the BingX code', async () => {
    const o = order('SOLUSDT', 'BUY', 1000); // 150 000 USDT at 5x needs 30 000 margin
    await venue.submit(o);
    const facts = await drainUntil((f) => of(f, 'reject').length > 0);
    expect(of(facts, 'reject')[0]).toMatchObject({
      clientOrderId: o.clientOrderId,
      code: '101204',
      reason: expect.stringMatching(/InsufficientFunds.*Insufficient margin/),
    });
    sim.control.rejectNextOrders(1, 101415, 'pair suspended');
    const o2 = order('SOLUSDT', 'BUY', 1);
    await venue.submit(o2);
    const again = await drainUntil((f) => of(f, 'reject').length > 0);
    expect(of(again, 'reject')[0]).toMatchObject({ clientOrderId: o2.clientOrderId, code: '101415' });
  });

  it('an order below the minimum is refused at the boundary, naming the minimum, without a request', async () => {
    const before = sim.control.books().requests['POST /openApi/swap/v2/trade/order'] ?? 0;
    const o = order('BTCUSDT', 'BUY', 0.00004);
    await venue.submit(o);
    const [reject] = of(await venue.drain(Date.now()), 'reject');
    expect(reject).toMatchObject({
      code: 'MIN_QTY',
      reason: expect.stringMatching(/below the minimum 0\.0001 for BTC-USDT/),
    });
    const tiny = order('XRPUSDT', 'BUY', 3); // 3 × 0.5 = 1.5 USDT < 2 USDT
    await venue.submit(tiny);
    const [r2] = of(await venue.drain(Date.now()), 'reject');
    expect(r2).toMatchObject({
      code: 'MIN_NOTIONAL',
      reason: expect.stringMatching(/below the minimum 2 USDT for XRP-USDT/),
    });
    expect(sim.control.books().requests['POST /openApi/swap/v2/trade/order'] ?? 0).toBe(before);
  });

  it('a lost submit response: SubmitOutcomeUnknown, lookup finds it, a retry never duplicates', async () => {
    sim.control.dropNextOrderResponses(1, 'hang');
    const o = order('XRPUSDT', 'BUY', 100);
    await expect(venue.submit(o)).rejects.toBeInstanceOf(SubmitOutcomeUnknown);
    const found = await venue.lookup(o.clientOrderId, o.asset);
    expect(found).toMatchObject({ found: true, status: 'FILLED', filledQty: 100 });
    await venue.submit(o); // the kernel's resubmit under the same client id
    const onBook = sim.control.books().orders.filter((x) => x.clientOrderId === o.clientOrderId);
    expect(onBook).toHaveLength(1);
    const facts = await drainUntil((f) =>
      of(f, 'order_done').some((d) => d.clientOrderId === o.clientOrderId),
    );
    expectOneAckAndVenueTime(facts, o.clientOrderId, onBook[0]!.time);
    expect(of(facts, 'fill').filter((x) => x.clientOrderId === o.clientOrderId)).toHaveLength(1);
    expect(await venue.lookup('pk-never-sent-e1', 'XRPUSDT')).toEqual({ found: false });
  });

  it('a reset connection on submit is also an unknown outcome, and the order is found', async () => {
    sim.control.dropNextOrderResponses(1, 'reset');
    const o = order('XRPUSDT', 'SELL', 100, { reduceOnly: true });
    await expect(venue.submit(o)).rejects.toBeInstanceOf(SubmitOutcomeUnknown);
    expect(await venue.lookup(o.clientOrderId, o.asset)).toMatchObject({ found: true, status: 'FILLED' });
    const facts = await drainUntil((f) => lastPosition(f, 'XRPUSDT')?.qty === 0);
    expect(of(facts, 'fill').find((x) => x.clientOrderId === o.clientOrderId)).toMatchObject({
      side: 'SELL',
      qty: 100,
    });
  });

  it('an external close and a liquidation each produce a fill without client id and a position of 0', async () => {
    await venue.submit(order('LTCUSDT', 'BUY', 2));
    await drainUntil((f) => lastPosition(f, 'LTCUSDT')?.qty === 2);
    sim.control.setMark('LTCUSDT', 82);
    sim.control.externalClose('LTC-USDT');
    const closed = await drainUntil((f) => lastPosition(f, 'LTCUSDT')?.qty === 0);
    expect(of(closed, 'fill')).toEqual([
      expect.objectContaining({ clientOrderId: '', side: 'SELL', qty: 2, price: 82, liquidation: false }),
    ]);
    expect(lastPosition(closed, 'LTCUSDT')).toMatchObject({ qty: 0, entryPrice: 0 });

    await venue.submit(order('LTCUSDT', 'SELL', 1, { referencePrice: 82 }));
    await drainUntil((f) => lastPosition(f, 'LTCUSDT')?.qty === -1);
    sim.control.setMark('LTCUSDT', 95);
    sim.control.liquidate('LTCUSDT');
    const liquidated = await drainUntil((f) => lastPosition(f, 'LTCUSDT')?.qty === 0);
    expect(of(liquidated, 'fill')).toEqual([
      expect.objectContaining({
        clientOrderId: '',
        side: 'BUY',
        qty: 1,
        price: 95,
        liquidation: true,
        fee: 0,
      }),
    ]);
  });

  it('funding payments become funding facts (a long pays a positive rate)', async () => {
    await venue.submit(order('DOGEUSDT', 'BUY', 1000));
    await drainUntil((f) => lastPosition(f, 'DOGEUSDT')?.qty === 1000);
    sim.control.fund('DOGEUSDT', 0.001);
    const facts = await drainUntil((f) => of(f, 'funding').length > 0);
    expect(of(facts, 'funding')[0]).toMatchObject({ asset: 'DOGEUSDT', amount: expect.closeTo(0.2, 9) });
    expect(await venue.drain(Date.now())).not.toContainEqual(expect.objectContaining({ kind: 'funding' }));
    expect(venue.lastBalances()[0]).toMatchObject({ asset: 'USDT' });
  });

  it('overlapping polls and newest-first lists: each fill once, in time order, done after its fills', async () => {
    sim.control.setReverseLists(true);
    sim.control.setPartialFills(3, 120);
    try {
      const o = order('ADAUSDT', 'BUY', 300);
      await venue.submit(o);
      const facts = await drainUntil((f) =>
        of(f, 'order_done').some((d) => d.clientOrderId === o.clientOrderId),
      );
      // more drains re-read the same window (overlap): nothing new may come out
      for (let i = 0; i < 3; i++) facts.push(...(await venue.drain(Date.now())));
      const fills = of(facts, 'fill').filter((f) => f.clientOrderId === o.clientOrderId);
      expect(fills).toHaveLength(3);
      expect(fills.map((f) => f.ts)).toEqual([...fills.map((f) => f.ts)].sort((a, b) => a - b));
      const lastFillAt = facts.lastIndexOf(fills.at(-1) as FillFact);
      const doneAt = facts.findIndex((f) => f.kind === 'order_done' && f.clientOrderId === o.clientOrderId);
      expect(doneAt).toBeGreaterThan(lastFillAt);
      const record = sim.control.books().orders.find((x) => x.clientOrderId === o.clientOrderId)!;
      expectOneAckAndVenueTime(facts, o.clientOrderId, record.time);
      // BingX's acceptance time comes before the order's first fill is applied.
      const venueAckAt = facts.findIndex(
        (f) => f.kind === 'ack' && f.clientOrderId === o.clientOrderId && f.venueTs,
      );
      expect(venueAckAt).toBeLessThan(facts.indexOf(fills[0]!));
    } finally {
      sim.control.setReverseLists(false);
      sim.control.setPartialFills(1, 0);
    }
  });

  it('restart: a new venue instance sees the open position and the open exit order, and replays no old fills', async () => {
    await venue.submit(order('AVAXUSDT', 'SELL', 10, { referencePrice: 30 }));
    await drainUntil((f) => lastPosition(f, 'AVAXUSDT')?.qty === -10);
    sim.control.setPartialFills(4, 60_000); // the exit fills one piece now, the rest much later
    const exit = order('AVAXUSDT', 'BUY', 10, { reduceOnly: true, referencePrice: 30 });
    await venue.submit(exit);
    sim.control.setPartialFills(1, 0);
    const restarted = await createBingxVenue(venueConfig());
    try {
      const snap = await restarted.snapshot();
      expect(snap.positions.find((p) => p.asset === 'AVAXUSDT')).toMatchObject({ qty: -7.5, entryPrice: 30 });
      expect(snap.openOrders).toEqual([
        expect.objectContaining({
          clientOrderId: exit.clientOrderId,
          asset: 'AVAXUSDT',
          side: 'BUY',
          qty: 10,
          filledQty: 2.5,
          reduceOnly: true,
        }),
      ]);
      const facts = await restarted.drain(Date.now());
      expect(of(facts, 'fill')).toEqual([]);
      expect(of(facts, 'position').map((p) => p.asset)).toContain('AVAXUSDT');
      await restarted.cancel(exit.clientOrderId, 'AVAXUSDT');
      const done = await drainUntil((f) => of(f, 'order_done').length > 0, 4000, restarted);
      expect(of(done, 'order_done')[0]).toMatchObject({
        clientOrderId: exit.clientOrderId,
        status: 'CANCELLED',
        filledQty: 2.5,
      });
    } finally {
      await restarted.close();
    }
  });

  it('a position opened and closed between two position polls is still reported flat (a trade never waits forever)', async () => {
    // Positions polled every 3 s, orders and fills on every drain: the whole round trip
    // happens between two position polls, so the poll never sees the position open.
    const v = await createBingxVenue(venueConfig({ positionsPollMs: 3_000 }));
    try {
      await v.drain(Date.now()); // the first position poll: TRXUSDT flat
      const entry = order('TRXUSDT', 'BUY', 100, { referencePrice: 0.25 });
      await v.submit(entry);
      await drainUntil((f) => of(f, 'fill').some((x) => x.clientOrderId === entry.clientOrderId), 2_000, v);
      const exit = order('TRXUSDT', 'SELL', 100, { reduceOnly: true, referencePrice: 0.25 });
      await v.submit(exit);
      const facts = await drainUntil(
        (f) => of(f, 'fill').some((x) => x.clientOrderId === exit.clientOrderId),
        2_000,
        v,
      );
      // Without the fix no position fact for TRXUSDT ever came: it was never seen non-zero.
      const after = facts.concat(await drainUntil((f) => lastPosition(f, 'TRXUSDT')?.qty === 0, 6_000, v));
      expect(lastPosition(after, 'TRXUSDT')).toMatchObject({ qty: 0 });
    } finally {
      await v.close();
    }
  });

  it('reduce-only never flips the position', async () => {
    await venue.submit(order('BNBUSDT', 'BUY', 0.5, { referencePrice: 600 }));
    await drainUntil((f) => lastPosition(f, 'BNBUSDT')?.qty === 0.5);
    await venue.submit(order('BNBUSDT', 'SELL', 2, { reduceOnly: true, referencePrice: 600 }));
    const facts = await drainUntil((f) => lastPosition(f, 'BNBUSDT')?.qty === 0);
    expect(of(facts, 'fill').find((x) => x.asset === 'BNBUSDT')).toMatchObject({ qty: 0.5, side: 'SELL' });
    expect(sim.control.books().positions.find((p) => p.symbol === 'BNB-USDT')).toBeUndefined();
  });

  it('forgets its finished orders once they are older than the history lookback', async () => {
    const short = await createBingxVenue(venueConfig({ historyLookbackMs: 1500 }));
    try {
      await short.submit(order('BNBUSDT', 'BUY', 0.5, { referencePrice: 600 }));
      await drainUntil((f) => lastPosition(f, 'BNBUSDT')?.qty === 0.5, 4000, short);
      const exit = order('BNBUSDT', 'SELL', 0.5, { reduceOnly: true, referencePrice: 600 });
      await short.submit(exit);
      await drainUntil(
        (f) => of(f, 'order_done').some((d) => d.clientOrderId === exit.clientOrderId),
        4000,
        short,
      );
      expect(short.trackedOrders()).toBeGreaterThanOrEqual(2);
      await new Promise((r) => setTimeout(r, 1700));
      await short.drain(Date.now());
      expect(short.trackedOrders()).toBe(0);
      // Forgotten, not lost: nothing is reported again.
      await new Promise((r) => setTimeout(r, 100));
      expect((await short.drain(Date.now())).filter((f) => f.kind !== 'position')).toEqual([]);
    } finally {
      await short.close();
    }
  });

  it('a wrong secret is refused by signature verification (fatal, secret not in the message)', async () => {
    const wrong = createBingxVenue(
      venueConfig({ environment: { BINGX_API_KEY: KEY, BINGX_API_SECRET: 'not-the-secret-42' } }),
    );
    await expect(wrong).rejects.toBeInstanceOf(BingxFatalError);
    await expect(wrong).rejects.toThrow(/100001.*Signature verification failed/);
    await wrong.catch((err: Error) => expect(err.message).not.toContain('not-the-secret-42'));
  });

  it('mainnet is refused without both flags, before any request', async () => {
    const before = JSON.stringify(sim.control.books().requests);
    const creds = { BINGX_API_KEY: KEY, BINGX_API_SECRET: SECRET };
    await expect(
      createBingxVenue(venueConfig({ environment: { ...creds, DOLPHIN_BINGX_ENV: 'MAINNET' } })),
    ).rejects.toBeInstanceOf(BingxSafetyError);
    await expect(
      createBingxVenue(
        venueConfig({
          environment: { ...creds, DOLPHIN_BINGX_ENV: 'MAINNET', DOLPHIN_BINGX_ALLOW_MAINNET: '1' },
        }),
      ),
    ).rejects.toThrow(/only allowed with DOLPHIN_BINGX_ENV=VST/);
    expect(JSON.stringify(sim.control.books().requests)).toBe(before);
  });
});
