/** Market-order requests for the venue tests: unique client ids per maker, reference price from the marks. */
import type { OrderRequest } from '../../src/domain/venue.js';

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
