/** Market-order requests for the venue tests: unique client ids per maker, reference price from the marks. */
import { expect } from 'vitest';
import type { AckFact, OrderRequest, VenueFact } from '../../src/domain/venue.js';

export type OrderMaker = (
  asset: string,
  side: 'BUY' | 'SELL',
  qty: number,
  over?: Partial<OrderRequest>,
) => OrderRequest;

/** `marks` by simulator symbol (BTC-USDT); `fallbackPrice` for assets without one. */
export function orderMaker(prefix: string, marks: Record<string, number>, fallbackPrice: number): OrderMaker {
  let seq = 0;
  return (asset, side, qty, over = {}) => {
    seq += 1;
    return {
      clientOrderId: `pk-${prefix}${seq}-e1`,
      tradeId: `${prefix}${seq}`,
      asset,
      side,
      qty,
      reduceOnly: false,
      type: 'MARKET',
      leverage: 5,
      referencePrice: marks[asset.replace('USDT', '-USDT')] ?? fallbackPrice,
      ts: Date.now(),
      ...over,
    };
  };
}

/**
 * One ack per order (createOrder's answer or the order record, whichever comes first) and
 * BingX's own acceptance time, the order record's `time`, exactly once: on that ack, or on a
 * second ack when createOrder's answer (which has no time) came first.
 */
export function expectOneAckAndVenueTime(
  facts: VenueFact[],
  clientOrderId: string,
  recordTime: number,
): void {
  const acks = facts.filter((f): f is AckFact => f.kind === 'ack' && f.clientOrderId === clientOrderId);
  expect(acks.length).toBeGreaterThanOrEqual(1);
  expect(acks.filter((a) => a.venueTs === undefined).length).toBeLessThanOrEqual(1);
  expect(acks.filter((a) => a.venueTs !== undefined).map((a) => a.venueTs)).toEqual([recordTime]);
}
