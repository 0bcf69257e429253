/**
 * What the kernel asks a venue to do, and the facts venues report back. Venue
 * adapters (sim, bingx via ccxt, the BingX-protocol simulator) translate their own
 * shapes into these; nothing venue-specific crosses this line.
 */
import type { Arrival } from './events.js';

export type OrderSide = 'BUY' | 'SELL';

export interface OrderRequest {
  /** Deterministic per (trade, leg, attempt); see clientOrderIdFor. */
  readonly clientOrderId: string;
  readonly tradeId: string;
  readonly asset: string;
  readonly side: OrderSide;
  /** Base-asset quantity before venue precision (the adapter rounds at the boundary). */
  readonly qty: number;
  readonly reduceOnly: boolean;
  readonly type: 'MARKET';
  readonly leverage: number;
  /** Decision reference price, for slippage accounting. */
  readonly referencePrice: number;
  readonly ts: number;
}

export type VenueFact =
  | AckFact
  | RejectFact
  | FillFact
  | OrderDoneFact
  | PositionFact
  | FundingFact
  | AnomalyFact;

export interface AckFact {
  readonly kind: 'ack';
  readonly clientOrderId: string;
  readonly exchangeOrderId: string;
  readonly ts: number;
  /** The venue's own time it accepted the order (its clock), when its answer says; absent otherwise. */
  readonly venueTs?: number;
}

export interface RejectFact {
  readonly kind: 'reject';
  readonly clientOrderId: string;
  readonly reason: string;
  readonly code: string;
  readonly ts: number;
}

export interface FillFact {
  readonly kind: 'fill';
  /** '' when the venue made the fill itself (external close, liquidation). */
  readonly clientOrderId: string;
  readonly exchangeOrderId: string;
  /** Unique per fill on the venue; duplicates are dropped by this id. */
  readonly fillId: string;
  readonly asset: string;
  readonly side: OrderSide;
  readonly qty: number;
  readonly price: number;
  /** Fee paid, positive = cost. */
  readonly fee: number;
  readonly liquidation: boolean;
  readonly ts: number;
}

export interface OrderDoneFact {
  readonly kind: 'order_done';
  readonly clientOrderId: string;
  readonly exchangeOrderId: string;
  readonly status: 'FILLED' | 'CANCELLED' | 'EXPIRED';
  readonly filledQty: number;
  readonly ts: number;
  /** The venue's own time it accepted the order, from its order record (its clock); absent when unknown. */
  readonly placedTs?: number;
}

/** The venue's view of one asset's position: the strongest authority there is. */
export interface PositionFact {
  readonly kind: 'position';
  readonly asset: string;
  /** Signed: negative = short. 0 = the venue holds no position. */
  readonly qty: number;
  readonly entryPrice: number;
  readonly ts: number;
}

export interface FundingFact {
  readonly kind: 'funding';
  readonly id: string;
  readonly asset: string;
  /** Funding paid, positive = cost. */
  readonly amount: number;
  readonly ts: number;
}

/**
 * Something the venue sent that PINK could not use (an unreadable row): quarantined, said
 * once (by `key`) as a correction event, and processing carries on.
 */
export interface AnomalyFact {
  readonly kind: 'anomaly';
  readonly key: string;
  readonly what: string;
  readonly detail: string;
  readonly ts: number;
}

export interface OpenOrder {
  readonly clientOrderId: string;
  readonly exchangeOrderId: string;
  readonly asset: string;
  readonly side: OrderSide;
  readonly qty: number;
  readonly filledQty: number;
  readonly reduceOnly: boolean;
}

export interface VenueSnapshot {
  readonly positions: readonly PositionFact[];
  readonly openOrders: readonly OpenOrder[];
}

/**
 * Write-ahead record of an order about to leave (durable before the request does): after
 * a crash before the next checkpoint, recovery knows the order may exist, for which trade
 * and asset, and looks for it on the venue.
 */
