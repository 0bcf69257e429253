/**
 * Ledger -> report figures. Read-only: SELECTs on the namespace database's tables and on
 * system.tables / system.parts, nothing else. Tables are addressed `db.table` like the
 * rest of the code; every value from the command line travels as a query parameter.
 * A table that does not exist (a ledger never written) reads as empty.
 */
import {
  chTs,
  LEDGER_TABLES,
  msFromChTs,
  oncePerCommand,
  WITH_RUN_COLUMNS,
} from '../adapters/clickhouse/rows.js';
import { getOrCreate } from '../domain/maps.js';
import type { LedgerStore } from '../ports/ledger.js';
import {
  ACCOUNT_EVENTS_CAP_BYTES_PER_DAY,
  ACCOUNT_EVENTS_CAP_ROWS_PER_SEC,
  addAggregates,
  type CapitalChange,
  type DailyKpis,
  type DistStats,
  EMPTY_AGGREGATE,
  type EquityPoint,
  type EquitySource,
  type ExecutionRateRow,
  type ExecutionRates,
  type ExitLegReasonRow,
  type ExitReasonRow,
  emptyStats,
  equityCurve,
  type InitialCapitalSource,
  iso,
  kpis,
  LATENCY_LEGS,
  type LatencyColumn,
  MARKOUT_KINDS,
  type MarkoutColumn,
  maxDrawdown,
  type OrderStatusRow,
  type RawEquityPoint,
  type ReportFigures,
  type RunInfo,
  rate,
  type ShortfallFigures,
  SLIPPAGE_KINDS,
  type SlippageColumn,
  type TableRate,
  type TradeAggregate,
  verdict,
} from './figures.js';
import { ReportInputError, type ReportScope } from './scope.js';
import {
  decomposeShortfall,
  identityError,
  type ShortfallOrder,
  type ShortfallParts,
  type ShortfallTrade,
  sumShortfall,
} from './shortfall.js';

export type LedgerReader = Pick<LedgerStore, 'database' | 'query'>;

export interface CollectOptions {
  readonly scope: ReportScope;
  /** Initial capital when the ledger cannot tell (no trade, no status tick): the configured one. */
  readonly fallbackCapital?: number;
  readonly spoolDepth?: number | null;
  /** At most this many most recent orders feed the histograms (default 100,000). */
  readonly samplesLimit?: number;
  /** Status ticks are thinned to at most about this many points (default 4,000). */
  readonly maxEquityPoints?: number;
  readonly now?: Date;
}

/** Tables with a run_id column (trade_exit_legs has a fixed BLUE column set without one). */
const RUN_TABLES = WITH_RUN_COLUMNS;

/** Tables whose rows are versions of one record: the version column and the record's key. */
const VERSIONED_TABLES: Readonly<Record<string, { version: string; key: readonly string[] }>> = {
  execution_quality: { version: 'row_version', key: ['run_id', 'client_order_id'] },
};

/** Display order of the data-rate table; tables not listed follow by name. */
const TABLE_ORDER: readonly string[] = LEDGER_TABLES;

type Num = number | string | null;
const num = (v: Num | undefined): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: Num | undefined): number | null => {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};

export class LedgerQuery {
  readonly db: string;
  readonly params: Record<string, unknown> = {};

  constructor(
    private readonly ledger: LedgerReader,
    private readonly scope: ReportScope,
    readonly tables: ReadonlySet<string>,
    private readonly columns: ReadonlyMap<string, ReadonlySet<string>> = new Map(),
  ) {
    this.db = ledger.database;
    if (scope.fromMs !== null) this.params.from = chTs(scope.fromMs);
    if (scope.toMs !== null) this.params.to = chTs(scope.toMs);
    if (scope.runId !== null) this.params.run = scope.runId;
  }

  has(table: string): boolean {
    return this.tables.has(table);
  }

  hasColumn(table: string, column: string): boolean {
    return this.columns.get(table)?.has(column) ?? false;
  }

  /** The table as stored, every row version: what data rates and run spans measure. */
  stored(table: string): string {
    return `${this.db}.${table}`;
  }

  /**
   * The table to read figures FROM. A table whose rows are versioned (execution_quality:
   * markouts arrive as new versions of an order's row) reads as its latest version per key,
   * so no figure counts an order twice.
   */
  t(table: string): string {
    const versioned = VERSIONED_TABLES[table];
    if (!versioned || !this.hasColumn(table, versioned.version)) return this.stored(table);
    return (
      `(SELECT * FROM ${this.db}.${table} ` +
      `ORDER BY ${versioned.version} DESC LIMIT 1 BY ${versioned.key.join(', ')})`
    );
  }

