/**
 * The figures of `pink report` (what report.json holds and the page and plots show),
 * and the pure computations on them: equity curve and drawdown, ROI, data-rate verdicts.
 * docs/report.md says where each figure comes from.
 */

import type { ShortfallParts } from './shortfall.js';

/** DESIGN.md §7: account_events must stay within 5 MB/day (decimal MB) and 5 rows/s. */
export const ACCOUNT_EVENTS_CAP_BYTES_PER_DAY = 5_000_000;
export const ACCOUNT_EVENTS_CAP_ROWS_PER_SEC = 5;

export const LATENCY_LEGS = [
  { column: 'decision_to_submit_us', label: 'decision -> submit' },
  { column: 'submit_to_ack_us', label: 'submit -> ack' },
  { column: 'ack_to_first_fill_us', label: 'ack -> first fill' },
  { column: 'first_fill_to_done_us', label: 'first fill -> done' },
] as const;

export const SLIPPAGE_KINDS = [
  { column: 'slippage_vs_reference_bps', label: 'vs decision reference price' },
  { column: 'slippage_vs_arrival_bps', label: 'vs arrival price' },
] as const;

/** Post-fill markouts (execution_quality, latest row version per order). */
export const MARKOUT_KINDS = [
  { column: 'markout_5s_bps', label: '5 s after the last fill' },
  { column: 'markout_60s_bps', label: '60 s after the last fill' },
  { column: 'markout_300s_bps', label: '300 s after the last fill' },
] as const;

export type LatencyColumn = (typeof LATENCY_LEGS)[number]['column'];
export type SlippageColumn = (typeof SLIPPAGE_KINDS)[number]['column'];
export type MarkoutColumn = (typeof MARKOUT_KINDS)[number]['column'];

export interface Kpis {
  readonly trades: number;
  /** Trades with net PnL (after fees and funding) > 0 / < 0. */
  readonly wins: number;
  readonly losses: number;
  readonly winRatePct: number | null;
  /** Sum of trade PnL before fees and funding. */
  readonly realizedPnl: number;
  readonly fees: number;
  /** Funding paid (positive = cost, negative = received). */
  readonly funding: number;
  /** realizedPnl - fees - funding. */
  readonly netPnl: number;
  /** realizedPnl / initial capital, in %. */
  readonly realizedRoiPct: number | null;
  /** netPnl / initial capital, in %. */
  readonly costAdjustedRoiPct: number | null;
  /** Mark-to-market equity change (operator capital changes taken out) / initial capital, in %. */
  readonly openEquityRoiPct: number | null;
}

export interface DailyKpis extends Kpis {
  /** UTC day, YYYY-MM-DD. */
  readonly day: string;
  /** Equity at the day's last status tick (null: no tick that day). */
  readonly endEquity: number | null;
}

export interface OverallKpis extends Kpis {
  /** Deepest drop of the equity curve below its running peak, in % (<= 0) and in USDT. */
  readonly maxDrawdownPct: number | null;
  readonly maxDrawdown: number | null;
}

export interface ExitReasonRow {
  readonly reason: string;
  readonly trades: number;
  readonly wins: number;
  readonly losses: number;
  readonly realizedPnl: number;
  readonly netPnl: number;
  readonly sharePct: number;
}

export interface ExitLegReasonRow {
  readonly reason: string;
  readonly legs: number;
  readonly pnl: number;
}

