/**
 * Start-up recovery (DESIGN.md §4), exchange-led: the journal says where PINK was, the
 * venue's history says what happened since, the venue's positions say where things are.
 *
 * 1. The journal's trade and the facts it had applied are restored as they were.
 * 2. Everything the venue recorded since (fills, order states, funding; external closes,
 *    adds and liquidations are fills too) is booked through the ordinary fact path, with
 *    the venue's prices, fees and ids; what the journal had applied is skipped by id.
 * 3. The order in flight is resolved: still working, finished (booked in 2), or looked up
 *    by its client id and, proven absent, expired (entry) or sent again (exit).
 * 4. The venue's current positions are applied as facts; whatever the history could not
 *    explain is corrected to the venue, said, and booked under deterministic ids.
 * 5. Every venue position is owned by exactly one trade (a stranger is adopted as
 *    RECOVERED when the slot is free; otherwise entries stay refused until it is gone).
 * 6. Only PINK's own orders are cancelled (retried; a lasting failure stops start-up,
 *    naming the order); anyone else's are reported and left alone.
 *
 * Every record recovery creates has an id derived from the journal it started from, so a
 * crash during recovery and a second attempt book nothing twice.
 */

import type { JournalState } from '../adapters/files/journal.js';
import type { AccountProjection } from '../domain/account.js';
import type { EventSink } from '../domain/events.js';
import type {
  OpenOrder,
  OrderIntentRecord,
  PositionFact,
  VenueFact,
  VenuePort,
  VenueSnapshot,
} from '../domain/venue.js';
import type { Strategy } from '../strategy/strategy.js';
import type { Pipeline } from './pipeline.js';

export interface RecoveryOptions {
  readonly venue: VenuePort;
  readonly pipeline: Pipeline;
  readonly strategy: Strategy;
  readonly account: AccountProjection;
  readonly journal: JournalState | null;
  /** Write-ahead records of orders about to leave after the journal's checkpoint. */
  readonly intents?: readonly OrderIntentRecord[];
  readonly emit: EventSink;
  readonly now: number;
  /** What to do with a venue position no journal explains. */
  readonly unknownPosition: 'manage' | 'flatten';
  readonly defaultLeverage?: number;
  /** History is read from this long before the journal's checkpoint (late-listed fills). */
  readonly historyOverlapMs?: number;
  /** Attempts for each venue request recovery depends on (snapshot, history, cancel). */
  readonly attempts?: number;
}

export interface RecoveryReport {
  readonly restoredTrade: string | null;
  readonly closedWhileDown: string | null;
  readonly adopted: string[];
  readonly cancelledOrders: string[];
  readonly foreignOrders: string[];
  /** Venue facts booked from its history (not applied before the crash). */
  readonly bookedFromHistory: number;
  readonly corrections: string[];
}

/** PINK's client order ids (see clientOrderIdFor); everything else is someone else's. */
export const PINK_ORDER_PREFIX = 'pk';

export const DEFAULT_HISTORY_OVERLAP_MS = 10 * 60_000;