  /** The scope as a WHERE condition on `table` (always valid SQL; `1` when unscoped). */
  where(table: string, opts: { run?: boolean; time?: boolean } = {}): string {
    const c: string[] = [];
    if (this.scope.fromMs !== null && opts.time !== false) c.push(`ts >= {from:DateTime64(3, 'UTC')}`);
    if (this.scope.toMs !== null && opts.time !== false) c.push(`ts < {to:DateTime64(3, 'UTC')}`);
    if (this.scope.runId !== null && opts.run !== false) {
      if (RUN_TABLES.has(table)) c.push('run_id = {run:String}');
      else if (this.has('position_state'))
        // No run_id column: the rows of the trades the run handled.
        c.push(`trade_id IN (SELECT trade_id FROM ${this.t('position_state')} WHERE run_id = {run:String})`);
      else c.push('0');
    }
    return c.length ? c.join(' AND ') : '1';
  }

  rows<T>(sql: string, extra: Record<string, unknown> = {}): Promise<T[]> {
    return this.ledger.query<T>(sql, { ...this.params, ...extra });
  }
}

/**
 * A reader over the namespace database that knows which ledger tables and columns exist
 * (an older ledger may lack some; runtime_lease is not ledger).
 */
export async function openLedgerQuery(ledger: LedgerReader, scope: ReportScope): Promise<LedgerQuery> {
  const db = ledger.database;
  const tableRows = await ledger.query<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree' AND name IN {ledger:Array(String)} ORDER BY name`,
    { db, ledger: [...LEDGER_TABLES] },
  );
  const columnRows = await ledger.query<{ table: string; name: string }>(
    'SELECT table, name FROM system.columns WHERE database = {db:String} AND table IN {ledger:Array(String)}',
    { db, ledger: [...LEDGER_TABLES] },
  );
  const columns = new Map<string, Set<string>>();
  for (const r of columnRows) getOrCreate(columns, r.table, () => new Set()).add(r.name);
  return new LedgerQuery(ledger, scope, new Set(tableRows.map((r) => r.name)), columns);
}

export async function collectFigures(ledger: LedgerReader, o: CollectOptions): Promise<ReportFigures> {
  const db = ledger.database;
  const q = await openLedgerQuery(ledger, o.scope);
  const notes: string[] = [];

  const allRuns = await runs(q, false);
  if (o.scope.runId !== null && !allRuns.some((r) => r.runId === o.scope.runId)) {
    const known = allRuns.slice(-10).map((r) => r.runId);
    throw new ReportInputError(
      `--run-id ${o.scope.runId}: no such run in ${db}` +
        (known.length ? ` (runs: ${known.join(', ')})` : ' (the ledger has no runs)'),
    );
  }
  const runsInWindow = await runs(q, true);
  if (o.scope.runId === null && overlapping(runsInWindow))
    notes.push(
      `${runsInWindow.length} runs overlap in time in this window (e.g. the same data replayed twice): ` +
        'the equity curve mixes them; pick one with --run-id.',
    );

  const capital = await capitalFigures(q, o.fallbackCapital);
  const initial = capital.initial;
  const trades = await tradeFigures(q);
  const equity = await equityFigures(q, capital, o.maxEquityPoints ?? 4000);
  if (equity.source === 'trade_events')
    notes.push(
      'no status ticks in scope: the equity curve is initial capital + cumulative net PnL of the trades.',
    );
  if (initial === null) notes.push('initial capital unknown: ROI figures are left out.');
  else if (capital.initialSource === 'config')
    notes.push(`initial capital ${initial} is the configured one (the ledger has no trade or status tick).`);

  // Open-equity ROI: the equity change, operator capital changes taken out.
  const lastPerf = equity.curve.at(-1)?.performanceEquity;
  const overallOpenChange =
    equity.source === 'status_snapshots' && initial !== null && lastPerf !== undefined
      ? lastPerf - initial
      : null;
  const days = new Set<string>([...trades.daily.keys(), ...equity.dayEnd.keys()]);
  let prevEnd: number | null = initial;
  const daily: DailyKpis[] = [...days].sort().map((day) => {
    const agg = trades.daily.get(day) ?? EMPTY_AGGREGATE;
    const end = equity.dayEnd.get(day);
    let change: number | null = null;
    if (end !== undefined) {
      change = prevEnd === null ? null : end.performanceEquity - prevEnd;
      prevEnd = end.performanceEquity;
    }
    return { day, ...kpis(agg, initial, change), endEquity: end?.equity ?? null };
  });
  if (capital.openTradeId !== '' && capital.final !== null && initial !== null) {
    const effect = capital.final - initial - capitalChanges(capital) - trades.total.netPnl;
    notes.push(
      `trade ${capital.openTradeId} is open at the last status tick: its fees and exits so far ` +
        `(${effect.toFixed(2)} USDT) are in the final capital and equity but in no trade_events row yet.`,
    );
  }
  const dd = maxDrawdown(equity.curve);
  const overall = {
    ...kpis(trades.total, initial, overallOpenChange),
    maxDrawdownPct: dd.pct,
    maxDrawdown: dd.usd,
  };
  const noTrades = trades.total.trades === 0;
  if (noTrades) notes.unshift('no trades: the ledger holds no completed trade (trade_events) in this scope.');

  const execution = await executionFigures(q, o.samplesLimit ?? 100_000);
  if (execution.unavailable) notes.push(execution.unavailable);
  if (execution.samplesTruncated)
    notes.push(
      `the histograms show the ${execution.samplesLimit} most recent orders of ${execution.orders}; the statistics cover all of them.`,
    );
  const rates = await dataRates(q);
  if (rates.spanSeconds !== null && rates.spanSeconds < 3600)
    notes.push(
      `the scope covers only ${rates.spanSeconds.toFixed(0)} s of ledger time: per-day rates are extrapolated from that span.`,
    );
  if (o.spoolDepth)
    notes.push(`${o.spoolDepth} spooled batch(es) are not in ClickHouse yet, so not in this report.`);

  return {
    version: 1,
    generatedAt: (o.now ?? new Date()).toISOString(),
    database: db,
    scope: {
      runId: o.scope.runId,
      from: o.scope.fromMs === null ? null : iso(o.scope.fromMs),
      to: o.scope.toMs === null ? null : iso(o.scope.toMs),
      coveredFrom: rates.coveredFrom,
      coveredTo: rates.coveredTo,
      spanSeconds: rates.spanSeconds,
      runs: runsInWindow,
    },
    capital: {
      initial,
      initialSource: capital.initialSource,
      initialTs: capital.initialTs === null ? null : iso(capital.initialTs),
      final: capital.final,
      finalEquity: equity.source === 'status_snapshots' ? (equity.curve.at(-1)?.equity ?? null) : null,
      adjustments: capitalChanges(capital),
      openTradeAtEnd: capital.openTradeId === '' ? null : capital.openTradeId,
    },
    noTrades,
    overall,
    daily,
    exitsByReason: trades.byReason,
    exitLegsByReason: trades.legsByReason,
    execution: {
      orders: execution.orders,
      byStatus: execution.byStatus,
      rates: execution.rates,
      latency: execution.latency,
      slippage: execution.slippage,
      markouts: execution.markouts,
      shortfall: await shortfallFigures(q),
    },
    dataRates: { spanSeconds: rates.spanSeconds, tables: rates.tables, accountEvents: rates.accountEvents },
    series: {
      equitySource: equity.source,
      equityBucketMs: equity.bucketMs,
      equity: equity.curve,
      latencySamples: execution.latencySamples,
      slippageSamples: execution.slippageSamples,
      markoutSamples: execution.markoutSamples,
      samplesLimit: execution.samplesLimit,
      samplesTruncated: execution.samplesTruncated,
    },
    spoolDepth: o.spoolDepth ?? null,
    notes,
  };
}

