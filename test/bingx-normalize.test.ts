/**
 * Normalization against every recorded BingX payload (test/fixtures/bingx-recorded, copied from ../shared/data/bingx): each
 * response is normalized by its endpoint and its fields are checked; error payloads
 * map to the canonical error outcome; unparsed samples are refused with a clear error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assetToCcxtSymbol,
  assetToSymbol,
  BingxPayloadError,
  normalizeResponse,
  orderState,
  parseBingxJson,
  parseLeverage,
  parseTime,
  toFillFact,
  toFundingFact,
  withFillIds,
} from '../src/adapters/bingx/normalize.js';

// A verbatim copy of ../shared/data/bingx, so a clone of this repository is self-contained.
const DATA_DIR = path.resolve(import.meta.dirname, 'fixtures/bingx-recorded');

interface Recorded {
  endpoint: string;
  method: string;
  responses?: unknown[];
  responses_unparsed?: Array<{ text: string; note: string }>;
}

const files = readdirSync(DATA_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

function load(file: string): { rec: Recorded; text: string } {
  const text = readFileSync(path.join(DATA_DIR, file), 'utf8');
  return { rec: parseBingxJson(text) as Recorded, text };
}

/** The REST path a recorded file stands for ('' for the cross-endpoint error file). */
function endpointOf(rec: Recorded): string {
  return rec.endpoint.startsWith('/openApi') ? rec.endpoint : '';
}

describe('every recorded payload file', () => {
  it('finds the recorded data directory with all endpoint files', () => {
    expect(files.length).toBeGreaterThanOrEqual(29);
  });

  for (const file of files) {
    const { rec, text } = load(file);
    describe(file, () => {
      (rec.responses ?? []).forEach((payload, i) => {
        it(`response ${i} normalizes with sane fields`, () => {
          const r = normalizeResponse(endpointOf(rec), payload, 1_700_000_000_000);
          switch (r.kind) {
            case 'error':
              expect(r.error.code).toMatch(/^\d+$/);
              expect(['rejected', 'retryable', 'unknown', 'fatal']).toContain(r.error.outcome);
              expect(r.error.reason.length).toBeGreaterThan(5);
              break;
            case 'orders':
              expect(r.orders.length).toBeGreaterThan(0);
              for (const o of r.orders) {
                // ids above 2^53 are kept exactly as written in the file
                expect(text).toContain(o.exchangeOrderId);
                expect(o.exchangeOrderId).toMatch(/^\d+$/);
                expect(['BUY', 'SELL']).toContain(o.side);
                expect(o.qty).toBeGreaterThanOrEqual(0);
                expect(o.filledQty).toBeLessThanOrEqual(o.qty || Number.POSITIVE_INFINITY);
                expect(o.asset).toMatch(/^[A-Z0-9]+USDT$/);
                expect(Number.isFinite(o.fee)).toBe(true);
              }
              break;
            case 'fills':
              for (const f of withFillIds(r.fills)) {
                expect(f.qty).toBeGreaterThan(0);
                expect(f.price).toBeGreaterThan(0);
                expect(f.fee).toBeGreaterThan(0); // every recorded commission is negative = paid
                expect(Number.isFinite(f.ts)).toBe(true);
                const fact = toFillFact(f, f.side ?? 'BUY');
                expect(fact.kind).toBe('fill');
                expect(text).toContain(f.exchangeOrderId);
              }
              break;
            case 'positions':
              for (const p of r.positions) {
                expect(p.qty).not.toBe(0);
                expect(p.entryPrice).toBeGreaterThan(0);
              }
              break;
            case 'balances':
              expect(r.balances.length).toBeGreaterThan(0);
              for (const b of r.balances) expect(Number.isFinite(b.equity)).toBe(true);
              break;
            case 'income':
              for (const row of r.income) expect(Number.isFinite(row.income)).toBe(true);
              break;
            case 'contracts':
              for (const c of r.contracts) {
                expect(c.minQty).toBeGreaterThan(0);
                expect(c.quantityPrecision).toBeGreaterThanOrEqual(0);
              }
              break;
            case 'serverTime':
              expect(r.serverTime).toBeGreaterThan(1.6e12);
              break;
            case 'leverage':
              expect(r.long ?? 0).toBeGreaterThan(0);
              break;
            case 'marginType':
            case 'wsOrder':
            case 'wsAccount':
            case 'other':
              break;
          }
        });
      });
      (rec.responses_unparsed ?? []).forEach((u, i) => {
        it(`unparsed sample ${i} is refused with a clear error`, () => {
          expect(() => parseBingxJson(u.text)).toThrow(BingxPayloadError);
          expect(() => parseBingxJson(u.text)).toThrow(/not valid JSON/);
        });
      });
    });
  }
});