export interface OrderIntentRecord {
  readonly clientOrderId: string;
  readonly tradeId: string;
  readonly asset: string;
  readonly purpose: 'ENTRY' | 'EXIT';
  readonly side: 'BUY' | 'SELL';
  readonly qty: number;
  readonly reason: string;
  readonly leg: number;
  readonly attempt: number;
  readonly final: boolean;
  readonly referencePrice: number;
  readonly ts: number;
}

/** Outcome of looking an order up by client order id (after a submit timeout). */
export type OrderLookup =
  | { readonly found: false }
  | {
      readonly found: true;
      readonly exchangeOrderId: string;
      readonly status: 'OPEN' | 'FILLED' | 'CANCELLED' | 'EXPIRED' | 'REJECTED';
      readonly filledQty: number;
    };

/** Thrown by submit when the outcome is unknown (timeout, dropped response). */
export class SubmitOutcomeUnknown extends Error {
  override name = 'SubmitOutcomeUnknown';
}

/** The venue port. Facts arrive through `drain`, in the order the venue produced them. */
export interface VenuePort {
  readonly name: string;
  submit(order: OrderRequest): Promise<void>;
  cancel(clientOrderId: string, asset: string): Promise<void>;
  /**
   * Facts observed up to `now` (virtual time in replay, wall time live). A venue that
   * knows them in process may answer synchronously (the pipeline then skips an await).
   */
  drain(now: number): VenueFact[] | Promise<VenueFact[]>;
  snapshot(): Promise<VenueSnapshot>;
  /**
   * What the venue recorded for these assets from `since` (exchange time, ms) until now:
   * fills with the venue's prices, fees and ids, terminal order states and funding, in
   * time order. Recovery books what happened while PINK was down from it; facts PINK had
   * already applied are dropped by their ids.
   */
  history(since: number, assets: readonly string[]): Promise<VenueFact[]>;
  lookup(clientOrderId: string, asset: string): Promise<OrderLookup>;
  close(): Promise<void>;
  /**
   * When the venue next has a fact to report (ms, drain's clock), if it knows it: the live
   * loop looks then rather than at its idle tick, so latency legs measure the venue, not
   * PINK's polling. Venues whose facts arrive on their own (websockets) leave it out.
   */
  nextFactAt?(): number | null;
  /**
   * The venue's own market for an asset now (the mid of its best bid and ask, else its last
   * trade), when it streams one and the last update is fresh: the arrival price of an order
   * sent now. Venues without a market stream leave it out (the scan's price is used).
   */
  quote?(asset: string): Arrival | undefined;
}

/**
 * A wrapper of `inner` passes its optional parts through (a wrapper that dropped them would
 * hide the venue's timing and its market).
 */
export function optionalPartsOf(inner: VenuePort): Pick<VenuePort, 'nextFactAt' | 'quote'> {
  return {
    ...(inner.nextFactAt ? { nextFactAt: () => inner.nextFactAt?.() ?? null } : {}),
    ...(inner.quote ? { quote: (asset: string) => inner.quote?.(asset) } : {}),
  };
}

/** BingX lower-cases client order ids and allows 1-40 chars: keep them lower-case and short. */
export function clientOrderIdFor(tradeId: string, leg: 'e' | number, attempt: number): string {
  const compact = tradeId.toLowerCase().replace(/[^a-z0-9]/g, '');
  const suffix = leg === 'e' ? `e${attempt}` : `x${leg}a${attempt}`;
  return `pk${compact}`.slice(0, 40 - suffix.length - 1) + `-${suffix}`;
}

/** The client order id was made by clientOrderIdFor for this trade (any leg, any attempt). */
export function clientOrderIdOf(clientOrderId: string, tradeId: string): 'ENTRY' | 'EXIT' | null {
  const dash = clientOrderId.lastIndexOf('-');
  if (dash < 0) return null;
  const suffix = clientOrderId.slice(dash + 1);
  const compact = tradeId.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (clientOrderId.slice(0, dash) !== `pk${compact}`.slice(0, 40 - suffix.length - 1)) return null;
  if (/^e\d+$/.test(suffix)) return 'ENTRY';
  return /^x\d+a\d+$/.test(suffix) ? 'EXIT' : null;
}