// ---- implementation shortfall -----------------------------------------------------------------

/** A trade row (trade_events or trade_reconstruction) as the shortfall reads it. */
export function shortfallTradeOf(t: {
  trade_id: string;
  side: string;
  day: string;
  pnl: Num;
  fees: Num;
  funding: Num;
}): ShortfallTrade {
  return {
    tradeId: t.trade_id,
    side: t.side,
    day: t.day,
    pnl: num(t.pnl),
    fees: num(t.fees),
    funding: num(t.funding),
  };
}

/** The orders (execution_quality, latest row version) matching `where`, per trade, in request order. */
export async function ordersByTrade(
  q: LedgerQuery,
  where: string,
  params: Record<string, unknown> = {},
): Promise<Map<string, ShortfallOrder[]>> {
  const orders = new Map<string, ShortfallOrder[]>();
  if (!q.has('execution_quality')) return orders;
  type O = {
    trade_id: string;
    purpose: string;
    qty: Num;
    filled_qty: Num;
    avg_fill_price: Num;
    reference_price: Num;
    arrival_price: Num;
  };
  for (const o of await q.rows<O>(
    'SELECT trade_id, purpose, qty, filled_qty, avg_fill_price, reference_price, arrival_price ' +
      `FROM ${q.t('execution_quality')} WHERE ${where} ORDER BY requested_ts, event_seq`,
    params,
  ))
    getOrCreate(orders, o.trade_id, () => []).push({
      purpose: o.purpose,
      qty: num(o.qty),
      filledQty: num(o.filled_qty),
      avgFillPrice: num(o.avg_fill_price),
      referencePrice: num(o.reference_price),
      arrivalPrice: num(o.arrival_price),
    });
  return orders;
}

/**
 * Per trade in scope (trade_events FINAL), its orders from execution_quality (all of them,
 * whenever they were sent), decomposed; summed per UTC day of the close and in total.
 */
