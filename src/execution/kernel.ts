/**
 * The execution kernel: the single-slot trade state machine in motion. Intents go
 * out to the venue port; venue facts (already normalized) come back and are the
 * only thing that moves a trade forward. A trade closes only when the venue
 * reports the position gone, and its terminal event is emitted exactly once.
 */
import type { AccountProjection } from '../domain/account.js';
import { BoundedSet } from '../domain/bounded-set.js';
import type {
  EnterIntent,
  ExitIntent,
  ExitReason,
  Intent,
  Side,
  TerminalReason,
} from '../domain/decision.js';
import {
  ARRIVAL_SOURCE,
  type Arrival,
  type ArrivalSource,
  type CanonicalEvent,
  type FillEvent,
  type OrderMilestone,
  type OverrideKind,
  type TradeRecord,
} from '../domain/events.js';
import { buildExitLegRow, type LegChainState, startLegChain } from '../domain/exit-legs.js';
import { acceptsExit, assertTransition, holdsPosition, type TradeStage } from '../domain/trade-fsm.js';
import {
  type AckFact,
  clientOrderIdFor,
  clientOrderIdOf,
  type FillFact,
  type OrderDoneFact,
  type OrderIntentRecord,
  type OrderRequest,
  type PositionFact,
  SubmitOutcomeUnknown,
  type VenueFact,
  type VenuePort,
} from '../domain/venue.js';

export interface KernelConfig {
  readonly strategy: string;
  /** An entry not filled within this time is cancelled (then ENTRY_EXPIRED if nothing filled). */
  readonly entryTimeoutMs: number;
  /** Attempts per exit leg after definitive rejects. */
  readonly maxExitAttempts: number;
  /** After an unknown submit outcome, look the order up by client id after this delay. */
  readonly lookupAfterMs: number;
  /** Venue flat but the closing fill not seen yet: wait this long before booking at mark. */
  readonly externalFillGraceMs: number;
  /** After maxExitAttempts quick retries, retry a rejected exit this often. */
  readonly exitRetryBackoffMs: number;
}

export const DEFAULT_KERNEL_CONFIG: Omit<KernelConfig, 'strategy'> = {
  entryTimeoutMs: 30_000,
  maxExitAttempts: 3,
  lookupAfterMs: 2_000,
  externalFillGraceMs: 10_000,
  exitRetryBackoffMs: 30_000,
};

export interface KernelHooks {
  emit(event: CanonicalEvent): void;
  /** A venue fact overrides the strategy's memory (ALGORITHM.md §3). */
  override(kind: OverrideKind, tradeId: string, venueFact: string): void;
  /** Monotonic clock in ns, for latency decomposition. */
  mono(): bigint;
  /**
   * Write-ahead: called before each order leaves; the request waits for the promise (the
   * runtime makes the intent durable). Absent in replays, which have no crash to survive.
   */
  beforeSubmit?(intent: OrderIntentRecord): Promise<void> | undefined;
  /**
   * The market an order meets as it leaves: the venue's own quote when it streams one, else
   * the asset's price in the latest scan (the one the sim venue fills at). Undefined when
   * neither is known.
   */
  arrival?(asset: string): Arrival | undefined;
}

type Purpose = 'ENTRY' | 'EXIT';

interface LiveOrder {
  readonly clientOrderId: string;
  exchangeOrderId: string;
  readonly purpose: Purpose;
  readonly qty: number;
  filledQty: number;
  notional: number;
  realized: number;
  readonly reason: string;
  readonly leg: number;
  readonly attempt: number;
  readonly submittedAt: number;
  readonly referencePrice: number;
  /** The market when the order first left (0: none known; absent in older journals). */
  arrivalPrice?: number;
  /** Where arrivalPrice came from (absent in older journals: the scan's price). */
  arrivalSource?: ArrivalSource;
  /** The venue's time it accepted the order, its clock (absent until known and in older journals). */
  venueAckTs?: number;
  /** An ack was applied (absent in older journals: a repeated ack there emits its milestone again, as before). */
  acknowledged?: boolean;
  readonly final: boolean;
  /** Unknown submit outcome: look it up at this time. */
  lookupAt: number | null;
  /** Venue said the order is done with this filled quantity; waiting for its fills. */
  doneFilledQty: number | null;
  doneStatus: OrderDoneFact['status'] | null;
  cancelRequested: boolean;
}

/** A trade as the local journal keeps it (plain data). */
export type TradeSnapshot = Trade;

interface Trade {
  readonly id: string;
  readonly asset: string;
  readonly side: Side;
  readonly leverage: number;
  readonly entryTs: number;
  readonly legCount: number;
  stage: TradeStage;
  initialQty: number;
  remainingQty: number;
  entryNotional: number;
  exitNotional: number;
  exitQty: number;
  realized: number;
  fees: number;
  funding: number;
  barsHeld: number;
  exitReason: TerminalReason | null;
  order: LiveOrder | null;
  /** Exit intents waiting for the entry or a previous exit to finish. */
  queue: ExitIntent[];
  legChain: LegChainState;
  legSeq: number;
  /** External fills that arrived before the entry fills they close (callbacks reorder). */
  externalExcess: number;
  /** When the venue first reported the position gone (null while it holds it). */
  venueFlatSince: number | null;
  retry: { intent: ExitIntent; attempt: number; at: number } | null;
}

export interface TradeView {
  readonly tradeId: string;
  readonly asset: string;
  readonly side: Side;
  readonly stage: TradeStage;
  readonly leverage: number;
  readonly initialQty: number;
  readonly remainingQty: number;
  readonly entryPrice: number;
  readonly realized: number;
  readonly barsHeld: number;
  readonly pendingOrder: { clientOrderId: string; purpose: Purpose; qty: number; filledQty: number } | null;
  readonly queuedExits: number;
}

export interface IntentOutcome {
  readonly accepted: boolean;
  readonly reason: string;
}

const EPS = 1e-12;

const entrySide = (side: Side): 'BUY' | 'SELL' => (side === 'SHORT' ? 'SELL' : 'BUY');

export class ExecutionKernel {
  private trade: Trade | null = null;
  /** Latest position per asset as the venue reports it (signed). */
  private readonly venuePositions = new Map<string, number>();
  private closedTrades = 0;
  /** Trades whose entry left before a restart, and order ids the venue has seen (see markSpent, markOrderSeen). */
  private readonly spent = new BoundedSet(1_000);
  /** Positions closed at mark for want of a fill; a late fill corrects the price, not the size. */
  private readonly markBookings = new Map<string, { qty: number; price: number; sign: number }>();
  private now = 0;

