/**
 * The `trade_exit_legs` row builder (reference: _LEG_COLUMNS of
 * reference_test_pink_multi_exit_groundwork.py.txt). Pure: per-leg deltas are
 * computed from the previous leg's state, which the caller keeps per trade.
 */

export interface ExitLegRow {
  readonly ts: number;
  readonly date: string;
  readonly strategy: string;
  readonly trade_id: string;
  readonly chain_root_trade_id: string;
  readonly chain_head_leg_id: string;
  readonly chain_prev_leg_id: string;
  readonly chain_seq: number;
  readonly chain_token: string;
  readonly chain_mode: string;
  readonly exit_leg_id: string;
  readonly exit_seq: number;
  readonly command_id: string;
  readonly source: string;
  readonly reason: string;
  readonly asset: string;
  readonly side: string;
  readonly entry_price: number;
  readonly exit_price: number;
  readonly fraction: number;
  readonly capital_before: number;
  readonly capital_after: number;
  readonly exit_notional: number;
  readonly remaining_notional: number;
  readonly remaining_qty: number;
  readonly pnl_pct_leg: number;
  readonly pnl_leg: number;
  readonly pnl_realized_total: number;
  readonly bars_held: number;
}

export const EXIT_LEG_COLUMNS: readonly (keyof ExitLegRow)[] = [
  'ts',
  'date',
  'strategy',
  'trade_id',
  'chain_root_trade_id',
  'chain_head_leg_id',
  'chain_prev_leg_id',
  'chain_seq',
  'chain_token',
  'chain_mode',
  'exit_leg_id',
  'exit_seq',
  'command_id',
  'source',
  'reason',
  'asset',
  'side',
  'entry_price',
  'exit_price',
  'fraction',
  'capital_before',
  'capital_after',
  'exit_notional',
  'remaining_notional',
  'remaining_qty',
  'pnl_pct_leg',
  'pnl_leg',
  'pnl_realized_total',
  'bars_held',
];

/** What the previous leg left behind; reset when the trade enters. */
export interface LegChainState {
  readonly seq: number;
  readonly prevLegId: string;
  readonly prevRealized: number;
  readonly prevCapital: number;
}

export function startLegChain(capitalAtEntry: number): LegChainState {
  return { seq: 0, prevLegId: '', prevRealized: 0, prevCapital: capitalAtEntry };
}

export interface LegInput {
  readonly ts: number;
  readonly strategy: string;
  readonly tradeId: string;
  readonly commandId: string;
  readonly reason: string;
  readonly asset: string;
  readonly side: string;
  readonly entryPrice: number;
  readonly exitPrice: number;
  readonly exitQty: number;
  readonly initialQty: number;
  readonly remainingQty: number;
  /** Cumulative realized PnL of the trade after this leg. */
  readonly realizedTotal: number;
  readonly capitalAfter: number;
  readonly barsHeld: number;
  readonly legCount: number;
}

export function utcDate(ts: number): string {
  return new Date(ts).toISOString().slice(0, 10);
}

export function buildExitLegRow(
  prev: LegChainState,
  leg: LegInput,
): { row: ExitLegRow; next: LegChainState } {
  const legId = `${leg.tradeId}:leg${prev.seq}`;
  const pnlLeg = leg.realizedTotal - prev.prevRealized;
  const row: ExitLegRow = {
    ts: leg.ts,
    date: utcDate(leg.ts),
    strategy: leg.strategy,
    trade_id: leg.tradeId,
    chain_root_trade_id: leg.tradeId,
    chain_head_leg_id: legId,
    chain_prev_leg_id: prev.prevLegId,
    chain_seq: prev.seq,
    chain_token: `${leg.tradeId}#${prev.seq}`,
    chain_mode: leg.legCount > 1 ? 'MULTI_LEG' : 'SINGLE_LEG',
    exit_leg_id: legId,
    exit_seq: prev.seq,
    command_id: leg.commandId,
    source: 'ditav2',
    reason: leg.reason,
    asset: leg.asset,
    side: leg.side,
    entry_price: leg.entryPrice,
    exit_price: leg.exitPrice,
    fraction: leg.initialQty > 0 ? leg.exitQty / leg.initialQty : 0,
    capital_before: prev.prevCapital,
    capital_after: leg.capitalAfter,
    exit_notional: leg.exitQty * leg.exitPrice,
    remaining_notional: leg.remainingQty * leg.exitPrice,
    remaining_qty: leg.remainingQty,
    pnl_pct_leg: prev.prevCapital > 0 ? (pnlLeg / prev.prevCapital) * 100 : 0,
    pnl_leg: pnlLeg,
    pnl_realized_total: leg.realizedTotal,
    bars_held: leg.barsHeld,
  };
  return {
    row,
    next: {
      seq: prev.seq + 1,
      prevLegId: legId,
      prevRealized: leg.realizedTotal,
      prevCapital: leg.capitalAfter,
    },
  };
}