/** Pick one recorded response by file and index. */
function response(file: string, index: number): unknown {
  return load(file).rec.responses?.[index];
}

describe('specific recorded fields', () => {
  it('query order: FILLED market close with client id, leverage "5X", commission -> fee', () => {
    const r = normalizeResponse('/openApi/swap/v2/trade/order', response('swap-v2-trade-order-get.json', 0));
    if (r.kind !== 'orders') throw new Error(r.kind);
    const o = r.orders[0]!;
    expect(o).toMatchObject({
      exchangeOrderId: '1770683446830788608',
      clientOrderId: 'b39b0316-1f99-4099-8f4b-bac0f46731f8',
      asset: 'LTCUSDT',
      side: 'SELL',
      state: 'FILLED',
      leverage: 5,
      reduceOnly: true,
      qty: 0.1,
      filledQty: 0.1,
      avgPrice: 83.71,
      time: 1710998806000,
    });
    expect(o.fee).toBeCloseTo(0.004186, 9);
  });

  it('unquoted ids above 2^53 stay exact (JKorf order and trigger ids)', () => {
    const r = normalizeResponse(
      '/openApi/swap/v2/trade/allOrders',
      response('swap-v2-trade-allOrders.json', 2),
    );
    if (r.kind !== 'orders') throw new Error(r.kind);
    expect(r.orders[0]!.exchangeOrderId).toBe('1736007506620112100');
    expect(r.orders[0]!.leverage).toBe(15);
    const cancelled = normalizeResponse(
      '/openApi/swap/v2/trade/allOrders',
      response('swap-v2-trade-allOrders.json', 1),
    );
    if (cancelled.kind !== 'orders') throw new Error(cancelled.kind);
    expect(cancelled.orders.map((o) => o.state)).toEqual(['CANCELLED', 'FILLED']);
    expect(cancelled.orders[0]!.exchangeOrderId).toBe('1585839271162413056');
  });

  it('create order response without status is an open order; code "0" and 0 both succeed', () => {
    for (const i of [0, 8]) {
      const r = normalizeResponse(
        '/openApi/swap/v2/trade/order',
        response('swap-v2-trade-order-post.json', i),
      );
      if (r.kind !== 'orders') throw new Error(r.kind);
      expect(r.orders[0]!.state).toBe('OPEN');
    }
    const r5 = normalizeResponse(
      '/openApi/swap/v2/trade/order',
      response('swap-v2-trade-order-post.json', 5),
    );
    if (r5.kind !== 'orders') throw new Error(r5.kind);
    expect(r5.orders[0]).toMatchObject({ exchangeOrderId: '2075327764731486208', qty: 0.01, state: 'OPEN' });
  });

  it('positions: LONG positive, isolated SHORT negative, liquidation price as number', () => {
    const long = normalizeResponse(
      '/openApi/swap/v2/user/positions',
      response('swap-v2-user-positions.json', 0),
      5,
    );
    expect(long).toMatchObject({
      kind: 'positions',
      positions: [{ asset: 'LTCUSDT', qty: 0.1, entryPrice: 95.61, ts: 5 }],
    });
    const short = normalizeResponse(
      '/openApi/swap/v2/user/positions',
      response('swap-v2-user-positions.json', 2),
    );
    expect(short).toMatchObject({
      kind: 'positions',
      positions: [{ asset: 'BNBUSDT', qty: -0.2, entryPrice: 246.43 }],
    });
    const withTime = normalizeResponse(
      '/openApi/swap/v2/user/positions',
      response('swap-v2-user-positions.json', 1),
    );
    expect(withTime).toMatchObject({ positions: [{ ts: 1721088016688 }] });
  });

  it('fills: allFillOrders has no side or trade id; ids are built and the order gives the side', () => {
    const r = normalizeResponse(
      '/openApi/swap/v2/trade/allFillOrders',
      response('swap-v2-trade-allFillOrders.json', 0),
    );
    if (r.kind !== 'fills') throw new Error(r.kind);
    const [f] = withFillIds(r.fills);
    expect(f!.side).toBeNull();
    expect(() => toFillFact(f!, null)).toThrow(/side unknown/);
    expect(toFillFact(f!, 'BUY')).toMatchObject({
      kind: 'fill',
      exchangeOrderId: '1743623387810590720',
      qty: 10,
      price: 65.2965,
      fee: 0.0326,
      liquidation: false,
      ts: Date.parse('2024-01-06T21:19:45Z'),
      fillId: `1743623387810590720:${Date.parse('2024-01-06T21:19:45Z')}:10:65.2965`,
    });
  });

  it('fills: fillHistory rows carry side; identical keys get distinct ids', () => {
    const r = normalizeResponse(
      '/openApi/swap/v2/trade/fillHistory',
      response('swap-v2-trade-fillHistory.json', 0),
    );
    if (r.kind !== 'fills') throw new Error(r.kind);
    expect(r.fills.map((f) => f.side)).toEqual(['SELL', 'BUY', 'BUY', 'BUY']);
    const ids = withFillIds([...r.fills, r.fills[1]!]).map((f) => f.fillId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[4]).toBe(`${ids[1]}#2`);
    expect(r.fills[0]!.ts).toBe(Date.parse('2026-09-18T02:39:57.000+08:00'));
  });

  it('balances v3 list (empty strings are zero) and v2 object', () => {
    const v3 = normalizeResponse('/openApi/swap/v3/user/balance', response('swap-v3-user-balance.json', 2));
    expect(v3).toMatchObject({
      balances: [
        { asset: 'USDT', equity: 300 },
        { asset: 'USDC', equity: 0 },
      ],
    });
    const v2 = normalizeResponse('/openApi/swap/v2/user/balance', response('swap-v2-user-balance.json', 0));
    expect(v2).toMatchObject({ balances: [{ asset: 'USDT', balance: 15.6128, availableMargin: 15.6128 }] });
  });

  it('income: FUNDING_FEE becomes a funding fact (paid = positive cost), fees and insurance do not', () => {
    const r = normalizeResponse('/openApi/swap/v2/user/income', response('swap-v2-user-income.json', 0));
    if (r.kind !== 'income') throw new Error(r.kind);
    expect(toFundingFact(r.income[0]!)).toEqual({
      kind: 'funding',
      id: '1769048666279853387_310_1941328',
      asset: 'LTCUSDT',
      amount: 0.00056154,
      ts: 1769241660000,
    });
    const other = normalizeResponse('/openApi/swap/v2/user/income', response('swap-v2-user-income.json', 2));
    if (other.kind !== 'income') throw new Error(other.kind);
    expect(other.income.map(toFundingFact)).toEqual([null, null]);
  });

  it('errors map to canonical outcomes', () => {
    const outcome = (i: number) => normalizeResponse('', response('swap-errors.json', i));
    expect(outcome(0)).toMatchObject({ kind: 'error', error: { outcome: 'rejected', code: '101204' } });
    expect(outcome(0)).toMatchObject({
      error: { reason: expect.stringMatching(/InsufficientFunds.*Insufficient margin/) },
    });
    expect(outcome(4)).toMatchObject({ error: { outcome: 'retryable', code: '100410' } });
    expect(outcome(6)).toMatchObject({ error: { outcome: 'retryable', code: '100500' } });
    expect(outcome(7)).toMatchObject({ error: { outcome: 'fatal', code: '100414' } });
    expect(outcome(8)).toMatchObject({ error: { outcome: 'fatal', code: '100419' } });
    expect(outcome(9)).toMatchObject({ error: { outcome: 'rejected', code: '110425' } });
  });

  it('websocket ORDER_TRADE_UPDATE and ACCOUNT_UPDATE', () => {
    const o = normalizeResponse('', response('ws-swap-user-ORDER_TRADE_UPDATE.json', 0));
    expect(o).toMatchObject({
      kind: 'wsOrder',
      update: {
        execution: 'TRADE',
        order: {
          exchangeOrderId: '1711312357852147712',
          state: 'FILLED',
          filledQty: 0.1,
          avgPrice: 64.36,
          side: 'BUY',
        },
      },
    });
    const a = normalizeResponse('', response('ws-swap-user-ACCOUNT_UPDATE.json', 0));
    expect(a).toMatchObject({
      kind: 'wsAccount',
      update: {
        reason: 'WITHDRAW',
        balances: [{ asset: 'USDT', walletBalance: 49.81083984, change: -1 }],
        positions: [],
      },
    });
  });
});