async function shortfallFigures(q: LedgerQuery): Promise<ShortfallFigures> {
  const none = sumShortfall([]);
  if (!q.has('trade_events')) return { trades: 0, total: none, byDay: [], maxIdentityError: 0 };
  type T = { trade_id: string; side: string; day: string; pnl: Num; fees: Num; funding: Num };
  const trades = await q.rows<T>(
    `SELECT trade_id, side, toString(toDate(exit_ts)) AS day, pnl, fees, funding FROM ${q.t('trade_events')} FINAL ` +
      `WHERE ${q.where('trade_events')} ORDER BY exit_ts, trade_id`,
  );
  const orders =
    trades.length > 0
      ? await ordersByTrade(
          q,
          // All of a trade's orders whenever sent, but only the scoped run's: two runs of the
          // same scans share trade ids.
          `${q.where('execution_quality', { time: false })} AND trade_id IN ` +
            `(SELECT trade_id FROM ${q.t('trade_events')} WHERE ${q.where('trade_events')})`,
        )
      : new Map<string, ShortfallOrder[]>();
  const byDay = new Map<string, ShortfallParts[]>();
  let maxIdentityError = 0;
  for (const t of trades) {
    const p = decomposeShortfall(shortfallTradeOf(t), orders.get(t.trade_id) ?? []);
    maxIdentityError = Math.max(maxIdentityError, identityError(p));
    getOrCreate(byDay, t.day, (): ShortfallParts[] => []).push(p);
  }
  return {
    trades: trades.length,
    total: sumShortfall([...byDay.values()].flat()),
    byDay: [...byDay].map(([day, parts]) => ({ day, trades: parts.length, ...sumShortfall(parts) })),
    maxIdentityError,
  };
}

// ---- runs -------------------------------------------------------------------------------------

async function runs(q: LedgerQuery, windowed: boolean): Promise<RunInfo[]> {
  const parts = [...RUN_TABLES]
    .filter((t) => q.has(t))
    .map((t) => `SELECT run_id, ts FROM ${q.stored(t)} WHERE ${windowed ? q.where(t, { run: false }) : '1'}`);
  if (parts.length === 0) return [];
  const rows = await q.rows<{ run_id: string; first: string; last: string; n: Num }>(
    `SELECT run_id, min(ts) AS first, max(ts) AS last, count() AS n FROM (${parts.join(' UNION ALL ')}) ` +
      'GROUP BY run_id ORDER BY first, run_id',
  );
  return rows.map((r) => ({
    runId: r.run_id,
    firstTs: iso(msFromChTs(r.first)),
    lastTs: iso(msFromChTs(r.last)),
    rows: num(r.n),
  }));
}

const capitalChanges = (c: CapitalInfo): number => c.changes.reduce((s, x) => s + x.delta, 0);

function overlapping(rs: readonly RunInfo[]): boolean {
  for (let i = 1; i < rs.length; i++) if (rs[i]!.firstTs < rs[i - 1]!.lastTs) return true;
  return false;
}

// ---- capital ----------------------------------------------------------------------------------

interface CapitalInfo {
  readonly initial: number | null;
  readonly initialSource: InitialCapitalSource;
  readonly initialTs: number | null;
  readonly final: number | null;
  readonly changes: CapitalChange[];
  /** The open trade of the last status tick ('' when flat or unknown). */
  readonly openTradeId: string;
}

/**
 * Initial capital, from the ledger: the capital at the earlier of the first status row
 * (a tick's capital, or an operator change's capital before its delta) and the first
 * trade's entry (its capital_after less its net PnL). The configured capital only when
 * the ledger has neither.
 */
async function capitalFigures(q: LedgerQuery, fallback: number | undefined): Promise<CapitalInfo> {
  let snap: { ts: number; capital: number } | null = null;
  let lastSnap: { ts: number; capital: number; openTradeId: string } | null = null;
  let changes: CapitalChange[] = [];
  if (q.has('status_snapshots')) {
    const w = q.where('status_snapshots');
    const t = q.t('status_snapshots');
    type S = { ts: string; kind: string; capital: number; capital_delta: number; open_trade_id: string };
    const [first] = await q.rows<S>(
      `SELECT ts, kind, capital, capital_delta, open_trade_id FROM ${t} WHERE ${w} ORDER BY ts, event_seq LIMIT 1`,
    );
    const [last] = await q.rows<S>(
      `SELECT ts, kind, capital, capital_delta, open_trade_id FROM ${t} WHERE ${w} AND kind = 'TICK' ORDER BY ts DESC, event_seq DESC LIMIT 1`,
    );
    if (first)
      snap = {
        ts: msFromChTs(first.ts),
        capital: first.kind === 'TICK' ? first.capital : first.capital - first.capital_delta,
      };
    if (last) lastSnap = { ts: msFromChTs(last.ts), capital: last.capital, openTradeId: last.open_trade_id };
    const adj = await q.rows<{ ts: string; capital_delta: number; command_id: string }>(
      `SELECT ts, capital_delta, command_id FROM ${t} WHERE ${w} AND kind IN ('SET_CAPITAL', 'CAPITAL_UPDATE') ORDER BY ts, event_seq`,
    );
    changes = oncePerCommand(adj).map((a) => ({ ts: msFromChTs(a.ts), delta: a.capital_delta }));
  }
  let trade: { ts: number; capital: number } | null = null;
  let lastTrade: { ts: number; capital: number } | null = null;
  if (q.has('trade_events')) {
    const w = q.where('trade_events');
    const t = q.t('trade_events');
    const [first] = await q.rows<{ entry_ts: string; before: number }>(
      `SELECT entry_ts, capital_after - (pnl - fees - funding) AS before FROM ${t} FINAL WHERE ${w} ORDER BY entry_ts, ts LIMIT 1`,
    );
    const [last] = await q.rows<{ ts: string; capital_after: number }>(
      `SELECT ts, capital_after FROM ${t} FINAL WHERE ${w} ORDER BY ts DESC, event_seq DESC LIMIT 1`,
    );
    if (first) trade = { ts: msFromChTs(first.entry_ts), capital: first.before };
    if (last) lastTrade = { ts: msFromChTs(last.ts), capital: last.capital_after };
  }
  const snapLast = lastSnap && (!lastTrade || lastSnap.ts >= lastTrade.ts);
  const final = snapLast ? lastSnap!.capital : (lastTrade?.capital ?? null);
  const end = { final, changes, openTradeId: snapLast ? lastSnap!.openTradeId : '' };
  if (snap && (!trade || snap.ts <= trade.ts))
    return { initial: snap.capital, initialSource: 'status_snapshot', initialTs: snap.ts, ...end };
  if (trade) return { initial: trade.capital, initialSource: 'first_trade', initialTs: trade.ts, ...end };
  if (fallback !== undefined) return { initial: fallback, initialSource: 'config', initialTs: null, ...end };
  return { initial: null, initialSource: 'none', initialTs: null, ...end };
}

