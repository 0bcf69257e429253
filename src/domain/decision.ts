/** Decision and Intent (the D and I of DITA). Pure data. */

export type Action = 'ENTER' | 'EXIT' | 'HOLD' | 'NONE';
export type Side = 'SHORT' | 'LONG';
export type ExitReason = 'TP1' | 'TP2' | 'TP3' | 'TP4' | 'STOP_LOSS' | 'MAX_HOLD' | 'FLATTEN';
export type TerminalReason = ExitReason | 'EXTERNAL_CLOSE' | 'LIQUIDATION' | 'RECOVERED_CLOSE';

/** One line of the decision log (ALGORITHM.md §4), field order as specified. */
export interface DecisionRecord {
  readonly scan: number;
  readonly ts: number;
  readonly fired: boolean;
  readonly action: Action;
  readonly asset: string;
  readonly side: Side | '';
  readonly leverage: number;
  readonly reason: string;
  readonly bars_held: number;
}

/** What the kernel needs beyond the log record to act on ENTER/EXIT. */
export interface DecisionOrder {
  /** Scan price of the asset (the entry reference on ENTER). */
  readonly referencePrice: number;
  /** ENTER: capital * fraction * leverage / price; no venue precision applied. */
  readonly targetSize: number;
  readonly confidence: number;
  /** EXIT: leg index for a take-profit leg, or null for stop/max-hold. */
  readonly leg: number | null;
  /** EXIT: share of the *initial* size; ignored when `final`. */
  readonly fraction: number;
  /** EXIT: exits whatever remains (clamped). */
  readonly final: boolean;
  /** ENTER: the take-profit leg ratios, fixed for the trade. */
  readonly legRatios: readonly number[];
  /**
   * The trade the order belongs to: on ENTER the new trade's id, on EXIT the id of the
   * trade the strategy holds (for an adopted RECOVERED trade that is not derived from
   * any entry scan).
   */
  readonly tradeId: string;
}

export interface Decision {
  readonly record: DecisionRecord;
  /** Present on ENTER and EXIT only. */
  readonly order: DecisionOrder | null;
}

export type Intent = EnterIntent | ExitIntent;

export interface EnterIntent {
  readonly kind: 'ENTER';
  readonly tradeId: string;
  readonly scan: number;
  readonly ts: number;
  readonly asset: string;
  readonly side: Side;
  readonly leverage: number;
  readonly targetSize: number;
  readonly referencePrice: number;
  readonly legRatios: readonly number[];
}

export interface ExitIntent {
  readonly kind: 'EXIT';
  readonly tradeId: string;
  readonly scan: number;
  readonly ts: number;
  readonly asset: string;
  readonly reason: ExitReason;
  /** Share of the trade's initial size; ignored when `final` (the remainder exits). */
  readonly fraction: number;
  readonly final: boolean;
  readonly referencePrice: number;
}

/** Trade ids are deterministic: the asset and the entry scan number. */
export function tradeIdFor(asset: string, scan: number): string {
  return `${asset}-T-${String(scan).padStart(12, '0')}`;
}

/** Turns a decision into an intent; HOLD and NONE produce none. */
export function intentFromDecision(decision: Decision): Intent | null {
  const { record, order } = decision;
  if (!order) return null;
  const { tradeId } = order;
  if (record.action === 'ENTER') {
    return {
      kind: 'ENTER',
      tradeId,
      scan: record.scan,
      ts: record.ts,
      asset: record.asset,
      side: record.side === 'LONG' ? 'LONG' : 'SHORT',
      leverage: record.leverage,
      targetSize: order.targetSize,
      referencePrice: order.referencePrice,
      legRatios: order.legRatios,
    };
  }
  if (record.action === 'EXIT') {
    return {
      kind: 'EXIT',
      tradeId,
      scan: record.scan,
      ts: record.ts,
      asset: record.asset,
      reason: record.reason as ExitReason,
      fraction: order.fraction,
      final: order.final,
      referencePrice: order.referencePrice,
    };
  }
  return null;
}
