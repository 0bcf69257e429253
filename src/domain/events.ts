/**
 * Canonical events: the single stream every projection and sink is fed from
 * (ClickHouse rows, Hazelcast state, KPIs, TUI). Append-only: a correction is a new
 * event, never an edited one.
 */

import type { AccountSnapshot } from './account.js';
import type { DecisionRecord, Side, TerminalReason } from './decision.js';
import type { ExitLegRow } from './exit-legs.js';
import type { TradeStage } from './trade-fsm.js';

export type CanonicalEvent =
  | ScanRejectedEvent
  | DecisionEvent
  | LifecycleEvent
  | OrderEvent
  | FillEvent
  | FundingEvent
  | ExitLegEvent
  | TradeClosedEvent
  | AccountEvent
  | StrategyOverrideEvent
  | IntentRefusedEvent
  | CorrectionEvent
  | ShadowExitEvent
  | StatusEvent
  | CapitalAdjustedEvent
  | MarkoutEvent
  | StrategyHealthEvent;

export interface ScanRejectedEvent {
  readonly type: 'scan_rejected';
  readonly ts: number;
  /** Where the scan came from: `file:line` for replays, `scan N` live. */
  readonly where: string;
  readonly reason: string;
}

export interface DecisionEvent {
  readonly type: 'decision';
  readonly ts: number;
  readonly record: DecisionRecord;
  readonly decisionHash: string;
  readonly chainHash: string;
}

export interface LifecycleEvent {
  readonly type: 'lifecycle';
  readonly ts: number;
  readonly tradeId: string;
  readonly state: TradeStage;
  readonly asset: string;
  readonly side: Side;
  /** Position size confirmed by the venue at this transition. */
  readonly size: number;
  readonly clientOrderId: string;
  readonly exchangeOrderId: string;
  readonly detail: string;
}

export type OrderMilestone =
  | 'REQUESTED'
  | 'SENT'
  | 'ACKNOWLEDGED'
  | 'REJECTED'
  | 'PARTIALLY_FILLED'
  | 'FILLED'
  | 'CANCELLED'
  | 'EXPIRED'
  | 'UNKNOWN'
  | 'REFLECTED';

/** Order milestones: requested -> sent -> acknowledged -> executed -> reflected on the exchange. */
export interface OrderEvent {
  readonly type: 'order';
  readonly ts: number;
  /** Monotonic process clock (ns) at the milestone, for latency decomposition. */
  readonly monoNs: bigint;
  readonly milestone: OrderMilestone;
  readonly tradeId: string;
  readonly clientOrderId: string;
  readonly exchangeOrderId: string;
  readonly asset: string;
  readonly purpose: 'ENTRY' | 'EXIT';
  readonly qty: number;
  readonly filledQty: number;
  readonly avgPrice: number;
  readonly referencePrice: number;
  /** The market when the order left; 0 before it left or when unknown. */
  readonly arrivalPrice: number;
  /** Where arrivalPrice comes from; '' when it is 0. */
  readonly arrivalSource: ArrivalSource | '';
  /**
   * The venue's own time it accepted the order (the venue's clock, ms), from its ack or its
   * order record; 0 until known. Beside the local monotonic legs, never mixed with them.
   */
  readonly venueAckTs: number;
  readonly reason: string;
}

/**
 * Where OrderEvent.arrivalPrice comes from (execution_quality.arrival_price_source): the
 * venue's own market when it streams one (mid of its best bid and ask, else its last trade
 * price), else the asset's price in the latest scan.
 */
export const ARRIVAL_SOURCES = {
  venueMid: 'venue_mid_at_submit',
  venueLast: 'venue_last_at_submit',
  scan: 'scan_price_at_submit',
} as const;
export type ArrivalSource = (typeof ARRIVAL_SOURCES)[keyof typeof ARRIVAL_SOURCES];
/** The scan's price, what replays and the sim venue use. */
export const ARRIVAL_SOURCE = ARRIVAL_SOURCES.scan;

/** The market an order meets as it leaves, and where that price comes from. */
export interface Arrival {
  readonly price: number;
  readonly source: ArrivalSource;
}

export interface FillEvent {
  readonly type: 'fill';
  readonly ts: number;
  readonly tradeId: string;
  readonly clientOrderId: string;
  readonly exchangeOrderId: string;
  readonly fillId: string;
  readonly asset: string;
  readonly purpose: 'ENTRY' | 'EXIT' | 'EXTERNAL' | 'LIQUIDATION';
  readonly qty: number;
  readonly price: number;
  readonly fee: number;
  /** Realized PnL of this fill (exits only; gross of fees). */
  readonly realizedPnl: number;
}

export interface FundingEvent {
  readonly type: 'funding';
  readonly ts: number;
  readonly id: string;
  readonly tradeId: string;
  readonly asset: string;
  readonly amount: number;
}