  constructor(
    private readonly venue: VenuePort,
    private readonly account: AccountProjection,
    private readonly hooks: KernelHooks,
    private readonly cfg: KernelConfig,
  ) {}

  view(): TradeView | null {
    const t = this.trade;
    if (!t) return null;
    return {
      tradeId: t.id,
      asset: t.asset,
      side: t.side,
      stage: t.stage,
      leverage: t.leverage,
      initialQty: t.initialQty,
      remainingQty: t.remainingQty,
      entryPrice: t.initialQty > 0 ? t.entryNotional / t.initialQty : 0,
      realized: t.realized,
      barsHeld: t.barsHeld,
      pendingOrder: t.order
        ? {
            clientOrderId: t.order.clientOrderId,
            purpose: t.order.purpose,
            qty: t.order.qty,
            filledQty: t.order.filledQty,
          }
        : null,
      queuedExits: t.queue.length,
    };
  }

  get hasTrade(): boolean {
    return this.trade !== null;
  }

  /** Fills are in but the venue has not yet reported the position gone. */
  get closingPending(): boolean {
    const t = this.trade;
    return t !== null && t.initialQty > 0 && t.remainingQty <= EPS && !t.order;
  }

  get openAsset(): string | null {
    return this.trade?.asset ?? null;
  }

  venuePosition(asset: string): number {
    return this.venuePositions.get(asset) ?? 0;
  }

  tradesClosed(): number {
    return this.closedTrades;
  }

  /** Bars held as the strategy counts them (carried into the terminal row). */
  noteBarsHeld(tradeId: string, barsHeld: number): void {
    if (this.trade?.id === tradeId) this.trade.barsHeld = barsHeld;
  }

  async handleIntent(intent: Intent, now: number): Promise<IntentOutcome> {
    this.now = Math.max(this.now, now);
    return intent.kind === 'ENTER' ? this.enter(intent) : this.exit(intent);
  }

  /** Applies normalized venue facts in order. */
  async applyFacts(facts: readonly VenueFact[], now: number): Promise<void> {
    this.now = Math.max(this.now, now);
    for (const fact of facts) await this.applyFact(fact);
  }

  /** Time-driven work: entry expiry, lookups after unknown submits, exit retries. */
  async tick(now: number): Promise<void> {
    this.now = Math.max(this.now, now);
    const t = this.trade;
    if (!t) return;
    const o = t.order;
    if (o?.lookupAt !== null && o?.lookupAt !== undefined && now >= o.lookupAt) await this.lookup(t, o);
    if (o && o.purpose === 'ENTRY' && !o.cancelRequested && now - o.submittedAt >= this.cfg.entryTimeoutMs) {
      o.cancelRequested = true;
      await this.safeCancel(o.clientOrderId, t.asset);
    }
    if (t.venueFlatSince !== null) await this.maybeClose(t);
    if (this.trade !== t) return;
    if (!t.order && t.retry && acceptsExit(t.stage) && now >= t.retry.at) {
      const { intent, attempt } = t.retry;
      t.retry = null;
      await this.submitExit(t, intent, attempt);
    }
  }

  /** Recovery: the venue's size wins over the journal's. */
  setRemainingFromVenue(qty: number): void {
    const t = this.trade;
    if (!t) return;
    t.remainingQty = qty;
    t.externalExcess = 0;
    this.move(
      t,
      t.stage === 'RECOVERED'
        ? 'POSITION_UPDATED'
        : t.stage === 'POSITION_OPENED'
          ? 'POSITION_UPDATED'
          : t.stage,
      `size from the venue: ${qty}`,
    );
  }

  /** The live trade as plain data, for the local journal. */
  exportTrade(): TradeSnapshot | null {
    return this.trade ? structuredClone(this.trade) : null;
  }

  exportVenuePositions(): Array<[string, number]> {
    return [...this.venuePositions];
  }

  /**
   * Start-up: the journal's trade (if any) and the venue positions it last saw, exactly as
   * the journal left them; recovery then brings them to the venue's truth with facts.
   */
  restore(snapshot: TradeSnapshot | null, venuePositions: ReadonlyArray<[string, number]>): void {
    if (this.trade) throw new Error(`cannot restore: slot holds ${this.trade.id}`);
    this.trade = snapshot ? structuredClone(snapshot) : null;
    for (const [asset, qty] of venuePositions) this.venuePositions.set(asset, qty);
  }

  /** Start-up: this trade's entry may have left before the crash; a re-decided entry must not send it again. */
  markSpent(tradeId: string): void {
    this.spent.add(`trade:${tradeId}`);
  }

  /**
   * Start-up: the venue has seen (or may have seen) this client order id; a new exit takes the
   * next attempt id instead, since the venue would answer a reused id with the old order.
   */
  markOrderSeen(clientOrderId: string): void {
    if (clientOrderId) this.spent.add(`order:${clientOrderId}`);
  }

  /**
   * Start-up: an exit of the journal's trade that was recorded as about to leave after the
   * last checkpoint becomes the trade's order again, so its fills (if it left) are the
   * trade's and, if it never arrived, it is sent again.
   */
  restoreIntent(intent: OrderIntentRecord): boolean {
    const t = this.trade;
    // Only the leg the trade is on: a later leg waits for the journal's order to finish (its
    // fills come from the history; a later leg's fills, if it left, are still the trade's).
    if (!t || t.id !== intent.tradeId || intent.purpose !== 'EXIT' || intent.leg !== t.legSeq) return false;
    const held = t.order;
    // The journal's own exit may be an earlier attempt of this leg (the later one supersedes it).
    const superseded = held?.purpose === 'EXIT' && held.leg === intent.leg && held.attempt < intent.attempt;
    if (held ? !superseded : !acceptsExit(t.stage)) return false;
    t.retry = null;
    const o: LiveOrder = {
      ...this.newOrder(
        t,
        'EXIT',
        intent.qty,
        intent.reason,
        intent.leg,
        intent.attempt,
        intent.referencePrice,
        intent.final,
      ),
      submittedAt: intent.ts, // when it was about to leave, not now
    };
    t.order = o;
    t.exitReason = intent.reason as ExitReason;
    if (!held)
      this.move(t, 'EXIT_REQUESTED', `write-ahead: ${o.clientOrderId} may have left before the crash`, o);
    return true;
  }