// ---- trades -----------------------------------------------------------------------------------

interface TradeFigures {
  readonly total: TradeAggregate;
  readonly daily: Map<string, TradeAggregate>;
  readonly byReason: ExitReasonRow[];
  readonly legsByReason: ExitLegReasonRow[];
}

/** trade_events read FINAL: one row per trade_id however often its terminal row was stored. */
async function tradeFigures(q: LedgerQuery): Promise<TradeFigures> {
  const daily = new Map<string, TradeAggregate>();
  let total = EMPTY_AGGREGATE;
  const byReason: ExitReasonRow[] = [];
  const legsByReason: ExitLegReasonRow[] = [];
  const aggCols =
    'count() AS trades, countIf(pnl - fees - funding > 0) AS wins, countIf(pnl - fees - funding < 0) AS losses, ' +
    'sum(pnl) AS realized_sum, sum(fees) AS fees_sum, sum(funding) AS funding_sum, sum(pnl - fees - funding) AS net_sum';
  type Agg = {
    trades: Num;
    wins: Num;
    losses: Num;
    realized_sum: number;
    fees_sum: number;
    funding_sum: number;
    net_sum: number;
  };
  const agg = (r: Agg): TradeAggregate => ({
    trades: num(r.trades),
    wins: num(r.wins),
    losses: num(r.losses),
    realizedPnl: num(r.realized_sum),
    fees: num(r.fees_sum),
    funding: num(r.funding_sum),
    netPnl: num(r.net_sum),
  });
  if (q.has('trade_events')) {
    const t = q.t('trade_events');
    const w = q.where('trade_events');
    for (const r of await q.rows<Agg & { day: string }>(
      `SELECT toString(toDate(ts)) AS day, ${aggCols} FROM ${t} FINAL WHERE ${w} GROUP BY day ORDER BY day`,
    )) {
      const a = agg(r);
      daily.set(r.day, a);
      total = addAggregates(total, a);
    }
    for (const r of await q.rows<Agg & { reason: string }>(
      `SELECT exit_reason AS reason, ${aggCols} FROM ${t} FINAL WHERE ${w} GROUP BY reason ORDER BY trades DESC, reason`,
    )) {
      const a = agg(r);
      byReason.push({
        reason: r.reason,
        trades: a.trades,
        wins: a.wins,
        losses: a.losses,
        realizedPnl: a.realizedPnl,
        netPnl: a.netPnl,
        sharePct: total.trades ? (a.trades / total.trades) * 100 : 0,
      });
    }
  }
  if (q.has('trade_exit_legs')) {
    for (const r of await q.rows<{ reason: string; legs: Num; pnl: number }>(
      `SELECT reason, count() AS legs, sum(pnl_leg) AS pnl FROM ${q.t('trade_exit_legs')} WHERE ${q.where('trade_exit_legs')} ` +
        'GROUP BY reason ORDER BY legs DESC, reason',
    ))
      legsByReason.push({ reason: r.reason, legs: num(r.legs), pnl: num(r.pnl) });
  }
  return { total, daily, byReason, legsByReason };
}

// ---- equity -----------------------------------------------------------------------------------

interface EquityFigures {
  readonly source: EquitySource;
  readonly bucketMs: number;
  readonly curve: EquityPoint[];
  /** Per UTC day, the curve's state at the day's last status tick. */
  readonly dayEnd: Map<string, { equity: number; performanceEquity: number }>;
}

