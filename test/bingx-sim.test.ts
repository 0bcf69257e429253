/**
 * The BingX-protocol simulator on its own, over raw HTTP on 127.0.0.1: the signing
 * scheme (official vector, key header, recvWindow), the error envelope, and the
 * matching rules that ccxt does not exercise (hedge mode, limits, duplicates).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBingxJson } from '../src/adapters/bingx/normalize.js';
import { type BingxSim, hmacHex, startBingxSim } from '../src/adapters/bingx/sim-server.js';

const KEY = 'raw-key';
const SECRET = 'raw-secret';
let sim: BingxSim;

beforeAll(async () => {
  sim = await startBingxSim({ apiKey: KEY, apiSecret: SECRET, seed: 7, idStyle: 'number' });
});
afterAll(async () => {
  await sim.close();
});

/** A signed request the way the BingX docs describe it (query string, signature last). */
async function signed(
  method: string,
  path: string,
  params: Record<string, string | number>,
  opts: { secret?: string; key?: string | null; timestamp?: number; url?: string } = {},
): Promise<{ code: number | string; msg: string; data: unknown }> {
  const query = Object.entries({ ...params, timestamp: opts.timestamp ?? Date.now() })
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const signature = hmacHex(opts.secret ?? SECRET, query);
  const headers: Record<string, string> = opts.key === null ? {} : { 'X-BX-APIKEY': opts.key ?? KEY };
  const res = await fetch(`${opts.url ?? sim.url}/openApi${path}?${query}&signature=${signature}`, {
    method,
    headers,
  });
  return parseBingxJson(await res.text()) as { code: number | string; msg: string; data: unknown };
}

describe('bingx simulator history retention', () => {
  it('forgets finished orders, their fills and income beyond the retention, never open ones', async () => {
    const short = await startBingxSim({ apiKey: KEY, apiSecret: SECRET, seed: 8, historyRetentionMs: 300 });
    const via = (path: string, params: Record<string, string | number>, method = 'POST') =>
      signed(method, path, params, { url: short.url });
    try {
      const market = (id: string) =>
        via('/swap/v2/trade/order', {
          symbol: 'ETH-USDT',
          side: 'BUY',
          positionSide: 'BOTH',
          type: 'MARKET',
          quantity: 0.1,
          clientOrderID: id,
        });
      expect(await market('old-1')).toMatchObject({ code: 0 });
      const resting = await via('/swap/v2/trade/order', {
        symbol: 'BTC-USDT',
        side: 'BUY',
        positionSide: 'BOTH',
        type: 'LIMIT',
        price: 1000,
        quantity: 0.001,
        clientOrderID: 'resting-1',
      });
      expect(resting).toMatchObject({ code: 0 });
      await new Promise((r) => setTimeout(r, 400));
      expect(await market('new-1')).toMatchObject({ code: 0 });
      const books = short.control.books();
      expect(books.orders.map((o) => o.clientOrderId).sort()).toEqual(['new-1', 'resting-1']);
      expect(books.fills.map((f) => f.clientOrderId)).not.toContain('old-1');
      // Forgotten, so the id is free again, as on an exchange whose history has moved on.
      expect(await market('old-1')).toMatchObject({ code: 0 });
    } finally {
      await short.close();
    }
  });
});