  /**
   * Start-up, after the venue's history is booked: the order the journal had in flight is
   * still working (kept), was finished (its facts are booked, so it is gone by now), or is
   * looked up by its client id. Proven absent: an entry expires (nothing was bought), an
   * exit is sent again under the next attempt id (reduce-only, so never more than held).
   */
  async recoverOrder(openOnVenue: ReadonlySet<string>, now: number): Promise<string | null> {
    const t = this.trade;
    const o = t?.order;
    if (!t || !o || openOnVenue.has(o.clientOrderId)) return null;
    this.now = Math.max(this.now, now);
    const found = await this.venue.lookup(o.clientOrderId, t.asset);
    if (found.found && found.status === 'OPEN') {
      o.exchangeOrderId = found.exchangeOrderId;
      this.confirmSent(t, o, `found open by client id after restart`);
      return `${o.clientOrderId} is still working on the venue`;
    }
    if (found.found && found.filledQty <= EPS && o.filledQty <= EPS) {
      // Refused or cancelled with nothing done: as a reject (an exit is retried, an entry fails).
      await this.onReject(t, o, `${found.status} on the venue (found after restart)`);
      return `${o.clientOrderId} ${found.status} on the venue with nothing filled`;
    }
    if (found.found) {
      // Finished, yet its facts were not in the history read (older than it reaches).
      this.dropOrder(
        `recovery: ${o.clientOrderId} is ${found.status} on the venue (filled ${found.filledQty}) but its fills are not in the history read; the position is taken from the venue`,
      );
      return `${o.clientOrderId} ${found.status} outside the history read`;
    }
    this.orderEvent(t, o, 'CANCELLED', 'not on the venue after restart (never arrived)');
    t.order = null;
    if (o.purpose === 'ENTRY') {
      if (o.filledQty > EPS || t.initialQty > EPS) {
        this.move(t, 'POSITION_OPENED', `entry ${o.clientOrderId} partly filled, rest never arrived`);
        return `${o.clientOrderId} partly filled; the rest never reached the venue`;
      }
      this.failEntry(
        t,
        'ENTRY_EXPIRED',
        `entry ${o.clientOrderId} never reached the venue (proven absent after restart)`,
      );
      return `${o.clientOrderId} never reached the venue: entry expired`;
    }
    this.move(t, 'POSITION_UPDATED', `exit ${o.clientOrderId} never reached the venue`, o);
    t.retry = { intent: this.intentOf(t, o), attempt: o.attempt + 1, at: this.now };
    this.hooks.emit({
      type: 'correction',
      ts: this.now,
      tradeId: t.id,
      what: 'EXIT_RESUBMITTED',
      detail: `exit ${o.clientOrderId} (${o.reason}) is not on the venue: sent again as attempt ${o.attempt + 1}`,
    });
    await this.tick(this.now);
    return `${o.clientOrderId} never reached the venue: exit sent again`;
  }

  /** Recovery: the journaled order is not on the venue any more; forget it so the trade can move on. */
  dropOrder(reason: string): void {
    const t = this.trade;
    if (!t?.order) return;
    this.hooks.emit({
      type: 'correction',
      ts: this.now,
      tradeId: t.id,
      what: 'ORDER_DROPPED',
      detail: reason,
    });
    const o = t.order;
    t.order = null;
    if (o.purpose === 'ENTRY') {
      if (t.initialQty > EPS) this.move(t, 'POSITION_UPDATED', reason);
      else this.failEntry(t, 'ENTRY_EXPIRED', reason);
    } else if (!acceptsExit(t.stage)) {
      this.move(t, 'POSITION_UPDATED', reason);
    }
  }

  /** Recovery: the journal's trade is flat on the venue; a fact will not come, so close it now. */
  async closeFlatOnVenue(asset: string, now: number): Promise<void> {
    this.now = Math.max(this.now, now);
    this.venuePositions.set(asset, 0);
    const t = this.trade;
    if (!t || t.asset !== asset) return;
    if (t.order) this.dropOrder(`recovery: ${t.order.clientOrderId} is not open on the venue`);
    if (this.trade !== t) return;
    t.venueFlatSince = now - this.cfg.externalFillGraceMs;
    t.exitReason ??= 'RECOVERED_CLOSE';
    await this.maybeClose(t);
  }

  /** Start-up recovery: the venue holds a position the kernel does not know (DESIGN.md §4). */
  adoptPosition(tradeId: string, position: PositionFact, leverage: number, legCount: number): void {
    if (this.trade) throw new Error(`cannot adopt ${tradeId}: slot holds ${this.trade.id}`);
    const qty = Math.abs(position.qty);
    const side: Side = position.qty < 0 ? 'SHORT' : 'LONG';
    this.venuePositions.set(position.asset, position.qty);
    // The account is brought to the venue's position by recovery (booked from the venue's
    // history where it has it, aligned at the venue's entry price otherwise).
    this.trade = this.newTrade({
      id: tradeId,
      asset: position.asset,
      side,
      leverage,
      entryTs: position.ts,
      legCount,
    });
    this.trade.initialQty = qty;
    this.trade.remainingQty = qty;
    this.trade.entryNotional = qty * position.entryPrice;
    this.move(this.trade, 'RECOVERED', `venue position ${position.qty} @ ${position.entryPrice}`);
  }

  private newTrade(id: Pick<Trade, 'id' | 'asset' | 'side' | 'leverage' | 'entryTs' | 'legCount'>): Trade {
    // Field by field: V8 (Node 20) takes a slow path for every property added after a
    // spread, and `{ ...id, <19 more> }` cost ~30 us on the entry's way to the venue.
    return {
      id: id.id,
      asset: id.asset,
      side: id.side,
      leverage: id.leverage,
      entryTs: id.entryTs,
      legCount: id.legCount,
      stage: 'EMPTY',
      initialQty: 0,
      remainingQty: 0,
      entryNotional: 0,
      exitNotional: 0,
      exitQty: 0,
      realized: 0,
      fees: 0,
      funding: 0,
      barsHeld: 0,
      exitReason: null,
      order: null,
      queue: [],
      legChain: startLegChain(this.account.capital),
      legSeq: 0,
      venueFlatSince: null,
      externalExcess: 0,
      retry: null,
    };
  }