async function equityFigures(q: LedgerQuery, cap: CapitalInfo, maxPoints: number): Promise<EquityFigures> {
  const none: EquityFigures = { source: 'none', bucketMs: 0, curve: [], dayEnd: new Map() };
  const start: RawEquityPoint[] =
    cap.initial !== null && cap.initialTs !== null
      ? [{ ts: cap.initialTs, capital: cap.initial, equity: cap.initial }]
      : [];
  if (q.has('status_snapshots')) {
    const t = q.t('status_snapshots');
    const w = `${q.where('status_snapshots')} AND kind = 'TICK'`;
    const [span] = await q.rows<{ n: Num; a: Num; b: Num }>(
      `SELECT count() AS n, min(toUnixTimestamp64Milli(ts)) AS a, max(toUnixTimestamp64Milli(ts)) AS b FROM ${t} WHERE ${w}`,
    );
    if (num(span?.n) > 0) {
      const n = num(span?.n);
      const bucketMs =
        n > maxPoints ? Math.max(1, Math.ceil((num(span?.b) - num(span?.a) + 1) / maxPoints)) : 0;
      const key = bucketMs ? `intDiv(toUnixTimestamp64Milli(ts), ${bucketMs})` : 'toUnixTimestamp64Milli(ts)';
      type B = { t: Num; cap_last: number; eq_last: number; lo: number; hi: number };
      const rows = await q.rows<B>(
        `SELECT max(toUnixTimestamp64Milli(ts)) AS t, argMax(capital, (ts, event_seq)) AS cap_last, ` +
          `argMax(equity, (ts, event_seq)) AS eq_last, min(equity) AS lo, max(equity) AS hi ` +
          `FROM ${t} WHERE ${w} GROUP BY ${key} ORDER BY t`,
      );
      const raw: RawEquityPoint[] = rows.map((r) => ({
        ts: num(r.t),
        capital: r.cap_last,
        equity: r.eq_last,
        minEquity: r.lo,
        maxEquity: r.hi,
      }));
      const first = raw[0];
      const points = first && start[0] && start[0].ts < first.ts ? [...start, ...raw] : raw;
      const curve = equityCurve(points, cap.changes);
      // Exact end-of-day equity, whatever the thinning.
      const ends = await q.rows<{ day: string; t: Num; eq_last: number }>(
        `SELECT toString(toDate(ts)) AS day, max(toUnixTimestamp64Milli(ts)) AS t, argMax(equity, (ts, event_seq)) AS eq_last ` +
          `FROM ${t} WHERE ${w} GROUP BY day ORDER BY day`,
      );
      const adjUpTo = (ms: number) => cap.changes.filter((c) => c.ts <= ms).reduce((s, c) => s + c.delta, 0);
      const dayEnd = new Map(
        ends.map((e) => [e.day, { equity: e.eq_last, performanceEquity: e.eq_last - adjUpTo(num(e.t)) }]),
      );
      return { source: 'status_snapshots', bucketMs, curve, dayEnd };
    }
  }
  if (q.has('trade_events') && cap.initial !== null) {
    const rows = await q.rows<{ t: Num; net: number }>(
      `SELECT toUnixTimestamp64Milli(ts) AS t, pnl - fees - funding AS net FROM ${q.t('trade_events')} FINAL ` +
        `WHERE ${q.where('trade_events')} ORDER BY ts, event_seq`,
    );
    if (rows.length === 0) return none;
    let c = cap.initial;
    const raw: RawEquityPoint[] = [
      ...start,
      ...rows.map((r) => {
        c += r.net;
        return { ts: num(r.t), capital: c, equity: c };
      }),
    ];
    return { source: 'trade_events', bucketMs: 0, curve: equityCurve(raw, []), dayEnd: new Map() };
  }
  return none;
}

// ---- execution quality ------------------------------------------------------------------------

interface ExecutionFigures {
  readonly orders: number;
  readonly byStatus: OrderStatusRow[];
  readonly rates: ExecutionRates;
  readonly latency: ReportFigures['execution']['latency'];
  readonly slippage: ReportFigures['execution']['slippage'];
  readonly markouts: ReportFigures['execution']['markouts'];
  readonly latencySamples: Record<LatencyColumn, number[]>;
  readonly slippageSamples: Record<SlippageColumn, number[]>;
  readonly markoutSamples: Record<MarkoutColumn, number[]>;
  readonly samplesLimit: number;
  readonly samplesTruncated: boolean;
  /** Why some figures are missing (an older ledger), or null. */
  readonly unavailable: string | null;
}

const byColumn = <C extends string>(kinds: readonly { column: C }[], of: (c: C) => number[]) =>
  Object.fromEntries(kinds.map((k) => [k.column, of(k.column)])) as Record<C, number[]>;