describe('bingx simulator protocol', () => {
  it('reproduces the official signing vector from the recorded docs', () => {
    const secret = 'mheO6dR8ovSsxZQCOYEFCtelpuxcWGTfHw7te326y6jOwq5WpvFQ9JNljoTwBXZGv5It07m9RXSPpDQEK2w';
    expect(hmacHex(secret, 'symbol=BTC-USDT&timestamp=1667872120843&side=LONG&leverage=6')).toBe(
      '4f581ecdb1fa09b9d6e57886b6f70cffed17f82b93399722939e49a38edec2bf',
    );
  });

  it('refuses a wrong secret, a missing or wrong key, a missing signature and a stale timestamp', async () => {
    expect(await signed('GET', '/swap/v2/user/positions', {}, { secret: 'wrong' })).toMatchObject({
      code: 100001,
      msg: 'Signature verification failed',
    });
    expect(await signed('GET', '/swap/v2/user/positions', {}, { key: null })).toMatchObject({ code: 100413 });
    expect(await signed('GET', '/swap/v2/user/positions', {}, { key: 'other' })).toMatchObject({
      code: 100413,
    });
    expect(
      await signed('GET', '/swap/v2/user/positions', {}, { timestamp: Date.now() - 6000 }),
    ).toMatchObject({
      code: 100421,
    });
    expect(
      await signed('GET', '/swap/v2/user/positions', { recvWindow: 10000 }, { timestamp: Date.now() - 6000 }),
    ).toMatchObject({ code: 0 });
    const unsigned = await fetch(`${sim.url}/openApi/swap/v2/user/positions?timestamp=${Date.now()}`, {
      headers: { 'X-BX-APIKEY': KEY },
    });
    expect(await unsigned.json()).toMatchObject({ code: 100412 });
    const unknown = await fetch(`${sim.url}/openApi/swap/v9/nothing`);
    expect(unknown.status).toBe(404);
  });

  it('public endpoints need no signature and answer in the recorded shapes', async () => {
    const contracts = (await (await fetch(`${sim.url}/openApi/swap/v2/quote/contracts`)).json()) as {
      code: number;
      data: Array<{ symbol: string; tradeMinQuantity: number; apiStateOpen: string }>;
    };
    expect(contracts.code).toBe(0);
    expect(contracts.data[0]).toMatchObject({
      symbol: 'BTC-USDT',
      tradeMinQuantity: 0.0001,
      apiStateOpen: 'true',
    });
    const time = (await (await fetch(`${sim.url}/openApi/swap/v2/server/time`)).json()) as {
      data: { serverTime: number };
    };
    expect(Math.abs(time.data.serverTime - Date.now())).toBeLessThan(2000);
  });

  it('ids above 2^53 go out as unquoted numbers (idStyle number) and survive a safe parse', async () => {
    const placed = await signed('POST', '/swap/v2/trade/order', {
      symbol: 'ETH-USDT',
      side: 'BUY',
      positionSide: 'BOTH',
      type: 'MARKET',
      quantity: 0.1,
      clientOrderID: 'raw-1',
    });
    const id = (placed.data as { order: { orderId: string } }).order.orderId;
    expect(typeof id).toBe('string');
    expect(BigInt(id) > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(sim.control.books().orders.map((o) => o.orderId)).toContain(id);
    const again = await signed('POST', '/swap/v2/trade/order', {
      symbol: 'ETH-USDT',
      side: 'BUY',
      positionSide: 'BOTH',
      type: 'MARKET',
      quantity: 0.1,
      clientOrderID: 'RAW-1', // BingX lower-cases client ids: this is the same id
    });
    expect(again).toMatchObject({ code: 109201 });
    const byClient = await signed('GET', '/swap/v2/trade/order', {
      symbol: 'ETH-USDT',
      clientOrderId: 'raw-1',
    });
    expect(byClient).toMatchObject({
      code: 0,
      data: { order: { orderId: id, status: 'FILLED', leverage: '5X' } },
    });
    expect(await signed('GET', '/swap/v2/trade/order', { symbol: 'ETH-USDT', orderId: '1' })).toMatchObject({
      code: 80016,
    });
  });

  it('hedge mode: LONG and SHORT positions side by side; closing more than held is clamped', async () => {
    expect(await signed('POST', '/swap/v1/positionSide/dual', { dualSidePosition: 'true' })).toMatchObject({
      code: 101212, // the one-way ETH position from the previous test blocks the switch
    });
    sim.control.externalClose('ETH-USDT');
    expect(await signed('POST', '/swap/v1/positionSide/dual', { dualSidePosition: 'true' })).toMatchObject({
      code: 0,
    });
    const place = (side: string, positionSide: string, quantity: number) =>
      signed('POST', '/swap/v2/trade/order', {
        symbol: 'SOL-USDT',
        side,
        positionSide,
        type: 'MARKET',
        quantity,
      });
    expect(await place('BUY', 'BOTH', 1)).toMatchObject({ code: 109400 });
    await place('BUY', 'LONG', 2);
    await place('SELL', 'SHORT', 1);
    const sol = () => sim.control.books().positions.filter((p) => p.symbol === 'SOL-USDT');
    expect(sol().map((p) => [p.positionSide, p.qty])).toEqual([
      ['LONG', 2],
      ['SHORT', -1],
    ]);
    await place('BUY', 'SHORT', 5); // closes the short only
    expect(sol().map((p) => [p.positionSide, p.qty])).toEqual([['LONG', 2]]);
    expect(await place('BUY', 'SHORT', 1)).toMatchObject({ code: 101400, msg: 'No position to close' });
    sim.control.externalClose('SOL-USDT');
    await signed('POST', '/swap/v1/positionSide/dual', { dualSidePosition: 'false' });
  });

  it('limit orders rest until the mark crosses them; cancel by client id', async () => {
    const limit = (clientOrderID: string, price: number) =>
      signed('POST', '/swap/v2/trade/order', {
        symbol: 'BTC-USDT',
        side: 'BUY',
        positionSide: 'BOTH',
        type: 'LIMIT',
        price,
        quantity: 0.001,
        clientOrderID,
      });
    await limit('lim-1', 60000);
    await limit('lim-2', 50000);
    expect(await signed('GET', '/swap/v2/trade/openOrders', { symbol: 'BTC-USDT' })).toMatchObject({
      data: { orders: [{ status: 'PENDING' }, { status: 'PENDING' }] },
    });
    sim.control.setMark('BTCUSDT', 59000);
    const cancel = await signed('DELETE', '/swap/v2/trade/order', {
      symbol: 'BTC-USDT',
      clientOrderId: 'lim-2',
    });
    expect(cancel).toMatchObject({ data: { order: { status: 'CANCELLED' } } });
    expect(
      await signed('DELETE', '/swap/v2/trade/order', { symbol: 'BTC-USDT', clientOrderId: 'lim-1' }),
    ).toMatchObject({
      code: 80018,
    });
    expect(sim.control.books().positions.find((p) => p.symbol === 'BTC-USDT')).toMatchObject({
      qty: 0.001,
      entryPrice: 60000,
    });
  });

  it('minimums, precision and margin are enforced with BingX codes', async () => {
    const market = (quantity: number, symbol = 'BTC-USDT') =>
      signed('POST', '/swap/v2/trade/order', {
        symbol,
        side: 'SELL',
        positionSide: 'BOTH',
        type: 'MARKET',
        quantity,
      });
    expect(await market(0.00001)).toMatchObject({ code: 80014 });
    expect(await market(100)).toMatchObject({ code: 101204, msg: 'Insufficient margin' });
    expect(await market(1, 'XYZ-USDT')).toMatchObject({ code: 80014 });
    expect(await signed('GET', '/swap/v2/trade/allOrders', { limit: 5000 })).toMatchObject({ code: 109400 });
    expect(
      await signed('POST', '/swap/v2/trade/leverage', { symbol: 'BTC-USDT', side: 'BOTH', leverage: 500 }),
    ).toMatchObject({
      code: 101414,
    });
  });
});
