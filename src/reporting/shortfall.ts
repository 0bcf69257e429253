/**
 * Implementation shortfall, decomposed (issue #18, 4): what a trade's execution cost the
 * strategy, from the ledger's trade_events and execution_quality rows. Pure.
 *
 *   reference  the PnL of the reference path: the planned quantity (the first entry order's)
 *              entered at the entry decision's price and exited at the exit decisions'
 *              prices (weighted by the quantity each exit filled), no costs
 *   - delay    decision -> arrival: the market's move between the decision and the submit
 *   - slippage arrival -> fill: the fill against the market at the submit
 *   - fees, - funding
 *   - venue    what the venue made different: a quantity not filled (rejects, partial
 *              fills), a position closed from outside (external close, liquidation), so
 *              the remainder of the identity
 *   = realized (pnl - fees - funding), exactly.
 *
 * Every part is a cost (positive = it cost the strategy); delay and slippage are counted on
 * the quantity that filled. A trade without an entry order (a position adopted from the
 * venue) has no reference path: reference, delay and slippage are 0, all of it is venue.
 */

export interface ShortfallTrade {
  readonly tradeId: string;
  readonly side: string;
  /** UTC day the trade closed (YYYY-MM-DD). */
  readonly day: string;
  readonly pnl: number;
  readonly fees: number;
  readonly funding: number;
}

export interface ShortfallOrder {
  readonly purpose: string;
  readonly qty: number;
  readonly filledQty: number;
  readonly avgFillPrice: number;
  readonly referencePrice: number;
  readonly arrivalPrice: number;
}

export interface ShortfallParts {
  readonly reference: number;
  readonly delay: number;
  readonly slippage: number;
  readonly fees: number;
  readonly funding: number;
  readonly venue: number;
  readonly realized: number;
}

export const SHORTFALL_PARTS = ['reference', 'delay', 'slippage', 'fees', 'funding', 'venue'] as const;

/** `orders`: the trade's orders in the order they were requested. */
export function decomposeShortfall(trade: ShortfallTrade, orders: readonly ShortfallOrder[]): ShortfallParts {
  const realized = trade.pnl - trade.fees - trade.funding;
  const sign = trade.side === 'SHORT' ? -1 : 1;
  const entries = orders.filter((o) => o.purpose === 'ENTRY');
  const exits = orders.filter((o) => o.purpose === 'EXIT' && o.filledQty > 0);
  const planned = entries[0];
  const filledIn = entries.reduce((a, o) => a + o.filledQty, 0);
  if (!planned || filledIn <= 0) return remainder(trade, 0, 0, 0, realized);
  const refIn = planned.referencePrice;
  const wavg = (os: readonly ShortfallOrder[], price: (o: ShortfallOrder) => number) =>
    os.reduce((a, o) => a + price(o) * o.filledQty, 0) / os.reduce((a, o) => a + o.filledQty, 0);
  const filledEntries = entries.filter((o) => o.filledQty > 0);
  const arrivalIn = wavg(filledEntries, (o) => o.arrivalPrice);
  const fillIn = wavg(filledEntries, (o) => o.avgFillPrice);
  const out = exits.reduce((a, o) => a + o.filledQty, 0);
  // No exit order filled (closed from outside): the reference exit is the entry's, all venue.
  const refOut = out > 0 ? wavg(exits, (o) => o.referencePrice) : refIn;
  const reference = sign * (refOut - refIn) * planned.qty;
  let delay = sign * (arrivalIn - refIn) * out;
  let slippage = sign * (fillIn - arrivalIn) * out;
  for (const x of exits) {
    delay += sign * (x.referencePrice - x.arrivalPrice) * x.filledQty;
    slippage += sign * (x.arrivalPrice - x.avgFillPrice) * x.filledQty;
  }
  return remainder(trade, reference, delay, slippage, realized);
}

function remainder(
  trade: ShortfallTrade,
  reference: number,
  delay: number,
  slippage: number,
  realized: number,
): ShortfallParts {
  const venue = reference - delay - slippage - trade.fees - trade.funding - realized;
  return { reference, delay, slippage, fees: trade.fees, funding: trade.funding, venue, realized };
}

/** |reference - delay - slippage - fees - funding - venue - realized|: 0 up to rounding. */
export function identityError(p: ShortfallParts): number {
  return Math.abs(p.reference - p.delay - p.slippage - p.fees - p.funding - p.venue - p.realized);
}

/** The parts and the realized PnL they sum to: every column of a shortfall table. */
export const SHORTFALL_COLUMNS = [...SHORTFALL_PARTS, 'realized'] as const;

/** Part by part sum (totals per day, per report). */
export function sumShortfall(parts: readonly ShortfallParts[]): ShortfallParts {
  return Object.fromEntries(
    SHORTFALL_COLUMNS.map((k) => [k, parts.reduce((a, p) => a + p[k], 0)]),
  ) as unknown as ShortfallParts;
}
