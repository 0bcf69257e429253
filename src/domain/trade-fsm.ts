/**
 * The single-slot trade lifecycle (DESIGN.md §4). A pure transition table: the
 * kernel asks `canTransition` before moving and records every move as an event.
 */

export const TRADE_STAGES = [
  'EMPTY',
  'DECISION_CREATED',
  'ORDER_REQUESTED',
  'ORDER_SENT',
  'ORDER_ACKNOWLEDGED',
  'POSITION_OPENED',
  'POSITION_UPDATED',
  'EXIT_REQUESTED',
  'EXIT_SENT',
  'EXIT_ACKNOWLEDGED',
  'POSITION_CLOSED',
  'TRADE_TERMINAL_WRITTEN',
  'ORDER_REJECTED',
  'ENTRY_EXPIRED',
  'RECOVERED',
] as const;

export type TradeStage = (typeof TRADE_STAGES)[number];

/** Stages in which the venue may hold a position for the trade. */
const POSITION_STAGES: readonly TradeStage[] = [
  'POSITION_OPENED',
  'POSITION_UPDATED',
  'EXIT_REQUESTED',
  'EXIT_SENT',
  'EXIT_ACKNOWLEDGED',
  'RECOVERED',
];

const EXIT_FLIGHT: readonly TradeStage[] = ['EXIT_REQUESTED', 'EXIT_SENT', 'EXIT_ACKNOWLEDGED'];

const TRANSITIONS: Readonly<Record<TradeStage, readonly TradeStage[]>> = {
  EMPTY: ['DECISION_CREATED', 'RECOVERED'],
  DECISION_CREATED: ['ORDER_REQUESTED', 'ORDER_REJECTED'],
  ORDER_REQUESTED: ['ORDER_SENT', 'ORDER_REJECTED', 'ENTRY_EXPIRED'],
  // A fill can be seen before its ack (callbacks reorder).
  ORDER_SENT: ['ORDER_ACKNOWLEDGED', 'ORDER_REJECTED', 'ENTRY_EXPIRED', 'POSITION_OPENED'],
  ORDER_ACKNOWLEDGED: ['POSITION_OPENED', 'ORDER_REJECTED', 'ENTRY_EXPIRED'],
  POSITION_OPENED: ['POSITION_UPDATED', 'EXIT_REQUESTED', 'POSITION_CLOSED'],
  POSITION_UPDATED: ['POSITION_UPDATED', 'EXIT_REQUESTED', 'POSITION_CLOSED'],
  EXIT_REQUESTED: ['EXIT_SENT', 'POSITION_UPDATED', 'POSITION_CLOSED'],
  EXIT_SENT: ['EXIT_ACKNOWLEDGED', 'POSITION_UPDATED', 'POSITION_CLOSED'],
  EXIT_ACKNOWLEDGED: ['POSITION_UPDATED', 'POSITION_CLOSED'],
  POSITION_CLOSED: ['TRADE_TERMINAL_WRITTEN'],
  TRADE_TERMINAL_WRITTEN: ['EMPTY'],
  ORDER_REJECTED: ['EMPTY'],
  ENTRY_EXPIRED: ['EMPTY'],
  RECOVERED: ['POSITION_UPDATED', 'EXIT_REQUESTED', 'POSITION_CLOSED'],
};

export function canTransition(from: TradeStage, to: TradeStage): boolean {
  return TRANSITIONS[from].includes(to);
}

export class IllegalTransition extends Error {
  override name = 'IllegalTransition';
  constructor(
    readonly from: TradeStage,
    readonly to: TradeStage,
    readonly tradeId: string,
  ) {
    super(`trade ${tradeId}: illegal transition ${from} -> ${to}`);
  }
}

export function assertTransition(from: TradeStage, to: TradeStage, tradeId: string): void {
  if (!canTransition(from, to)) throw new IllegalTransition(from, to, tradeId);
}

/** The venue may hold a position for the trade in this stage. */
export function holdsPosition(stage: TradeStage): boolean {
  return POSITION_STAGES.includes(stage);
}

export function exitInFlight(stage: TradeStage): boolean {
  return EXIT_FLIGHT.includes(stage);
}

/** The entry is done (filled, at least partly) and exits may be submitted. */
export function acceptsExit(stage: TradeStage): boolean {
  return stage === 'POSITION_OPENED' || stage === 'POSITION_UPDATED' || stage === 'RECOVERED';
}
