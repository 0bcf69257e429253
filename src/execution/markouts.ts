/**
 * MarkoutTracker: post-fill markouts (DESIGN.md §8, execution_quality.markout_<h>s_bps).
 * For each order that filled, the market as of `last fill + h` for h in MARKOUT_HORIZONS_S
 * against the order's average fill price, in bps, positive when the market moved in the
 * order's favour (a BUY followed by a rise). "The market as of T" is the last scan price at
 * or before T, known once a scan at or after T has arrived; it is never a later price.
 *
 * Pure bookkeeping over canonical events and scan prices; no I/O. A horizon that had already
 * passed when the order was reported done (a venue that reports late) is left unknown rather
 * than filled with a later price. Pending markouts live in memory: a process killed before a
 * horizon passes leaves that horizon NULL in the ledger.
 */
import type { Side } from '../domain/decision.js';
import {
  type CanonicalEvent,
  MARKOUT_HORIZONS_S,
  type MarkoutEvent,
  type MarkoutHorizon,
} from '../domain/events.js';
import { isOrderDone, orderSide } from './trade-story.js';

interface Pending {
  readonly tradeId: string;
  readonly clientOrderId: string;
  readonly asset: string;
  readonly side: 'BUY' | 'SELL';
  readonly avgFillPrice: number;
  readonly fillTs: number;
  /** Index of the next horizon to resolve. */
  next: number;
  /** The latest scan price seen before the next horizon (undefined: none). */
  mark: number | undefined;
}

export interface MarkoutMarket {
  /** The latest scan price of an asset. */
  readonly price: (asset: string) => number | undefined;
  /** The current scan's time (epoch ms). */
  readonly now: () => number;
}

/** Memory bound: orders waiting for a horizon (oldest dropped beyond it). */
const MAX_PENDING = 10_000;
/** Trades whose side is remembered for their orders. */
const MAX_SIDES = 256;

/** Signed move of `mark` from `fill`, bps, positive in the order's favour. */
export function markoutBps(side: 'BUY' | 'SELL', fill: number, mark: number): number {
  const move = ((mark - fill) / fill) * 10_000;
  return side === 'BUY' ? move : -move;
}

export class MarkoutTracker {
  private pending: Pending[] = [];
  private readonly sides = new Map<string, Side>();
  private readonly lastFillTs = new Map<string, number>();

  constructor(private readonly market: MarkoutMarket) {}

  /** Orders waiting for at least one horizon. */
  get waiting(): number {
    return this.pending.length;
  }

  /** Sees every canonical event; registers each order that ended with a fill. */
  observe(e: CanonicalEvent): void {
    if (e.type === 'lifecycle') this.rememberSide(e.tradeId, e.side);
    else if (e.type === 'fill' && e.clientOrderId !== '') this.noteFill(e.clientOrderId, e.ts);
    else if (e.type === 'order' && isOrderDone(e.milestone)) {
      const fillTs = this.lastFillTs.get(e.clientOrderId) ?? e.ts;
      this.lastFillTs.delete(e.clientOrderId);
      const side = orderSide(this.sides.get(e.tradeId) ?? '', e.purpose);
      if (e.filledQty > 0 && e.avgPrice > 0 && side !== '' && e.clientOrderId !== '')
        this.register(
          { tradeId: e.tradeId, clientOrderId: e.clientOrderId, asset: e.asset, side },
          e.avgPrice,
          fillTs,
        );
    }
  }

  /** A scan arrived (its prices already on the market board): the horizons it passed. */
  onScan(ts: number): MarkoutEvent[] {
    if (this.pending.length === 0) return [];
    const out: MarkoutEvent[] = [];
    let kept = 0;
    for (const p of this.pending) {
      const passed = this.advance(p, ts);
      if (passed) out.push(passed);
      if (p.next < MARKOUT_HORIZONS_S.length) this.pending[kept++] = p;
    }
    this.pending.length = kept;
    return out;
  }

  private register(
    order: Pick<Pending, 'tradeId' | 'clientOrderId' | 'asset' | 'side'>,
    avgFillPrice: number,
    fillTs: number,
  ): void {
    if (this.pending.some((p) => p.clientOrderId === order.clientOrderId)) return;
    const now = this.market.now();
    // Horizons already behind us are unknown: the board holds only the price of now.
    let next = 0;
    while (next < MARKOUT_HORIZONS_S.length && now > fillTs + MARKOUT_HORIZONS_S[next]! * 1000) next += 1;
    if (next === MARKOUT_HORIZONS_S.length) return;
    if (this.pending.length >= MAX_PENDING) this.pending.shift();
    this.pending.push({ ...order, avgFillPrice, fillTs, next, mark: this.market.price(order.asset) });
  }

  private advance(p: Pending, ts: number): MarkoutEvent | null {
    const price = this.market.price(p.asset);
    const markouts: { horizonS: MarkoutHorizon; markPrice: number; bps: number }[] = [];
    while (p.next < MARKOUT_HORIZONS_S.length) {
      const horizonS = MARKOUT_HORIZONS_S[p.next]!;
      const at = p.fillTs + horizonS * 1000;
      if (ts < at) break;
      // Exactly at the horizon this scan is the market then; past it, the previous one was.
      const mark = ts === at ? (price ?? p.mark) : p.mark;
      if (mark !== undefined && mark > 0)
        markouts.push({ horizonS, markPrice: mark, bps: markoutBps(p.side, p.avgFillPrice, mark) });
      p.next += 1;
    }
    if (price !== undefined) p.mark = price;
    if (markouts.length === 0) return null;
    return {
      type: 'markout',
      ts,
      tradeId: p.tradeId,
      clientOrderId: p.clientOrderId,
      asset: p.asset,
      orderSide: p.side,
      avgFillPrice: p.avgFillPrice,
      fillTs: p.fillTs,
      markouts,
    };
  }

  private noteFill(clientOrderId: string, ts: number): void {
    this.lastFillTs.set(clientOrderId, Math.max(ts, this.lastFillTs.get(clientOrderId) ?? 0));
    // An order that never reports done (a venue that lost it) must not hold memory forever.
    if (this.lastFillTs.size > MAX_PENDING) this.lastFillTs.delete(this.lastFillTs.keys().next().value!);
  }

  private rememberSide(tradeId: string, side: Side): void {
    if (tradeId === '' || this.sides.get(tradeId) === side) return;
    this.sides.delete(tradeId);
    this.sides.set(tradeId, side);
    if (this.sides.size > MAX_SIDES) this.sides.delete(this.sides.keys().next().value!);
  }
}
