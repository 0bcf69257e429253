/**
 * The venue's own market per asset, from BingX's ticker pushes (`<symbol>@ticker` on the
 * swap market websocket, which ccxt's watchTicker subscribes): the mid of the best bid (`B`)
 * and ask (`A`), or the last trade price (`c`) when the book side is missing. This is the
 * arrival price of an order sent now (issue #18, item 1) when the update is fresh; a stale
 * or missing one leaves the arrival to the scan's price, and the source says which.
 * A payload without a usable price is counted and ignored, never stored.
 */
import { ARRIVAL_SOURCES, type Arrival } from '../../domain/events.js';

interface Stored {
  readonly arrival: Arrival;
  readonly at: number;
}

const positive = (v: unknown): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
};

/** The arrival a ticker payload gives: mid of bid and ask, else last price; null when neither is usable. */
export function arrivalFromTicker(data: unknown): Arrival | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  const bid = positive(d.B);
  const ask = positive(d.A);
  if (bid !== null && ask !== null && ask >= bid)
    return { price: (bid + ask) / 2, source: ARRIVAL_SOURCES.venueMid };
  const last = positive(d.c);
  return last === null ? null : { price: last, source: ARRIVAL_SOURCES.venueLast };
}

export class TickerQuotes {
  private readonly latest = new Map<string, Stored>();
  private rejectedCount = 0;

  /** `maxAgeMs`: an update older than this (local receive time) is not the market now. */
  constructor(
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A ticker push for `asset`; false (and counted) when it carries no usable price. */
  update(asset: string, data: unknown): boolean {
    const arrival = arrivalFromTicker(data);
    if (!arrival) {
      this.rejectedCount += 1;
      return false;
    }
    this.latest.set(asset, { arrival, at: this.now() });
    return true;
  }

  /** The market for `asset` now, or undefined when none came or the last is stale. */
  quote(asset: string): Arrival | undefined {
    const q = this.latest.get(asset);
    return q && this.now() - q.at <= this.maxAgeMs ? q.arrival : undefined;
  }

  /** Assets with a fresh quote, and payloads refused. */
  health(): { fresh: number; rejected: number } {
    let fresh = 0;
    for (const asset of this.latest.keys()) if (this.quote(asset)) fresh += 1;
    return { fresh, rejected: this.rejectedCount };
  }
}