export interface DistStats {
  readonly count: number;
  readonly mean: number | null;
  readonly min: number | null;
  readonly p10: number | null;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export interface LatencyFigure {
  readonly column: LatencyColumn;
  readonly label: string;
  /** Microseconds. */
  readonly stats: DistStats;
}

export interface SlippageFigure {
  readonly column: SlippageColumn;
  readonly label: string;
  /** Basis points, positive = cost. */
  readonly stats: DistStats;
}

export interface MarkoutFigure {
  readonly column: MarkoutColumn;
  readonly label: string;
  /** Basis points, positive = the market moved in the order's favour after the fill. */
  readonly stats: DistStats;
}

export interface OrderStatusRow {
  readonly purpose: string;
  readonly finalStatus: string;
  readonly orders: number;
}

/** The rates a desk watches, per asset or per UTC day (execution_quality). */
export interface ExecutionRateRow {
  /** The asset, or the UTC day (YYYY-MM-DD). */
  readonly key: string;
  readonly orders: number;
  /** Filled quantity / requested quantity, in % (null: nothing requested). */
  readonly fillRatioPct: number | null;
  readonly rejectRatePct: number | null;
  /** CANCELLED and EXPIRED orders, in %. */
  readonly cancelRatePct: number | null;
  /** Submit -> first fill on the process's monotonic clock, ms, over the orders that filled. */
  readonly timeToFillMs: {
    readonly count: number;
    readonly p50: number | null;
    readonly p90: number | null;
    readonly p99: number | null;
  };
}

export interface RejectReasonRow {
  readonly reason: string;
  readonly orders: number;
  /** Share of all rejects, in %. */
  readonly sharePct: number;
}

export interface ExecutionRates {
  readonly byAsset: readonly ExecutionRateRow[];
  readonly byDay: readonly ExecutionRateRow[];
  /** The venue's reasons, most frequent first (at most 50). */
  readonly rejectReasons: readonly RejectReasonRow[];
  /** Why there are no rates (a ledger older than their columns), or null. */
  readonly unavailable: string | null;
}

export interface TableRate {
  readonly table: string;
  /** Rows in scope (all rows of the table when no --run-id/--from/--to). */
  readonly rows: number;
  /** All rows of the table (active parts). */
  readonly tableRows: number;
  readonly firstTs: string | null;
  readonly lastTs: string | null;
  /** Bytes of the rows in scope: the table's bytes, pro rata rows when the scope is a subset. */
  readonly compressedBytes: number;
  readonly uncompressedBytes: number;
  readonly bytesEstimated: boolean;
  /** Over the covered time span (null when it is zero). */
  readonly rowsPerSec: number | null;
  readonly compressedBytesPerDay: number | null;
  readonly uncompressedBytesPerDay: number | null;
}

export type Verdict = 'PASS' | 'OVER' | 'N/A';

export interface AccountEventsCap {
  readonly capBytesPerDay: number;
  readonly bytesPerDay: number | null;
  readonly uncompressedBytesPerDay: number | null;
  /** Compressed (stored) bytes per day against the cap. */
  readonly verdict: Verdict;
  readonly capRowsPerSec: number;
  readonly rowsPerSec: number | null;
  readonly rowsVerdict: Verdict;
}

export interface RunInfo {
  readonly runId: string;
  readonly firstTs: string;
  readonly lastTs: string;
  readonly rows: number;
}

export interface EquityPoint {
  /** Epoch ms (UTC). */
  readonly ts: number;
  readonly capital: number;
  readonly equity: number;
  /** Equity less the operator capital changes so far: what drawdown and ROI are measured on. */
  readonly performanceEquity: number;
  /** performanceEquity - running peak (<= 0), USDT and %. */
  readonly drawdown: number;
  readonly drawdownPct: number;
}

export type EquitySource = 'status_snapshots' | 'trade_events' | 'none';
export type InitialCapitalSource = 'status_snapshot' | 'first_trade' | 'config' | 'none';

/** Implementation shortfall per UTC day of the trades' close (see shortfall.ts). */
export interface ShortfallDay extends ShortfallParts {
  readonly day: string;
  readonly trades: number;
}

export interface ShortfallFigures {
  readonly trades: number;
  readonly total: ShortfallParts;
  readonly byDay: readonly ShortfallDay[];
  /** Largest |reference - delay - slippage - fees - funding - venue - realized| over the trades. */
  readonly maxIdentityError: number;
}

export interface ReportFigures {
  readonly version: 1;
  readonly generatedAt: string;
  readonly database: string;
  readonly scope: {
    readonly runId: string | null;
    readonly from: string | null;
    readonly to: string | null;
    /** First and last row timestamp over every table in scope. */
    readonly coveredFrom: string | null;
    readonly coveredTo: string | null;
    readonly spanSeconds: number | null;
    /** Runs with rows in the time window (all of them, also when --run-id picks one). */
    readonly runs: readonly RunInfo[];
  };
  readonly capital: {
    readonly initial: number | null;
    readonly initialSource: InitialCapitalSource;
    readonly initialTs: string | null;
    readonly final: number | null;
    readonly finalEquity: number | null;
    /** Sum of operator capital changes (SET_CAPITAL / CAPITAL_UPDATE deltas) in scope. */
    readonly adjustments: number;
    /** The trade open at the last status tick (its effects are in final/finalEquity, not in the trade KPIs). */
    readonly openTradeAtEnd: string | null;
  };
  readonly noTrades: boolean;
  readonly overall: OverallKpis;
  readonly daily: readonly DailyKpis[];
  readonly exitsByReason: readonly ExitReasonRow[];
  readonly exitLegsByReason: readonly ExitLegReasonRow[];
  readonly execution: {
    readonly orders: number;
    readonly byStatus: readonly OrderStatusRow[];
    readonly rates: ExecutionRates;
    readonly latency: readonly LatencyFigure[];
    readonly slippage: readonly SlippageFigure[];
    readonly markouts: readonly MarkoutFigure[];
    readonly shortfall: ShortfallFigures;
  };
  readonly dataRates: {
    readonly spanSeconds: number | null;
    readonly tables: readonly TableRate[];
    readonly accountEvents: AccountEventsCap;
  };
  readonly series: {
    readonly equitySource: EquitySource;
    /** Width of the time buckets the status ticks were thinned to (0 = every tick). */
    readonly equityBucketMs: number;
    readonly equity: readonly EquityPoint[];
    /** The most recent orders' values (at most samplesLimit per column) for the histograms. */
    readonly latencySamples: Readonly<Record<LatencyColumn, readonly number[]>>;
    readonly slippageSamples: Readonly<Record<SlippageColumn, readonly number[]>>;
    readonly markoutSamples: Readonly<Record<MarkoutColumn, readonly number[]>>;
    readonly samplesLimit: number;
    readonly samplesTruncated: boolean;
  };
  /** Spooled batches not yet in ClickHouse (so not in this report); null when unknown. */
  readonly spoolDepth: number | null;
  readonly notes: readonly string[];
}

// ---- pure computations ------------------------------------------------------------------------

export const pct = (part: number, whole: number | null): number | null =>
  whole === null || whole === 0 || !Number.isFinite(whole) ? null : (part / whole) * 100;

export interface RawEquityPoint {
  readonly ts: number;
  readonly capital: number;
  readonly equity: number;
  /** Lowest / highest equity inside the point's bucket (= equity when not thinned). */
  readonly minEquity?: number;
  readonly maxEquity?: number;
}

export interface CapitalChange {
  readonly ts: number;
  readonly delta: number;
}

/**
 * Equity curve with drawdown. Operator capital changes are taken out first (a withdrawal
 * is not a loss): performance equity = equity - sum of the deltas up to that time.
 * Drawdown = performance equity - running peak. For a thinned bucket, its lowest equity is
 * held against the highest so far (conservative: it may overstate, never understate).
 */
export function equityCurve(
  points: readonly RawEquityPoint[],
  changes: readonly CapitalChange[],
): EquityPoint[] {
  const sorted = [...changes].sort((a, b) => a.ts - b.ts);
  let ci = 0;
  let adj = 0;
  let peak = Number.NEGATIVE_INFINITY;
  return points.map((p) => {
    while (ci < sorted.length && sorted[ci]!.ts <= p.ts) adj += sorted[ci++]!.delta;
    const perf = p.equity - adj;
    peak = Math.max(peak, (p.maxEquity ?? p.equity) - adj, perf);
    const low = Math.min(perf, (p.minEquity ?? p.equity) - adj);
    const drawdown = Math.min(0, low - peak);
    return {
      ts: p.ts,
      capital: p.capital,
      equity: p.equity,
      performanceEquity: perf,
      drawdown,
      drawdownPct: peak > 0 ? (drawdown / peak) * 100 : 0,
    };
  });
}

export function maxDrawdown(curve: readonly EquityPoint[]): { pct: number | null; usd: number | null } {
  if (curve.length === 0) return { pct: null, usd: null };
  let dPct = 0;
  let dUsd = 0;
  for (const p of curve) {
    dPct = Math.min(dPct, p.drawdownPct);
    dUsd = Math.min(dUsd, p.drawdown);
  }
  return { pct: dPct, usd: dUsd };
}

export interface TradeAggregate {
  readonly trades: number;
  readonly wins: number;
  readonly losses: number;
  readonly realizedPnl: number;
  readonly fees: number;
  readonly funding: number;
  readonly netPnl: number;
}

export const EMPTY_AGGREGATE: TradeAggregate = {
  trades: 0,
  wins: 0,
  losses: 0,
  realizedPnl: 0,
  fees: 0,
  funding: 0,
  netPnl: 0,
};

export function addAggregates(a: TradeAggregate, b: TradeAggregate): TradeAggregate {
  return {
    trades: a.trades + b.trades,
    wins: a.wins + b.wins,
    losses: a.losses + b.losses,
    realizedPnl: a.realizedPnl + b.realizedPnl,
    fees: a.fees + b.fees,
    funding: a.funding + b.funding,
    netPnl: a.netPnl + b.netPnl,
  };
}

export function kpis(a: TradeAggregate, initial: number | null, openEquityChange: number | null): Kpis {
  return {
    ...a,
    winRatePct: a.trades > 0 ? (a.wins / a.trades) * 100 : null,
    realizedRoiPct: pct(a.realizedPnl, initial),
    costAdjustedRoiPct: pct(a.netPnl, initial),
    openEquityRoiPct: openEquityChange === null ? null : pct(openEquityChange, initial),
  };
}

/** Per-second and per-day rates over the covered span (null when the span is zero). */
export function rate(amount: number, spanSeconds: number | null, per: 'second' | 'day'): number | null {
  if (spanSeconds === null || spanSeconds <= 0) return null;
  return per === 'second' ? amount / spanSeconds : (amount * 86_400) / spanSeconds;
}

export function verdict(value: number | null, cap: number): Verdict {
  if (value === null) return 'N/A';
  return value <= cap ? 'PASS' : 'OVER';
}

export function emptyStats(): DistStats {
  return { count: 0, mean: null, min: null, p10: null, p50: null, p90: null, p99: null, max: null };
}

/** ISO 8601 UTC text of an epoch ms. */
export const iso = (ms: number): string => new Date(ms).toISOString();