  /** With the slot empty, any venue position is owned by nothing: no entry until it is resolved. */
  private unownedPosition(): string | null {
    for (const [asset, qty] of this.venuePositions)
      if (qty !== 0) return `venue holds a ${asset} position of ${qty} that no trade owns`;
    return null;
  }

  // ---- intents ---------------------------------------------------------------------------------

  private async enter(intent: EnterIntent): Promise<IntentOutcome> {
    const busy = this.trade
      ? `venue still holds trade ${this.trade.id} (${this.trade.stage}, ${this.trade.remainingQty} ${this.trade.asset} open)`
      : this.spent.has(`trade:${intent.tradeId}`)
        ? `trade ${intent.tradeId} was sent before a restart; what became of it is booked from the venue's history`
        : this.unownedPosition();
    const invalid =
      !Number.isFinite(intent.targetSize) || intent.targetSize <= 0
        ? `target size ${intent.targetSize} is not a positive number`
        : null;
    const refusal = busy ?? invalid;
    if (refusal) {
      this.refuse(intent.tradeId, 'ENTER', refusal);
      this.hooks.override('ENTRY_REFUSED', intent.tradeId, refusal);
      return { accepted: false, reason: refusal };
    }
    const t = this.newTrade({
      id: intent.tradeId,
      asset: intent.asset,
      side: intent.side,
      leverage: intent.leverage,
      entryTs: intent.ts,
      legCount: intent.legRatios.length,
    });
    this.trade = t;
    this.move(t, 'DECISION_CREATED', `ENTER ${intent.side} lev ${intent.leverage}`);
    const order = this.newOrder(t, 'ENTRY', intent.targetSize, 'ENTER', 0, 0, intent.referencePrice, false);
    await this.submit(
      t,
      order,
      intent.side === 'SHORT' ? 'SELL' : 'BUY',
      false,
      'ORDER_REQUESTED',
      'ORDER_SENT',
    );
    return { accepted: true, reason: 'submitted' };
  }

  private async exit(intent: ExitIntent): Promise<IntentOutcome> {
    const t = this.trade;
    if (!t || t.id !== intent.tradeId) {
      const reason = t ? `slot holds ${t.id}, not ${intent.tradeId}` : `trade ${intent.tradeId} is closed`;
      this.refuse(intent.tradeId, 'EXIT', reason);
      return { accepted: false, reason };
    }
    if (t.order || !acceptsExit(t.stage) || t.retry) {
      t.queue.push(intent);
      return { accepted: true, reason: 'queued behind the order in flight' };
    }
    await this.submitExit(t, intent, 0);
    return { accepted: true, reason: 'submitted' };
  }

  private async submitExit(t: Trade, intent: ExitIntent, attempt: number): Promise<void> {
    // Legs are fractions of the initial size; the final leg (and any overshoot) is clamped to what remains.
    const wanted = intent.final ? t.remainingQty : intent.fraction * t.initialQty;
    const qty = Math.min(wanted, t.remainingQty);
    t.exitReason = intent.reason;
    if (qty <= EPS) {
      this.refuse(t.id, 'EXIT', `nothing left to exit (remaining ${t.remainingQty})`);
      return this.next(t);
    }
    let fresh = attempt;
    while (this.spent.has(`order:${clientOrderIdFor(t.id, t.legSeq, fresh)}`)) fresh += 1;
    const order = this.newOrder(
      t,
      'EXIT',
      qty,
      intent.reason,
      t.legSeq,
      fresh,
      intent.referencePrice,
      intent.final,
    );
    const side = t.side === 'SHORT' ? 'BUY' : 'SELL';
    await this.submit(t, order, side, true, 'EXIT_REQUESTED', 'EXIT_SENT');
  }

  private newOrder(
    t: Trade,
    purpose: Purpose,
    qty: number,
    reason: string,
    leg: number,
    attempt: number,
    referencePrice: number,
    final: boolean,
  ): LiveOrder {
    return {
      clientOrderId: clientOrderIdFor(t.id, purpose === 'ENTRY' ? 'e' : leg, attempt),
      exchangeOrderId: '',
      purpose,
      qty,
      filledQty: 0,
      notional: 0,
      realized: 0,
      reason,
      leg,
      attempt,
      submittedAt: this.now,
      referencePrice,
      final,
      lookupAt: null,
      doneFilledQty: null,
      doneStatus: null,
      cancelRequested: false,
    };
  }

  private async submit(
    t: Trade,
    o: LiveOrder,
    side: 'BUY' | 'SELL',
    reduceOnly: boolean,
    requested: TradeStage,
    sent: TradeStage,
  ): Promise<void> {
    t.order = o;
    if (t.stage !== requested) this.move(t, requested, `${o.purpose} ${side} ${o.qty}`, o);
    this.orderEvent(t, o, 'REQUESTED');
    const request: OrderRequest = {
      clientOrderId: o.clientOrderId,
      tradeId: t.id,
      asset: t.asset,
      side,
      qty: o.qty,
      reduceOnly,
      type: 'MARKET',
      leverage: t.leverage,
      referencePrice: o.referencePrice,
      ts: this.now,
    };
    this.spent.add(`order:${o.clientOrderId}`); // the venue may see it from now on
    const writing = this.hooks.beforeSubmit?.({
      clientOrderId: o.clientOrderId,
      tradeId: t.id,
      asset: t.asset,
      purpose: o.purpose,
      side,
      qty: o.qty,
      reason: o.reason,
      leg: o.leg,
      attempt: o.attempt,
      final: o.final,
      referencePrice: o.referencePrice,
      ts: this.now,
    });
    try {
      if (writing) await writing;
      // Taken at the instant it leaves; a resubmission under the same client id keeps the first.
      if (!o.arrivalPrice) {
        const arrival = this.hooks.arrival?.(t.asset);
        if (arrival && arrival.price > 0) {
          o.arrivalPrice = arrival.price;
          o.arrivalSource = arrival.source;
        }
      }
      await this.venue.submit(request);
    } catch (err) {
      if (err instanceof SubmitOutcomeUnknown) {
        // The order may or may not be on the venue: find it by client id before anything else.
        o.lookupAt = this.now + this.cfg.lookupAfterMs;
        this.orderEvent(t, o, 'UNKNOWN', (err as Error).message);
        return;
      }
      return this.onReject(t, o, (err as Error).message);
    }
    // A fast venue may already have answered (a reject inside submit); only move on if still ours.
    if (t.order === o && t.stage === requested) {
      this.move(t, sent, o.clientOrderId, o);
      this.orderEvent(t, o, 'SENT');
    }
  }

