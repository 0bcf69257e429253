/**
 * Start-up recovery (DESIGN.md §4): import the venue's positions and open orders,
 * clear local slots the venue contradicts, restore the journal only where it
 * agrees, rebuild the account from confirmed facts, adopt unknown positions as
 * RECOVERED trades. Every correction is an event.
 */

import type { JournalState } from '../adapters/files/journal.js';
import type { AccountProjection } from '../domain/account.js';
import type { EventSink } from '../domain/events.js';
import type { PositionFact, VenuePort } from '../domain/venue.js';
import type { Strategy } from '../strategy/strategy.js';
import type { Pipeline } from './pipeline.js';

export interface RecoveryOptions {
  readonly venue: VenuePort;
  readonly pipeline: Pipeline;
  readonly strategy: Strategy;
  readonly account: AccountProjection;
  readonly journal: JournalState | null;
  readonly emit: EventSink;
  readonly now: number;
  /** What to do with a venue position no journal explains. */
  readonly unknownPosition: 'manage' | 'flatten';
  readonly defaultLeverage?: number;
}

export interface RecoveryReport {
  readonly restoredTrade: string | null;
  readonly closedWhileDown: string | null;
  readonly adopted: string[];
  readonly cancelledOrders: string[];
  readonly corrections: string[];
}

export async function recover(o: RecoveryOptions): Promise<RecoveryReport> {
  const { venue, pipeline, account, now } = o;
  const kernel = pipeline.kernel;
  const corrections: string[] = [];
  const correct = (tradeId: string, what: string, detail: string) => {
    corrections.push(`${what}: ${detail}`);
    o.emit({ type: 'correction', ts: now, tradeId, what, detail });
  };
  /** The account's position follows the venue; a difference is booked as a fill, and said. */
  const align = (venueQty: number, asset: string, price: number) => {
    const fix = account.alignPosition(venueQty, price, now);
    if (fix.qty === 0) return;
    o.emit({
      type: 'fill',
      ts: now,
      tradeId: '',
      clientOrderId: '',
      exchangeOrderId: '',
      fillId: `recovery-${now}`,
      asset,
      purpose: 'EXTERNAL',
      qty: Math.abs(fix.qty),
      price,
      fee: 0,
      realizedPnl: fix.realizedPnl,
    });
    correct(
      '',
      'ACCOUNT_ALIGNED',
      `account position moved by ${fix.qty} to the venue's ${venueQty} at ${price}`,
    );
  };
  const snap = await venue.snapshot();
  const positions = new Map<string, PositionFact>();
  for (const p of snap.positions) if (p.qty !== 0) positions.set(p.asset, p);
  const openIds = new Set(snap.openOrders.map((x) => x.clientOrderId));

  let restoredTrade: string | null = null;
  let closedWhileDown: string | null = null;
  const jt = o.journal?.trade ?? null;
  if (jt) {
    const vp = positions.get(jt.asset);
    const sideSign = jt.side === 'SHORT' ? -1 : 1;
    const agrees = vp !== undefined && Math.sign(vp.qty) === sideSign;
    kernel.restoreTrade(jt, agrees ? [[jt.asset, vp.qty]] : [[jt.asset, 0]]);
    align(agrees ? vp.qty : 0, jt.asset, vp?.entryPrice || account.snapshot().markPrice);
    if (jt.order && !openIds.has(jt.order.clientOrderId)) {
      kernel.dropOrder(`recovery: order ${jt.order.clientOrderId} is not open on the venue any more`);
    }
    if (agrees) {
      const venueQty = Math.abs(vp.qty);
      const view = kernel.view();
      if (view && Math.abs(view.remainingQty - venueQty) > 1e-9 && view.pendingOrder === null) {
        correct(
          jt.id,
          'SIZE_FROM_VENUE',
          `journal says ${view.remainingQty}, venue holds ${venueQty}: the venue wins`,
        );
        kernel.setRemainingFromVenue(venueQty);
      }
      positions.delete(jt.asset);
      restoredTrade = kernel.view() ? jt.id : null;
      correct(jt.id, 'TRADE_RESTORED', `journal trade agrees with the venue position ${vp.qty} ${jt.asset}`);
    } else if (kernel.view()) {
      correct(jt.id, 'CLOSED_WHILE_DOWN', `journal holds ${jt.id} but the venue has no ${jt.asset} position`);
      await kernel.closeFlatOnVenue(jt.asset, now);
      closedWhileDown = jt.id;
    }
  } else {
    align(0, '', account.snapshot().markPrice);
  }

  const adopted: string[] = [];
  for (const p of positions.values()) {
    if (kernel.view()) {
      correct(
        '',
        'EXTRA_POSITION',
        `venue holds ${p.qty} ${p.asset} beside the slot's trade; left for the operator`,
      );
      continue;
    }
    const tradeId = `${p.asset}-R-${now}`;
    kernel.adoptPosition(tradeId, p, o.defaultLeverage ?? 1, 2);
    o.strategy.adopt({
      tradeId,
      asset: p.asset,
      side: p.qty < 0 ? 'SHORT' : 'LONG',
      leverage: o.defaultLeverage ?? 1,
      entryReferencePrice: p.entryPrice,
    });
    adopted.push(tradeId);
    correct(
      tradeId,
      'POSITION_ADOPTED',
      `venue position ${p.qty} ${p.asset} @ ${p.entryPrice} had no local trade: RECOVERED`,
    );
    if (o.unknownPosition === 'flatten') await pipeline.flatten(now);
  }

  const keep = kernel.view()?.pendingOrder?.clientOrderId;
  const cancelledOrders: string[] = [];
  for (const order of snap.openOrders) {
    if (order.clientOrderId === keep) continue;
    await venue.cancel(order.clientOrderId, order.asset);
    cancelledOrders.push(order.clientOrderId);
    correct(
      '',
      'ORDER_CANCELLED',
      `open order ${order.clientOrderId} (${order.asset}) belongs to no live trade`,
    );
  }
  // The strategy's memory must not hold a trade the kernel no longer has.
  const remembered = o.strategy.openTradeId();
  if (remembered && kernel.view()?.tradeId !== remembered) {
    o.strategy.override('POSITION_VANISHED', remembered);
    correct(remembered, 'STRATEGY_SLOT_CLEARED', 'the strategy remembered a trade the venue does not hold');
  }
  return { restoredTrade, closedWhileDown, adopted, cancelledOrders, corrections };
}