export async function recover(o: RecoveryOptions): Promise<RecoveryReport> {
  const { venue, pipeline, now } = o;
  const kernel = pipeline.kernel;
  const saved = o.journal;
  const attempts = o.attempts ?? 3;
  // Ids of what recovery itself books: the same journal gives the same ids.
  const epoch = saved ? saved.savedAt : (o.intents?.[0]?.ts ?? 0);
  const corrections: string[] = [];
  const correct = (tradeId: string, what: string, detail: string) => {
    corrections.push(`${what}: ${detail}`);
    o.emit({ type: 'correction', ts: now, tradeId, what, detail });
  };
  const retried = <T>(what: string, call: () => Promise<T>) => withRetries(what, attempts, call, correct);

  const snap = await retried('venue snapshot', () => venue.snapshot());
  const held = new Map<string, PositionFact>();
  for (const p of snap.positions) if (p.qty !== 0) held.set(p.asset, p);

  // 1. Where the journal left things.
  kernel.restore(saved?.trade ?? null, saved?.venuePositions ?? []);
  pipeline.rememberFacts(saved?.seenFacts ?? [], now);
  const journalTrade = saved?.trade?.id ?? null;
  // Orders that may have left after the checkpoint: an exit of the journal's trade is its
  // order again; any other (an entry the journal never saw) at least names its asset.
  const intents = o.intents ?? [];
  for (const intent of intents) {
    kernel.markOrderSeen(intent.clientOrderId);
    if (intent.purpose === 'ENTRY' && intent.tradeId !== journalTrade) kernel.markSpent(intent.tradeId);
  }
  // Each attempt is made only once the one before it is settled: the latest exit is the one in flight.
  const latestExit = intents.filter((i) => i.purpose === 'EXIT').at(-1);
  for (const intent of latestExit ? [latestExit] : [])
    if (kernel.restoreIntent(intent))
      correct(
        intent.tradeId,
        'WRITE_AHEAD_EXIT',
        `${intent.clientOrderId} (${intent.reason}) was about to leave at the crash`,
      );

  // 2. What happened since, from the venue's record.
  const assets = new Set<string>([...held.keys(), ...snap.openOrders.map((x) => x.asset)]);
  for (const [asset] of saved?.venuePositions ?? []) assets.add(asset);
  if (saved?.trade) assets.add(saved.trade.asset);
  for (const intent of intents) assets.add(intent.asset);
  let bookedFromHistory = 0;
  if ((saved || intents.length > 0) && assets.size > 0) {
    const since = historySince(saved, intents, o.historyOverlapMs ?? DEFAULT_HISTORY_OVERLAP_MS);
    const history = await retried('venue history', () => venue.history(since, [...assets]));
    for (const f of history)
      if (f.kind === 'fill' || f.kind === 'order_done' || f.kind === 'reject')
        kernel.markOrderSeen(f.clientOrderId);
    bookedFromHistory = await pipeline.applyVenueFacts(history, now);
    if (bookedFromHistory > 0)
      correct(
        journalTrade ?? '',
        'BOOKED_FROM_HISTORY',
        `${describeHistory(history, bookedFromHistory)} happened on the venue after the last checkpoint; booked with the venue's prices, fees and ids`,
      );
  }

  // 3. The order in flight.
  const openIds = new Set(snap.openOrders.map((x) => x.clientOrderId));
  const resolved = await retried('order lookup', () => kernel.recoverOrder(openIds, now));
  if (resolved) correct(kernel.view()?.tradeId ?? journalTrade ?? '', 'ORDER_RESOLVED', resolved);

  // 4. The venue's positions now: the strongest authority there is.
  const reports: VenueFact[] = [...assets].map((asset) => ({
    kind: 'position',
    asset,
    qty: held.get(asset)?.qty ?? 0,
    entryPrice: held.get(asset)?.entryPrice ?? 0,
    ts: now,
  }));
  await pipeline.applyVenueFacts(reports, now);
  let closedWhileDown: string | null = null;
  const view = kernel.view();
  if (view && !held.has(view.asset) && view.pendingOrder === null && view.remainingQty > 0) {
    correct(
      view.tradeId,
      'CLOSED_WHILE_DOWN',
      `the venue holds no ${view.asset} and its history has no closing fill for ${view.remainingQty}: closed at mark`,
    );
    await kernel.closeFlatOnVenue(view.asset, now);
    closedWhileDown = view.tradeId;
  } else if (view && held.has(view.asset) && view.pendingOrder === null) {
    const venueQty = Math.abs(held.get(view.asset)!.qty);
    if (Math.abs(view.remainingQty - venueQty) > 1e-9) {
      correct(
        view.tradeId,
        'SIZE_FROM_VENUE',
        `after the history the trade holds ${view.remainingQty}, the venue ${venueQty}: the venue wins`,
      );
      kernel.setRemainingFromVenue(venueQty);
    }
  }
  // 5. Every venue position owned by exactly one trade.
  const adopted: string[] = [];
  for (const p of held.values()) {
    if (kernel.view()?.asset === p.asset) continue;
    if (kernel.view()) {
      correct(
        '',
        'EXTRA_POSITION',
        `venue holds ${p.qty} ${p.asset} beside the slot's trade ${kernel.view()!.tradeId}; no entry until it is gone (close it on BingX or let the slot's trade finish)`,
      );
      continue;
    }
    const tradeId = `${p.asset}-R-${epoch}`;
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

  const owned = kernel.view();
  alignAccount(o, owned ? held.get(owned.asset) : undefined, owned?.asset ?? '', epoch, correct);

  // 6. Orders: PINK's own that no trade needs are cancelled; anyone else's are left alone.
  const { cancelled, foreign } = await tidyOrders(
    o,
    snap,
    kernel.view()?.pendingOrder?.clientOrderId,
    correct,
  );

  // The strategy's memory must not hold a trade the kernel no longer has.
  const remembered = o.strategy.openTradeId();
  if (remembered && kernel.view()?.tradeId !== remembered) {
    o.strategy.override('POSITION_VANISHED', remembered);
    correct(remembered, 'STRATEGY_SLOT_CLEARED', 'the strategy remembered a trade the venue does not hold');
  }
  const restoredTrade =
    journalTrade !== null && kernel.view()?.tradeId === journalTrade ? journalTrade : null;
  if (restoredTrade) correct(restoredTrade, 'TRADE_RESTORED', describeView(o));
  return {
    restoredTrade,
    closedWhileDown,
    adopted,
    cancelledOrders: cancelled,
    foreignOrders: foreign,
    bookedFromHistory,
    corrections,
  };
}

/** From the checkpoint (or the order in flight, if older), less the overlap. */
function historySince(
  saved: JournalState | null,
  intents: readonly OrderIntentRecord[],
  overlapMs: number,
): number {
  const times = [saved?.savedAt ?? Number.POSITIVE_INFINITY, ...intents.map((i) => i.ts)];
  const orderAt = saved?.trade?.order?.submittedAt;
  if (orderAt !== undefined) times.push(orderAt);
  return Math.min(...times) - overlapMs;
}

/** The account's position follows the venue; a difference the history did not explain is booked at mark, and said. */
function alignAccount(
  o: RecoveryOptions,
  venue: PositionFact | undefined,
  asset: string,
  epoch: number,
  correct: (tradeId: string, what: string, detail: string) => void,
): void {
  const venueQty = venue?.qty ?? 0;
  const account = o.account.snapshot();
  // Opening from flat (an adopted position with no history): at the venue's own entry price.
  const price = account.positionQty === 0 && venue ? venue.entryPrice : account.markPrice;
  const fix = o.account.alignPosition(venueQty, price, o.now);
  if (fix.qty === 0) return;
  o.emit({
    type: 'fill',
    ts: o.now,
    tradeId: '',
    clientOrderId: '',
    exchangeOrderId: '',
    fillId: `recovery-${epoch}-${asset || 'flat'}`,
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
    `account position moved by ${fix.qty} to the venue's ${venueQty} at ${price} (the venue's history did not explain it)`,
  );
}

async function tidyOrders(
  o: RecoveryOptions,
  snap: VenueSnapshot,
  keep: string | undefined,
  correct: (tradeId: string, what: string, detail: string) => void,
): Promise<{ cancelled: string[]; foreign: string[] }> {
  const cancelled: string[] = [];
  const foreign: string[] = [];
  for (const order of snap.openOrders) {
    if (order.clientOrderId === keep) continue;
    if (!order.clientOrderId.startsWith(PINK_ORDER_PREFIX)) {
      foreign.push(order.clientOrderId || order.exchangeOrderId);
      correct('', 'FOREIGN_ORDER_LEFT', `open order ${describeOrder(order)} is not PINK's: left alone`);
      continue;
    }
    const cancel = () => o.venue.cancel(order.clientOrderId, order.asset);
    await withRetries(`cancel of ${order.clientOrderId} (${order.asset})`, o.attempts ?? 3, cancel, correct);
    cancelled.push(order.clientOrderId);
    correct('', 'ORDER_CANCELLED', `open order ${describeOrder(order)} belongs to no live trade`);
  }
  return { cancelled, foreign };
}

/** A venue request recovery cannot do without: retried, each failure said; the last one stops start-up, named. */
async function withRetries<T>(
  what: string,
  attempts: number,
  call: () => Promise<T>,
  correct: (tradeId: string, what: string, detail: string) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const message = (err as Error).message;
      if (attempt >= attempts)
        throw new Error(
          `recovery stopped: ${what} failed ${attempts} times (last: ${message}); nothing was guessed`,
        );
      correct('', 'RECOVERY_RETRY', `${what} failed (attempt ${attempt} of ${attempts}): ${message}`);
    }
  }
}

function describeHistory(history: readonly VenueFact[], booked: number): string {
  const count = (k: VenueFact['kind']) => history.filter((f) => f.kind === k).length;
  return `${booked} of ${history.length} venue records (${count('fill')} fills, ${count('order_done')} order states, ${count('funding')} funding)`;
}

function describeOrder(order: OpenOrder): string {
  return `${order.clientOrderId || '(no client id)'} / ${order.exchangeOrderId} (${order.asset} ${order.side} ${order.qty})`;
}

function describeView(o: RecoveryOptions): string {
  const v = o.pipeline.kernel.view();
  return v ? `${v.tradeId} ${v.stage}: ${v.remainingQty} ${v.asset} as the venue holds it` : 'slot empty';
}