async function executionFigures(q: LedgerQuery, samplesLimit: number): Promise<ExecutionFigures> {
  const markoutsKnown = MARKOUT_KINDS.every((m) => q.hasColumn('execution_quality', m.column));
  const cols: string[] = [
    ...LATENCY_LEGS.map((l) => l.column),
    ...SLIPPAGE_KINDS.map((s) => s.column),
    ...(markoutsKnown ? MARKOUT_KINDS.map((m) => m.column) : []),
  ];
  const stats = new Map<string, DistStats>(cols.map((c) => [c, emptyStats()]));
  const samples = new Map<string, number[]>(cols.map((c) => [c, []]));
  let orders = 0;
  const byStatus: OrderStatusRow[] = [];
  let rates: ExecutionRates = { byAsset: [], byDay: [], rejectReasons: [], unavailable: null };
  if (q.has('execution_quality')) {
    rates = await executionRates(q);
    const t = q.t('execution_quality');
    const w = q.where('execution_quality');
    for (const r of await q.rows<{ purpose: string; final_status: string; n: Num }>(
      `SELECT purpose, final_status, count() AS n FROM ${t} WHERE ${w} GROUP BY purpose, final_status ORDER BY purpose, final_status`,
    )) {
      byStatus.push({ purpose: r.purpose, finalStatus: r.final_status, orders: num(r.n) });
      orders += num(r.n);
    }
    const select = cols
      .map(
        (c, i) =>
          `count(${c}) AS n${i}, avg(${c}) AS mean${i}, min(${c}) AS min${i}, max(${c}) AS max${i}, ` +
          `quantilesExact(0.1, 0.5, 0.9, 0.99)(${c}) AS q${i}`,
      )
      .join(', ');
    const [row] = await q.rows<Record<string, Num | Num[]>>(`SELECT ${select} FROM ${t} WHERE ${w}`);
    cols.forEach((c, i) => {
      const n = num(row?.[`n${i}`] as Num);
      if (n === 0) return;
      const qs = (row?.[`q${i}`] as Num[] | undefined) ?? [];
      stats.set(c, {
        count: n,
        mean: numOrNull(row?.[`mean${i}`] as Num),
        min: numOrNull(row?.[`min${i}`] as Num),
        p10: numOrNull(qs[0]),
        p50: numOrNull(qs[1]),
        p90: numOrNull(qs[2]),
        p99: numOrNull(qs[3]),
        max: numOrNull(row?.[`max${i}`] as Num),
      });
    });
    if (orders > 0) {
      const recent = await q.rows<Record<string, Num>>(
        `SELECT ${cols.join(', ')} FROM ${t} WHERE ${w} ORDER BY ts DESC, event_seq DESC LIMIT {lim:UInt32}`,
        { lim: samplesLimit },
      );
      for (const r of recent.reverse())
        for (const c of cols) {
          const v = numOrNull(r[c]);
          if (v !== null) samples.get(c)!.push(v);
        }
    }
  }
  const figure = <C extends string>(k: { column: C; label: string }) => ({
    column: k.column,
    label: k.label,
    stats: stats.get(k.column) ?? emptyStats(),
  });
  const sampled = (c: string) => samples.get(c) ?? [];
  return {
    orders,
    byStatus,
    rates,
    latency: LATENCY_LEGS.map(figure),
    slippage: SLIPPAGE_KINDS.map(figure),
    markouts: MARKOUT_KINDS.map(figure),
    latencySamples: byColumn(LATENCY_LEGS, sampled),
    slippageSamples: byColumn(SLIPPAGE_KINDS, sampled),
    markoutSamples: byColumn(MARKOUT_KINDS, sampled),
    samplesLimit,
    samplesTruncated: orders > samplesLimit,
    unavailable:
      q.has('execution_quality') && !markoutsKnown
        ? `${q.db}.execution_quality predates the markout columns (${MARKOUT_KINDS.map((m) => m.column).join(', ')}): run \`pink schema apply\` once`
        : null,
  };
}

/** Fill ratio, reject and cancel rates and time to fill per asset and per UTC day; rejects by reason. */
async function executionRates(q: LedgerQuery): Promise<ExecutionRates> {
  const t = q.t('execution_quality');
  const w = q.where('execution_quality');
  if (!['final_reason', 'submit_to_first_fill_us'].every((c) => q.hasColumn('execution_quality', c)))
    return {
      byAsset: [],
      byDay: [],
      rejectReasons: [],
      unavailable: `${t} predates the rate columns (final_reason, submit_to_first_fill_us): run \`pink schema apply\` once`,
    };
  const pct = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : null);
  const per = async (key: string): Promise<ExecutionRateRow[]> =>
    (
      await q.rows<Record<string, Num | Num[]>>(
        `SELECT ${key} AS key, count() AS orders, sum(qty) AS qty, sum(filled_qty) AS filled, ` +
          `countIf(final_status = 'REJECTED') AS rejected, countIf(final_status IN ('CANCELLED', 'EXPIRED')) AS cancelled, ` +
          `count(submit_to_first_fill_us) AS ttf_n, quantilesExact(0.5, 0.9, 0.99)(submit_to_first_fill_us) AS ttf ` +
          `FROM ${t} WHERE ${w} GROUP BY key ORDER BY key`,
      )
    ).map((r) => {
      const n = num(r.orders as Num);
      const ttf = (r.ttf as Num[] | undefined) ?? [];
      const ms = (v: Num | undefined) => (num(r.ttf_n as Num) > 0 ? num(v) / 1000 : null);
      return {
        key: String(r.key),
        orders: n,
        fillRatioPct: pct(num(r.filled as Num), num(r.qty as Num)),
        rejectRatePct: pct(num(r.rejected as Num), n),
        cancelRatePct: pct(num(r.cancelled as Num), n),
        timeToFillMs: { count: num(r.ttf_n as Num), p50: ms(ttf[0]), p90: ms(ttf[1]), p99: ms(ttf[2]) },
      };
    });
  const reasons = await q.rows<{ reason: string; n: Num }>(
    `SELECT final_reason AS reason, count() AS n FROM ${t} WHERE ${w} AND final_status = 'REJECTED' ` +
      'GROUP BY reason ORDER BY n DESC, reason LIMIT 50',
  );
  const rejects = reasons.reduce((a, r) => a + num(r.n), 0);
  return {
    byAsset: await per('asset'),
    byDay: await per('toString(toDate(ts))'),
    rejectReasons: reasons.map((r) => ({
      reason: r.reason,
      orders: num(r.n),
      sharePct: (100 * num(r.n)) / rejects,
    })),
    unavailable: null,
  };
}