describe('typing quirks', () => {
  it('leverage 5, "5", "5X"; nonsense refused', () => {
    expect([parseLeverage(5), parseLeverage('5'), parseLeverage('5X'), parseLeverage('')]).toEqual([
      5,
      5,
      5,
      null,
    ]);
    expect(() => parseLeverage('five')).toThrow(BingxPayloadError);
  });

  it('CANCELED and CANCELLED are one state; unknown statuses are refused', () => {
    expect(orderState('CANCELED')).toBe(orderState('CANCELLED'));
    expect(orderState('PARTIALLY_FILLED')).toBe('OPEN');
    expect(() => orderState('WEIRD')).toThrow(/unknown order status "WEIRD"/);
  });

  it('times as numbers, numeric strings and ISO with +0800', () => {
    expect(parseTime(1, 't')).toBe(1);
    expect(parseTime('1710998806000', 't')).toBe(1710998806000);
    expect(parseTime('2024-01-06T21:19:45.000+0800', 't')).toBe(Date.parse('2024-01-06T13:19:45Z'));
    expect(() => parseTime('soon', 'filledTm')).toThrow(/"filledTm" must be a time, got "soon"/);
  });

  it('big integers stay exact, small numbers stay numbers, strings untouched', () => {
    const v = parseBingxJson('{"a":1736012449498123456,"b":1.5,"c":"9007199254740993","d":-12,"e":[1e3]}');
    expect(v).toEqual({ a: '1736012449498123456', b: 1.5, c: '9007199254740993', d: -12, e: [1000] });
  });

  it('a lossy numeric id is refused rather than silently rounded', () => {
    expect(() =>
      normalizeResponse(
        '/openApi/swap/v2/trade/order',
        JSON.parse(
          '{"code":0,"data":{"order":{"orderId":1736012449498123456,"symbol":"BTC-USDT","side":"BUY"}}}',
        ),
      ),
    ).toThrow(/lost precision/);
  });

  it('missing fields are named', () => {
    expect(() =>
      normalizeResponse('/openApi/swap/v2/trade/order', {
        code: 0,
        data: { order: { symbol: 'BTC-USDT', side: 'BUY' } },
      }),
    ).toThrow(/"orderID" is missing/);
    expect(() =>
      normalizeResponse('/openApi/swap/v2/user/positions', {
        code: 0,
        data: [{ symbol: 'BTC-USDT', positionAmt: 'x' }],
      }),
    ).toThrow(/"positionAmt" must be numeric, got "x"/);
  });

  it('asset and symbol forms', () => {
    expect(assetToSymbol('BTCUSDT')).toBe('BTC-USDT');
    expect(assetToSymbol('1000PEPEUSDT')).toBe('1000PEPE-USDT');
    expect(assetToCcxtSymbol('ETHUSDT')).toBe('ETH/USDT:USDT');
    expect(() => assetToSymbol('BTCEUR')).toThrow(/does not end in USDT or USDC/);
  });
});