  private async lookup(t: Trade, o: LiveOrder): Promise<void> {
    o.lookupAt = null;
    const found = await this.venue.lookup(o.clientOrderId, t.asset).catch(() => null);
    if (found === null) {
      o.lookupAt = this.now + this.cfg.lookupAfterMs;
      return;
    }
    if (!found.found) {
      // Not on the venue: resubmit under the SAME client id, so a late original can never double it.
      const side =
        o.purpose === 'ENTRY' ? (t.side === 'SHORT' ? 'SELL' : 'BUY') : t.side === 'SHORT' ? 'BUY' : 'SELL';
      const requested = t.stage;
      this.hooks.emit({
        type: 'correction',
        ts: this.now,
        tradeId: t.id,
        what: 'RESUBMIT_AFTER_UNKNOWN',
        detail: `${o.clientOrderId} not found on the venue; resubmitting with the same client order id`,
      });
      await this.submit(
        t,
        o,
        side,
        o.purpose === 'EXIT',
        requested,
        o.purpose === 'ENTRY' ? 'ORDER_SENT' : 'EXIT_SENT',
      );
      return;
    }
    o.exchangeOrderId = found.exchangeOrderId;
    if (t.stage === 'ORDER_REQUESTED') this.move(t, 'ORDER_SENT', `found ${found.exchangeOrderId}`, o);
    if (t.stage === 'EXIT_REQUESTED') this.move(t, 'EXIT_SENT', `found ${found.exchangeOrderId}`, o);
    this.orderEvent(t, o, 'SENT', `found by client id: ${found.status}`);
  }

  // ---- venue facts -----------------------------------------------------------------------------

  private async applyFact(fact: VenueFact): Promise<void> {
    switch (fact.kind) {
      case 'ack':
        return this.onAck(fact);
      case 'reject': {
        const t = this.trade;
        if (t?.order?.clientOrderId === fact.clientOrderId) await this.onReject(t, t.order, fact.reason);
        return;
      }
      case 'fill':
        return this.onFill(fact);
      case 'order_done':
        return this.onOrderDone(fact);
      case 'position':
        return this.onPosition(fact);
      case 'funding':
        return this.onFunding(fact.id, fact.asset, fact.amount, fact.ts);
      case 'anomaly':
        this.hooks.emit({
          type: 'correction',
          ts: fact.ts,
          tradeId: this.trade?.id ?? '',
          what: fact.what,
          detail: fact.detail,
        });
        return;
    }
  }

  private onAck({ clientOrderId, exchangeOrderId, venueTs }: AckFact): void {
    const t = this.trade;
    const o = t?.order;
    if (!t || !o || o.clientOrderId !== clientOrderId) return;
    o.exchangeOrderId = exchangeOrderId;
    if (venueTs && venueTs > 0) o.venueAckTs ??= venueTs;
    // A second ack (a venue repeating itself, or adding its own time) is not a second milestone.
    if (o.acknowledged) return;
    o.acknowledged = true;
    this.confirmSent(t, o, 'ack before send completed');
    if (t.stage === 'ORDER_SENT') this.move(t, 'ORDER_ACKNOWLEDGED', exchangeOrderId, o);
    if (t.stage === 'EXIT_SENT') this.move(t, 'EXIT_ACKNOWLEDGED', exchangeOrderId, o);
    this.orderEvent(t, o, 'ACKNOWLEDGED');
  }

  /** Any venue answer about an order proves it reached the venue. */
  private confirmSent(t: Trade, o: LiveOrder, why: string): void {
    o.lookupAt = null;
    if (t.stage === 'ORDER_REQUESTED') this.move(t, 'ORDER_SENT', why, o);
    if (t.stage === 'EXIT_REQUESTED') this.move(t, 'EXIT_SENT', why, o);
  }

  private async onReject(t: Trade, o: LiveOrder, reason: string): Promise<void> {
    this.orderEvent(t, o, 'REJECTED', reason);
    t.order = null;
    if (o.purpose === 'ENTRY') {
      if (o.filledQty > EPS) return this.finishEntry(t, o);
      return this.failEntry(t, 'ORDER_REJECTED', `entry ${o.clientOrderId} rejected: ${reason}`);
    }
    this.move(t, 'POSITION_UPDATED', `exit ${o.clientOrderId} rejected: ${reason}`, o);
    // Retry at once a few times, then keep retrying with a back-off: a position is never left behind.
    const quick = o.attempt + 1 < this.cfg.maxExitAttempts;
    t.retry = {
      intent: this.intentOf(t, o),
      attempt: o.attempt + 1,
      at: quick ? this.now : this.now + this.cfg.exitRetryBackoffMs,
    };
    if (o.attempt + 1 === this.cfg.maxExitAttempts)
      this.hooks.emit({
        type: 'correction',
        ts: this.now,
        tradeId: t.id,
        what: 'EXIT_RETRYING',
        detail: `exit ${o.reason} rejected ${this.cfg.maxExitAttempts} times (last: ${reason}); retrying every ${this.cfg.exitRetryBackoffMs} ms while the venue holds the position`,
      });
  }

  private intentOf(t: Trade, o: LiveOrder): ExitIntent {
    return {
      kind: 'EXIT',
      tradeId: t.id,
      scan: 0,
      ts: this.now,
      asset: t.asset,
      reason: o.reason as ExitReason,
      fraction: t.initialQty > 0 ? o.qty / t.initialQty : 1,
      final: o.final,
      referencePrice: o.referencePrice,
    };
  }

  private failEntry(t: Trade, stage: 'ORDER_REJECTED' | 'ENTRY_EXPIRED', detail: string): void {
    this.move(t, stage, detail);
    this.move(t, 'EMPTY', detail);
    this.trade = null;
    this.hooks.override('ENTRY_FAILED', t.id, detail);
  }