// ---- data rates -------------------------------------------------------------------------------

interface DataRates {
  readonly spanSeconds: number | null;
  readonly coveredFrom: string | null;
  readonly coveredTo: string | null;
  readonly tables: TableRate[];
  readonly accountEvents: ReportFigures['dataRates']['accountEvents'];
}

async function dataRates(q: LedgerQuery): Promise<DataRates> {
  const names = [...q.tables].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  type P = { table: string; part_rows: Num; c: Num; u: Num };
  const parts = new Map(
    (
      await q.rows<P>(
        'SELECT table, sum(rows) AS part_rows, sum(data_compressed_bytes) AS c, sum(data_uncompressed_bytes) AS u ' +
          'FROM system.parts WHERE database = {db:String} AND active GROUP BY table',
        { db: q.db },
      )
    ).map((p) => [p.table, p]),
  );
  type C = { name: string; n: Num; a: Num; b: Num };
  const counts = names.length
    ? await q.rows<C>(
        names
          .map(
            (t, i) =>
              `SELECT {t${i}:String} AS name, count() AS n, min(toUnixTimestamp64Milli(ts)) AS a, ` +
              `max(toUnixTimestamp64Milli(ts)) AS b FROM ${q.stored(t)} WHERE ${q.where(t)}`,
          )
          .join(' UNION ALL '),
        Object.fromEntries(names.map((t, i) => [`t${i}`, t])),
      )
    : [];
  const byName = new Map(counts.map((c) => [c.name, c]));
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const c of counts)
    if (num(c.n) > 0) {
      lo = Math.min(lo, num(c.a));
      hi = Math.max(hi, num(c.b));
    }
  const covered = Number.isFinite(lo);
  const spanSeconds = covered ? (hi - lo) / 1000 : null;
  const tables: TableRate[] = names.map((table) => {
    const c = byName.get(table);
    const p = parts.get(table);
    const rows = num(c?.n);
    const tableRows = num(p?.part_rows);
    const share = tableRows > 0 ? Math.min(1, rows / tableRows) : 0;
    const compressedBytes = num(p?.c) * share;
    const uncompressedBytes = num(p?.u) * share;
    return {
      table,
      rows,
      tableRows,
      firstTs: rows > 0 ? iso(num(c?.a)) : null,
      lastTs: rows > 0 ? iso(num(c?.b)) : null,
      compressedBytes,
      uncompressedBytes,
      bytesEstimated: rows !== tableRows,
      rowsPerSec: rate(rows, spanSeconds, 'second'),
      compressedBytesPerDay: rate(compressedBytes, spanSeconds, 'day'),
      uncompressedBytesPerDay: rate(uncompressedBytes, spanSeconds, 'day'),
    };
  });
  const acct = tables.find((t) => t.table === 'account_events');
  const bytesPerDay = acct ? acct.compressedBytesPerDay : null;
  const rowsPerSec = acct ? acct.rowsPerSec : null;
  return {
    spanSeconds,
    coveredFrom: covered ? iso(lo) : null,
    coveredTo: covered ? iso(hi) : null,
    tables,
    accountEvents: {
      capBytesPerDay: ACCOUNT_EVENTS_CAP_BYTES_PER_DAY,
      bytesPerDay,
      uncompressedBytesPerDay: acct ? acct.uncompressedBytesPerDay : null,
      verdict: verdict(bytesPerDay, ACCOUNT_EVENTS_CAP_BYTES_PER_DAY),
      capRowsPerSec: ACCOUNT_EVENTS_CAP_ROWS_PER_SEC,
      rowsPerSec,
      rowsVerdict: verdict(rowsPerSec, ACCOUNT_EVENTS_CAP_ROWS_PER_SEC),
    },
  };
}

function order(table: string): number {
  const i = TABLE_ORDER.indexOf(table);
  return i < 0 ? TABLE_ORDER.length : i;
}