export interface ExitLegEvent {
  readonly type: 'exit_leg';
  readonly ts: number;
  readonly row: ExitLegRow;
}

/** The terminal record of a completed trade (one per trade, after the venue confirms flat). */
export interface TradeRecord {
  readonly tradeId: string;
  readonly asset: string;
  readonly side: Side;
  readonly entryTs: number;
  readonly exitTs: number;
  readonly entryPrice: number;
  readonly exitPrice: number;
  /** Initial (entry-filled) size. */
  readonly size: number;
  readonly leverage: number;
  readonly pnl: number;
  readonly fees: number;
  readonly funding: number;
  readonly exitReason: TerminalReason;
  readonly barsHeld: number;
  readonly capitalAfter: number;
  readonly legs: number;
}

export interface TradeClosedEvent {
  readonly type: 'trade_closed';
  readonly ts: number;
  readonly trade: TradeRecord;
}

export interface AccountEvent {
  readonly type: 'account';
  readonly ts: number;
  readonly snapshot: AccountSnapshot;
  readonly cause: string;
}

/** A venue fact overrode the strategy's slot memory (ALGORITHM.md §3); parity excuses only these. */
export type OverrideKind = 'ENTRY_FAILED' | 'POSITION_VANISHED' | 'ENTRY_REFUSED' | 'FLATTENED';

export interface StrategyOverrideEvent {
  readonly type: 'strategy_override';
  readonly ts: number;
  readonly kind: OverrideKind;
  readonly tradeId: string;
  /** The venue fact that caused it: order id, reject reason, external close. */
  readonly venueFact: string;
}

export interface IntentRefusedEvent {
  readonly type: 'intent_refused';
  readonly ts: number;
  readonly tradeId: string;
  readonly intent: 'ENTER' | 'EXIT';
  readonly reason: string;
}

/** Start-up recovery or authority corrections: what was wrong and what the venue says. */
export interface CorrectionEvent {
  readonly type: 'correction';
  readonly ts: number;
  readonly tradeId: string;
  readonly what: string;
  readonly detail: string;
}

/** Shadow-only exit analysis per open-trade bar; never acts. */
export interface ShadowExitEvent {
  readonly type: 'shadow_exit';
  readonly ts: number;
  readonly tradeId: string;
  readonly scan: number;
  readonly asset: string;
  readonly barsHeld: number;
  readonly price: number;
  readonly moveBps: number;
  readonly peakMoveBps: number;
  readonly shadowAction: 'HOLD' | 'EXIT';
  readonly shadowReason: string;
}

export type EventSink = (event: CanonicalEvent) => void;

/** A status tick (status_snapshots): the capital path that capital replay starts from. */
export interface StatusEvent {
  readonly type: 'status';
  readonly ts: number;
  readonly capital: number;
  readonly equity: number;
  readonly posture: 'RUNNING' | 'PAUSED' | 'STOPPING';
  readonly tradesExecuted: number;
  readonly openTradeId: string;
  readonly heartbeatAgeMs: number;
  readonly lastScan: number;
}

/** An operator capital change (SET_CAPITAL / CAPITAL_UPDATE): recorded, never silent. */
export interface CapitalAdjustedEvent {
  readonly type: 'capital_adjusted';
  readonly ts: number;
  readonly kind: 'SET_CAPITAL' | 'CAPITAL_UPDATE';
  readonly commandId: string;
  readonly delta: number;
  readonly capital: number;
}

/**
 * The strategy could not decide (its process failed: PINK fails closed, no decision, entries
 * paused) or decides again after a restart. One per change, not per scan.
 */
export interface StrategyHealthEvent {
  readonly type: 'strategy_health';
  readonly ts: number;
  /** The scan that found it failed, or the first it decided again. */
  readonly scan: number;
  readonly state: 'FAILED' | 'RECOVERED';
  readonly reason: string;
  readonly capital: number;
  readonly equity: number;
}

/** Post-fill markout horizons, seconds of market time (execution_quality.markout_<h>s_bps). */
export const MARKOUT_HORIZONS_S = [5, 60, 300] as const;
export type MarkoutHorizon = (typeof MARKOUT_HORIZONS_S)[number];

/**
 * Horizons of one filled order that passed at this scan: the market as of
 * `fillTs + horizon` (the last scan price at or before that instant) against the order's
 * average fill price, in bps, positive when the market moved in the order's favour.
 */
export interface MarkoutEvent {
  readonly type: 'markout';
  /** The scan at which the horizons passed. */
  readonly ts: number;
  readonly tradeId: string;
  readonly clientOrderId: string;
  readonly asset: string;
  readonly orderSide: 'BUY' | 'SELL';
  readonly avgFillPrice: number;
  /** The order's last fill (exchange time): horizons count from here. */
  readonly fillTs: number;
  readonly markouts: readonly {
    readonly horizonS: MarkoutHorizon;
    readonly markPrice: number;
    readonly bps: number;
  }[];
}