  private async onFill(f: FillFact): Promise<void> {
    const t = this.trade;
    const booked = f.clientOrderId === '' ? this.markBookings.get(f.asset) : undefined;
    if (booked && (!t || t.asset !== f.asset) && Math.abs(booked.qty - f.qty) < 1e-9)
      return this.lateFill(f, booked);
    const signed = f.side === 'SELL' ? -f.qty : f.qty;
    const applied = this.account.applyFill(signed, f.price, f.fee, f.ts);
    const mine = t && t.order?.clientOrderId === f.clientOrderId && f.clientOrderId !== '';
    // An exit of this trade the kernel no longer tracks (sent before a crash, superseded by a
    // later attempt): the trade's own fill all the same, so the trade shrinks with the venue.
    if (t && !mine && t.asset === f.asset && clientOrderIdOf(f.clientOrderId, t.id) === 'EXIT')
      return this.untrackedExitFill(t, f, applied);
    if (!t || t.asset !== f.asset || (!mine && f.clientOrderId !== '')) {
      this.fillEvent(f, t?.id ?? '', 'EXTERNAL', applied.realizedPnl);
      this.hooks.emit({
        type: 'correction',
        ts: f.ts,
        tradeId: t?.id ?? '',
        what: 'UNMATCHED_FILL',
        detail: `fill ${f.fillId} (${f.clientOrderId || 'no client id'}) on ${f.asset} matches no live order; applied to the account`,
      });
      this.accountEvent('FILL');
      return;
    }
    t.fees += f.fee;
    if (!mine && f.side === entrySide(t.side) && holdsPosition(t.stage))
      return this.externalAdd(t, f, applied);
    if (mine) this.confirmSent(t, t.order!, `fill ${f.fillId} before any ack`);
    const purpose = mine ? t.order!.purpose : f.liquidation ? 'LIQUIDATION' : 'EXTERNAL';
    this.fillEvent(f, t.id, purpose, applied.realizedPnl);
    if (purpose === 'ENTRY') {
      const o = t.order!;
      // A flat report from before this fill is stale: the fill re-opened the position (an
      // external close between two partial fills of the entry). Closing on it would leave
      // the venue's position without a trade.
      if (t.venueFlatSince !== null && f.ts > t.venueFlatSince) t.venueFlatSince = null;
      o.filledQty += f.qty;
      o.notional += f.qty * f.price;
      t.initialQty += f.qty;
      t.entryNotional += f.qty * f.price;
      t.realized += applied.realizedPnl;
      // An external close seen before this fill already took part of it away.
      const absorbed = Math.min(f.qty, t.externalExcess);
      t.externalExcess -= absorbed;
      t.remainingQty += f.qty - absorbed;
      const first = t.stage !== 'POSITION_OPENED' && t.stage !== 'POSITION_UPDATED';
      if (first) this.move(t, 'POSITION_OPENED', `filled ${f.qty} @ ${f.price}`, o);
      this.orderEvent(t, o, o.filledQty + EPS >= o.qty ? 'FILLED' : 'PARTIALLY_FILLED');
      if (o.doneFilledQty !== null && o.filledQty + EPS >= o.doneFilledQty) await this.finishEntry(t, o);
      else if (o.filledQty + EPS >= o.qty) await this.finishEntry(t, o);
    } else {
      const closed = Math.min(f.qty, t.remainingQty);
      if (purpose !== 'EXIT') t.externalExcess += f.qty - closed;
      t.remainingQty = Math.max(0, t.remainingQty - f.qty);
      if (t.remainingQty < EPS) t.remainingQty = 0;
      t.exitQty += closed;
      t.exitNotional += closed * f.price;
      t.realized += applied.realizedPnl;
      if (purpose === 'EXIT') {
        const o = t.order!;
        o.filledQty += f.qty;
        o.notional += f.qty * f.price;
        o.realized += applied.realizedPnl;
        this.orderEvent(t, o, o.filledQty + EPS >= o.qty ? 'FILLED' : 'PARTIALLY_FILLED');
        if (o.filledQty + EPS >= (o.doneFilledQty ?? o.qty)) await this.finishExit(t, o);
      } else {
        t.exitReason = purpose === 'LIQUIDATION' ? 'LIQUIDATION' : 'EXTERNAL_CLOSE';
      }
    }
    this.accountEvent('FILL');
    await this.maybeClose(t);
  }

  /**
   * A fill on the trade's own side that PINK did not send (a manual add on the venue): the
   * position grew, so the trade owns more. Booked with the venue's price and fee, and said.
   */
  private externalAdd(t: Trade, f: FillFact, applied: { realizedPnl: number }): void {
    t.initialQty += f.qty;
    t.remainingQty += f.qty;
    t.entryNotional += f.qty * f.price;
    t.realized += applied.realizedPnl;
    if (t.venueFlatSince !== null && f.ts > t.venueFlatSince) t.venueFlatSince = null;
    this.fillEvent(f, t.id, 'EXTERNAL', applied.realizedPnl);
    this.hooks.emit({
      type: 'correction',
      ts: f.ts,
      tradeId: t.id,
      what: 'EXTERNAL_ADD',
      detail: `fill ${f.fillId}: ${f.side} ${f.qty} ${f.asset} @ ${f.price} without PINK's client id added to the position; the trade now holds ${t.remainingQty}`,
    });
    // An exit in flight keeps its stage (its own facts move it on).
    if (!t.order) this.move(t, 'POSITION_UPDATED', `external add ${f.qty}`);
    this.accountEvent('FILL');
  }

  private async untrackedExitFill(t: Trade, f: FillFact, applied: { realizedPnl: number }): Promise<void> {
    const closed = Math.min(f.qty, t.remainingQty);
    t.fees += f.fee;
    t.remainingQty = Math.max(0, t.remainingQty - f.qty);
    if (t.remainingQty < EPS) t.remainingQty = 0;
    t.exitQty += closed;
    t.exitNotional += closed * f.price;
    t.realized += applied.realizedPnl;
    this.fillEvent(f, t.id, 'EXIT', applied.realizedPnl);
    this.hooks.emit({
      type: 'correction',
      ts: f.ts,
      tradeId: t.id,
      what: 'UNTRACKED_EXIT_FILL',
      detail: `fill ${f.fillId} of ${f.clientOrderId} (an exit of this trade no longer in flight) closed ${closed}; the trade holds ${t.remainingQty}`,
    });
    this.accountEvent('FILL');
    await this.maybeClose(t);
  }

