/**
 * Arrival price from the venue's own market (issue #18, item 1): the ccxt venue watches each
 * traded asset's ticker on BingX's market stream (watchTicker over a real websocket to the
 * loopback BingX simulator), and an order's arrival is that ticker's mid while it is fresh.
 * The ticker parser refuses payloads without a usable price; a stale quote is no quote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBingxVenue } from '../src/adapters/bingx/ccxt-venue.js';
import { arrivalFromTicker, TickerQuotes } from '../src/adapters/bingx/quotes.js';
import { type BingxSim, DEFAULT_SIM_CONTRACTS, startBingxSim } from '../src/adapters/bingx/sim-server.js';
import { orderMaker } from './support/orders.js';

describe('arrivalFromTicker', () => {
  it('takes the mid of bid and ask, else the last price, and refuses anything without a usable price', () => {
    expect(arrivalFromTicker({ B: '99', A: '101', c: '100.5' })).toEqual({
      price: 100,
      source: 'venue_mid_at_submit',
    });
    expect(arrivalFromTicker({ B: 99, A: 101 })).toEqual({ price: 100, source: 'venue_mid_at_submit' });
    // A side missing, zero or crossed: the last trade price, said so.
    for (const book of [{ A: '101' }, { B: '0', A: '101' }, { B: '102', A: '101' }])
      expect(arrivalFromTicker({ ...book, c: '100.5' })).toEqual({
        price: 100.5,
        source: 'venue_last_at_submit',
      });
    for (const bad of [
      null,
      'x',
      42,
      {},
      { c: '' },
      { c: 'NaN' },
      { c: '-1' },
      { c: 'Infinity' },
      { B: 'a', A: 'b' },
    ])
      expect(arrivalFromTicker(bad), JSON.stringify(bad)).toBeNull();
  });

  it('keeps the latest usable quote per asset while it is fresh, and counts refused payloads', () => {
    let now = 1_000;
    const quotes = new TickerQuotes(500, () => now);
    expect(quotes.update('BTCUSDT', { B: '10', A: '12' })).toBe(true);
    expect(quotes.update('BTCUSDT', { c: 'garbage' })).toBe(false); // the good one stays
    expect(quotes.quote('BTCUSDT')).toEqual({ price: 11, source: 'venue_mid_at_submit' });
    expect(quotes.quote('ETHUSDT')).toBeUndefined();
    now += 500;
    expect(quotes.quote('BTCUSDT')?.price).toBe(11);
    now += 1;
    expect(quotes.quote('BTCUSDT')).toBeUndefined(); // stale: not the market now
    expect(quotes.health()).toEqual({ fresh: 0, rejected: 1 });
  });
});

describe('the ccxt venue watches the market of what it trades', () => {
  const KEY = 'sim-api-key-quotes';
  const SECRET = 'sim-api-secret-quotes';
  const MARKS = { 'BTC-USDT': 60_000, 'ETH-USDT': 3_000 };
  let sim: BingxSim;

  beforeAll(async () => {
    sim = await startBingxSim({
      apiKey: KEY,
      apiSecret: SECRET,
      contracts: DEFAULT_SIM_CONTRACTS,
      marks: MARKS,
      balance: 100_000,
    });
  });
  afterAll(async () => sim?.close());

  const venue = (quoteMaxAgeMs: number) =>
    createBingxVenue({
      environment: { BINGX_API_KEY: KEY, BINGX_API_SECRET: SECRET },
      baseUrl: sim.url,
      assets: ['BTCUSDT'],
      rateLimitMs: 1,
      fillGraceMs: 200,
      quoteMaxAgeMs,
    });

  async function until<T>(read: () => T, ok: (v: T) => boolean, what: string): Promise<T> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const v = read();
      if (ok(v)) return v;
      if (Date.now() > deadline) throw new Error(`${what}: got ${JSON.stringify(v)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('quotes the ticker it is pushed, follows it, and starts watching an asset once it trades it', async () => {
    const v = await venue(60_000);
    try {
      sim.control.setMark('BTC-USDT', 60_100);
      await until(
        () => v.quote('BTCUSDT'),
        (q) => q?.price === 60_100,
        'BTC quote',
      );
      expect(v.quote('BTCUSDT')).toEqual({ price: 60_100, source: 'venue_mid_at_submit' });
      sim.control.setMark('BTC-USDT', 60_050.5);
      await until(
        () => v.quote('BTCUSDT')?.price,
        (p) => p === 60_050.5,
        'BTC quote moved',
      );
      // ETH is not traded yet: not watched, so no quote (the arrival falls back to the scan).
      sim.control.setMark('ETH-USDT', 3_001);
      await new Promise((r) => setTimeout(r, 100));
      expect(v.quote('ETHUSDT')).toBeUndefined();
      await v.submit(orderMaker('q', MARKS, 3_000)('ETHUSDT', 'BUY', 1));
      sim.control.setMark('ETH-USDT', 3_002);
      await until(
        () => v.quote('ETHUSDT')?.price,
        (p) => p === 3_002,
        'ETH quote after its first order',
      );
      const health = v.streamHealth().quotes;
      expect(health).toEqual({ watched: 2, fresh: 2, rejected: 0 });
      expect(sim.control.streamStats().tickers).toBeGreaterThanOrEqual(3);
    } finally {
      await v.close();
    }
  }, 30_000);

  it('with the market stream down, the quote goes stale after quoteMaxAgeMs and is no quote; it comes back with the stream', async () => {
    const v = await venue(300);
    try {
      sim.control.setMark('BTC-USDT', 60_200);
      await until(
        () => v.quote('BTCUSDT')?.price,
        (p) => p === 60_200,
        'BTC quote',
      );
      sim.control.setStreams(false); // every socket dropped, new ones refused: no more tickers
      await new Promise((r) => setTimeout(r, 450));
      expect(v.quote('BTCUSDT')).toBeUndefined();
      expect(v.streamHealth().quotes.fresh).toBe(0);
      sim.control.setStreams(true);
      sim.control.setMark('BTC-USDT', 60_300);
      await until(
        () => v.quote('BTCUSDT')?.price,
        (p) => p === 60_300,
        'BTC quote after the reconnect',
      );
    } finally {
      sim.control.setStreams(true);
      await v.close();
    }
  }, 30_000);
});
