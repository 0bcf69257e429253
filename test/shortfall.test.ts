/**
 * Implementation shortfall (issue #18, 4): the parts sum to the realized PnL exactly, and
 * each part is the friction it names. Trades are built as the kernel books them: entry
 * fills at a VWAP, exits at their fills, pnl = side * sum((exit fill - entry VWAP) * qty).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decomposeShortfall, type ShortfallOrder, sumShortfall } from '../src/reporting/shortfall.js';

const price = fc.double({ min: 0.01, max: 100_000, noNaN: true });
const qty = fc.double({ min: 0.001, max: 1_000, noNaN: true });
const bps = fc.double({ min: -50, max: 50, noNaN: true });
const moved = (p: number, b: number) => p * (1 + b / 1e4);

/** A trade whose orders all fill: one entry, 1-3 exit legs; decision, arrival and fill prices apart. */
const filledTrade = fc.record({
  side: fc.constantFrom('LONG', 'SHORT'),
  refIn: price,
  delayIn: bps,
  slipIn: bps,
  q: qty,
  legs: fc.array(
    fc.record({ share: fc.double({ min: 0.1, max: 1, noNaN: true }), ref: price, delay: bps, slip: bps }),
    {
      minLength: 1,
      maxLength: 3,
    },
  ),
  fees: fc.double({ min: 0, max: 100, noNaN: true }),
  funding: fc.double({ min: -50, max: 50, noNaN: true }),
});

type FilledTrade = typeof filledTrade extends fc.Arbitrary<infer T> ? T : never;

function book(t: FilledTrade, enteredShare = 1) {
  const sign = t.side === 'SHORT' ? -1 : 1;
  const arrivalIn = moved(t.refIn, t.delayIn);
  const fillIn = moved(arrivalIn, t.slipIn);
  const filledIn = t.q * enteredShare;
  const shares = t.legs.reduce((a, l) => a + l.share, 0);
  const orders: ShortfallOrder[] = [
    {
      purpose: 'ENTRY',
      qty: t.q,
      filledQty: filledIn,
      avgFillPrice: fillIn,
      referencePrice: t.refIn,
      arrivalPrice: arrivalIn,
    },
  ];
  let pnl = 0;
  for (const l of t.legs) {
    const q = (filledIn * l.share) / shares;
    const arrival = moved(l.ref, l.delay);
    const fill = moved(arrival, l.slip);
    orders.push({
      purpose: 'EXIT',
      qty: q,
      filledQty: q,
      avgFillPrice: fill,
      referencePrice: l.ref,
      arrivalPrice: arrival,
    });
    pnl += sign * (fill - fillIn) * q;
  }
  return {
    trade: { tradeId: 't', side: t.side, day: '2026-12-06', pnl, fees: t.fees, funding: t.funding },
    orders,
  };
}

const close = (a: number, b: number, scale: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, scale);

describe('implementation shortfall', () => {
  it('reference - delay - slippage - fees - funding - venue = realized, exactly; a fully filled trade leaves nothing to the venue', () => {
    fc.assert(
      fc.property(filledTrade, (t) => {
        const { trade, orders } = book(t);
        const p = decomposeShortfall(trade, orders);
        const scale = t.q * Math.max(t.refIn, ...t.legs.map((l) => l.ref));
        const sum = p.reference - p.delay - p.slippage - p.fees - p.funding - p.venue;
        expect(close(sum, p.realized, scale), `${sum} vs ${p.realized}`).toBe(true);
        expect(p.realized).toBe(trade.pnl - trade.fees - trade.funding);
        expect(close(p.venue, 0, scale), `venue ${p.venue}`).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('with the market still at the decision price and fills at it, delay and slippage are 0; k bps of slippage cost k bps of the notional', () => {
    fc.assert(
      fc.property(filledTrade, fc.double({ min: 0, max: 30, noNaN: true }), (t, k) => {
        const still = { ...t, delayIn: 0, slipIn: 0, legs: t.legs.map((l) => ({ ...l, delay: 0, slip: 0 })) };
        const none = decomposeShortfall(book(still).trade, book(still).orders);
        const scale = t.q * Math.max(t.refIn, ...t.legs.map((l) => l.ref));
        expect(close(none.delay, 0, scale)).toBe(true);
        expect(close(none.slippage, 0, scale)).toBe(true);
        // k bps against the strategy on every fill: a buy pays more, a sell receives less.
        const sign = t.side === 'SHORT' ? -1 : 1;
        const slipped = {
          ...still,
          slipIn: sign * k,
          legs: still.legs.map((l) => ({ ...l, slip: -sign * k })),
        };
        const { trade, orders } = book(slipped);
        const notional = orders.reduce((a, o) => a + o.arrivalPrice * o.filledQty, 0);
        const p = decomposeShortfall(trade, orders);
        expect(close(p.slippage, (notional * k) / 1e4, notional)).toBe(true);
        expect(close(p.delay, 0, notional)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a partly filled entry: what was not filled is the venue part; no entry order: all of it is', () => {
    fc.assert(
      fc.property(filledTrade, fc.double({ min: 0.1, max: 0.9, noNaN: true }), (t, share) => {
        const { trade, orders } = book(t, share);
        const p = decomposeShortfall(trade, orders);
        const sign = t.side === 'SHORT' ? -1 : 1;
        const exits = orders.filter((o) => o.purpose === 'EXIT');
        const out = exits.reduce((a, o) => a + o.filledQty, 0);
        const refOut = exits.reduce((a, o) => a + o.referencePrice * o.filledQty, 0) / out;
        const missed = sign * (refOut - t.refIn) * (t.q - out);
        expect(close(p.venue, missed, t.q * Math.max(t.refIn, refOut))).toBe(true);
      }),
      { numRuns: 300 },
    );
    const adopted = decomposeShortfall(
      { tradeId: 'a', side: 'LONG', day: '2026-12-06', pnl: 12, fees: 1, funding: 0.5 },
      [],
    );
    expect(adopted).toEqual({
      reference: 0,
      delay: 0,
      slippage: 0,
      fees: 1,
      funding: 0.5,
      venue: -12,
      realized: 10.5,
    });
  });

  it('sums part by part', () => {
    const a = { reference: 1, delay: 2, slippage: 3, fees: 4, funding: 5, venue: 6, realized: -19 };
    expect(sumShortfall([a, a])).toEqual({
      reference: 2,
      delay: 4,
      slippage: 6,
      fees: 8,
      funding: 10,
      venue: 12,
      realized: -38,
    });
  });
});