  /** The fill of a close already booked at mark: book the price difference and the fee only. */
  private lateFill(f: FillFact, booked: { qty: number; price: number; sign: number }): void {
    this.markBookings.delete(f.asset);
    const realizedPnl = (f.price - booked.price) * booked.qty * booked.sign;
    this.account.correctRealized(realizedPnl, f.fee, f.ts);
    this.hooks.emit({
      type: 'fill',
      ts: f.ts,
      tradeId: '',
      clientOrderId: '',
      exchangeOrderId: f.exchangeOrderId,
      fillId: f.fillId,
      asset: f.asset,
      purpose: f.liquidation ? 'LIQUIDATION' : 'EXTERNAL',
      qty: 0,
      price: f.price,
      fee: f.fee,
      realizedPnl,
    });
    this.hooks.emit({
      type: 'correction',
      ts: f.ts,
      tradeId: '',
      what: 'LATE_CLOSING_FILL',
      detail: `fill ${f.fillId} for ${f.qty} ${f.asset} @ ${f.price} arrived after the close was booked at mark ${booked.price}; PnL corrected by ${realizedPnl}`,
    });
    this.accountEvent('CORRECTION');
  }

  private async onOrderDone(d: OrderDoneFact): Promise<void> {
    const t = this.trade;
    const o = t?.order;
    if (!t || !o || o.clientOrderId !== d.clientOrderId) return;
    this.confirmSent(t, o, `venue reports the order ${d.status}`);
    o.doneFilledQty = d.filledQty;
    o.doneStatus = d.status;
    if (d.placedTs && d.placedTs > 0) o.venueAckTs ??= d.placedTs;
    if (d.exchangeOrderId) o.exchangeOrderId = d.exchangeOrderId;
    // Callbacks reorder: the done notice may come before its fills. Wait for them.
    if (o.filledQty + EPS < d.filledQty) return;
    if (o.purpose === 'ENTRY') {
      if (o.filledQty <= EPS) {
        this.orderEvent(t, o, d.status === 'EXPIRED' ? 'EXPIRED' : 'CANCELLED');
        t.order = null;
        return this.failEntry(t, 'ENTRY_EXPIRED', `entry ${o.clientOrderId} ${d.status} with nothing filled`);
      }
      return this.finishEntry(t, o);
    }
    if (o.filledQty <= EPS) {
      this.orderEvent(t, o, d.status === 'EXPIRED' ? 'EXPIRED' : 'CANCELLED');
      return this.onReject(t, o, `exit ${d.status} with nothing filled`);
    }
    return this.finishExit(t, o);
  }

  private async finishEntry(t: Trade, o: LiveOrder): Promise<void> {
    if (t.order !== o) return;
    t.order = null;
    if (o.filledQty + EPS < o.qty) this.orderEvent(t, o, this.shortfallMilestone(o));
    this.orderEvent(t, o, 'REFLECTED', `position ${this.venuePosition(t.asset)}`);
    await this.next(t);
  }

  private async finishExit(t: Trade, o: LiveOrder): Promise<void> {
    if (t.order !== o) return;
    t.order = null;
    if (o.filledQty + EPS < o.qty) this.orderEvent(t, o, this.shortfallMilestone(o));
    const { row, next } = buildExitLegRow(t.legChain, {
      ts: this.now,
      strategy: this.cfg.strategy,
      tradeId: t.id,
      commandId: o.clientOrderId,
      reason: o.reason,
      asset: t.asset,
      side: t.side,
      entryPrice: t.initialQty > 0 ? t.entryNotional / t.initialQty : 0,
      exitPrice: o.filledQty > 0 ? o.notional / o.filledQty : 0,
      exitQty: o.filledQty,
      initialQty: t.initialQty,
      remainingQty: t.remainingQty,
      realizedTotal: t.realized,
      capitalAfter: this.account.capital,
      barsHeld: t.barsHeld,
      legCount: t.legCount,
    });
    t.legChain = next;
    t.legSeq += 1;
    this.hooks.emit({ type: 'exit_leg', ts: this.now, row });
    this.move(t, 'POSITION_UPDATED', `leg ${row.exit_seq} ${o.reason} done, remaining ${t.remainingQty}`, o);
    this.orderEvent(t, o, 'REFLECTED', `position ${this.venuePosition(t.asset)}`);
    if (await this.maybeClose(t)) return;
    // A final exit means flat: what is still held (an add on the venue meanwhile, a part the
    // venue cancelled) is exited again rather than left without anyone managing it.
    if (o.final && t.remainingQty > EPS && !t.queue.some((q) => q.final)) {
      t.queue.unshift(this.intentOf(t, o));
      this.hooks.emit({
        type: 'correction',
        ts: this.now,
        tradeId: t.id,
        what: 'FINAL_EXIT_REMAINDER',
        detail: `final exit ${o.clientOrderId} done with ${t.remainingQty} ${t.asset} still held: exiting that too`,
      });
    }
    await this.next(t);
  }

  /**
   * An order done with less than asked: FILLED when the venue says so (it rounded the
   * quantity to its step at the boundary), otherwise what is left was cancelled or expired.
   */
  private shortfallMilestone(o: LiveOrder): OrderMilestone {
    if (o.doneStatus === 'FILLED') return 'FILLED';
    return o.doneStatus === 'EXPIRED' ? 'EXPIRED' : 'CANCELLED';
  }

  /** Runs the next queued exit once nothing is in flight. */
  private async next(t: Trade): Promise<void> {
    if (this.trade !== t || t.order || !acceptsExit(t.stage)) return;
    const intent = t.queue.shift();
    if (intent) await this.submitExit(t, intent, 0);
  }

  private async onPosition(p: PositionFact): Promise<void> {
    this.venuePositions.set(p.asset, p.qty);
    const t = this.trade;
    if (!t || t.asset !== p.asset) {
      if (p.qty !== 0)
        this.hooks.emit({
          type: 'correction',
          ts: p.ts,
          tradeId: t?.id ?? '',
          what: 'UNTRACKED_POSITION',
          detail: `venue holds ${p.qty} ${p.asset} that no local trade owns`,
        });
      return;
    }
    if (p.qty === 0 && t.initialQty > 0) {
      t.venueFlatSince ??= this.now;
      await this.maybeClose(t);
    } else if (p.qty !== 0) {
      t.venueFlatSince = null;
    }
  }

  private async onFunding(id: string, asset: string, amount: number, ts: number): Promise<void> {
    this.account.applyFunding(amount, ts);
    const t = this.trade;
    const tradeId = t && t.asset === asset ? t.id : '';
    if (t && tradeId) t.funding += amount;
    this.hooks.emit({ type: 'funding', ts, id, tradeId, asset, amount });
    this.accountEvent('FUNDING');
  }

  /**
   * Closes the trade when, and only when, the venue reports the position gone and
   * every fill of our own exit is in. Returns whether it closed.
   */
  private async maybeClose(t: Trade): Promise<boolean> {
    if (this.trade !== t || t.venueFlatSince === null || !holdsPosition(t.stage)) return false;
    const exitPending = t.order?.purpose === 'EXIT' && t.remainingQty > EPS;
    // An entry still filling can re-open the position: the trade is not over until it is done.
    if (exitPending || t.order?.purpose === 'ENTRY') return false;
    if (t.remainingQty > EPS) {
      // Position reports can overtake fills: give the closing fill time to arrive.
      if (this.now - t.venueFlatSince < this.cfg.externalFillGraceMs) return false;
      // The venue closed what we still hold and no fill told us at what price: book at mark, say so.
      const mark = this.account.snapshot().markPrice;
      const qty = t.remainingQty;
      const applied = this.account.applyFill(t.side === 'SHORT' ? qty : -qty, mark, 0, this.now);
      this.markBookings.set(t.asset, { qty, price: mark, sign: t.side === 'SHORT' ? -1 : 1 });
      t.realized += applied.realizedPnl;
      t.exitQty += qty;
      t.exitNotional += qty * mark;
      t.remainingQty = 0;
      t.exitReason ??= 'EXTERNAL_CLOSE';
      this.hooks.emit({
        type: 'correction',
        ts: this.now,
        tradeId: t.id,
        what: 'CLOSED_WITHOUT_FILL',
        detail: `venue flat with ${qty} unaccounted; realized at mark ${mark}`,
      });
    }
    if (t.order) {
      this.orderEvent(t, t.order, 'CANCELLED', 'position closed on the venue');
      t.order = null;
    }
    const external = t.exitReason === 'EXTERNAL_CLOSE' || t.exitReason === 'LIQUIDATION';
    this.move(t, 'POSITION_CLOSED', `venue reports ${t.asset} flat`);
    const record = this.terminalRecord(t);
    this.hooks.emit({ type: 'trade_closed', ts: this.now, trade: record });
    this.move(t, 'TRADE_TERMINAL_WRITTEN', `${record.exitReason} pnl ${record.pnl}`);
    this.move(t, 'EMPTY', 'slot free');
    this.trade = null;
    this.closedTrades += 1;
    this.accountEvent('TRADE_CLOSED');
    if (external)
      this.hooks.override('POSITION_VANISHED', t.id, `${t.exitReason}: venue reports ${t.asset} flat`);
    return true;
  }

  private terminalRecord(t: Trade): TradeRecord {
    return {
      tradeId: t.id,
      asset: t.asset,
      side: t.side,
      entryTs: t.entryTs,
      exitTs: this.now,
      entryPrice: t.initialQty > 0 ? t.entryNotional / t.initialQty : 0,
      exitPrice: t.exitQty > 0 ? t.exitNotional / t.exitQty : 0,
      size: t.initialQty,
      leverage: t.leverage,
      pnl: t.realized,
      fees: t.fees,
      funding: t.funding,
      exitReason: t.exitReason ?? 'EXTERNAL_CLOSE',
      barsHeld: t.barsHeld,
      capitalAfter: this.account.capital,
      legs: t.legSeq,
    };
  }

  private async safeCancel(clientOrderId: string, asset: string): Promise<void> {
    try {
      await this.venue.cancel(clientOrderId, asset);
    } catch (err) {
      this.hooks.emit({
        type: 'correction',
        ts: this.now,
        tradeId: this.trade?.id ?? '',
        what: 'CANCEL_FAILED',
        detail: `cancel ${clientOrderId}: ${(err as Error).message}`,
      });
    }
  }

  // ---- event helpers ---------------------------------------------------------------------------

  private refuse(tradeId: string, intent: 'ENTER' | 'EXIT', reason: string): void {
    this.hooks.emit({ type: 'intent_refused', ts: this.now, tradeId, intent, reason });
  }

  private move(t: Trade, to: TradeStage, detail: string, o?: LiveOrder): void {
    assertTransition(t.stage, to, t.id);
    t.stage = to;
    this.hooks.emit({
      type: 'lifecycle',
      ts: this.now,
      tradeId: t.id,
      state: to,
      asset: t.asset,
      side: t.side,
      size: t.remainingQty,
      clientOrderId: o?.clientOrderId ?? '',
      exchangeOrderId: o?.exchangeOrderId ?? '',
      detail,
    });
  }

  private orderEvent(t: Trade, o: LiveOrder, milestone: OrderMilestone, reason = ''): void {
    this.hooks.emit({
      type: 'order',
      ts: this.now,
      monoNs: this.hooks.mono(),
      milestone,
      tradeId: t.id,
      clientOrderId: o.clientOrderId,
      exchangeOrderId: o.exchangeOrderId,
      asset: t.asset,
      purpose: o.purpose,
      qty: o.qty,
      filledQty: o.filledQty,
      avgPrice: o.filledQty > 0 ? o.notional / o.filledQty : 0,
      referencePrice: o.referencePrice,
      arrivalPrice: o.arrivalPrice ?? 0,
      arrivalSource: o.arrivalPrice ? (o.arrivalSource ?? ARRIVAL_SOURCE) : '',
      venueAckTs: o.venueAckTs ?? 0,
      reason: reason || o.reason,
    });
  }

  /** The canonical fill event: the venue's fill as it happened, with the trade and purpose PINK gives it. */
  private fillEvent(f: FillFact, tradeId: string, purpose: FillEvent['purpose'], realizedPnl: number): void {
    this.hooks.emit({
      type: 'fill',
      ts: f.ts,
      tradeId,
      clientOrderId: f.clientOrderId,
      exchangeOrderId: f.exchangeOrderId,
      fillId: f.fillId,
      asset: f.asset,
      purpose,
      qty: f.qty,
      price: f.price,
      fee: f.fee,
      realizedPnl,
    });
  }

  private accountEvent(cause: string): void {
    this.hooks.emit({ type: 'account', ts: this.now, snapshot: this.account.snapshot(), cause });
  }
}
