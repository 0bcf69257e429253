/**
 * Live against replay (issue #18, item 6): two runs of one ledger side by side. A run is
 * what one process wrote (run_id), e.g. a live run and a replay of the same scans.
 *
 *  - decisions: per scan number, the decision hash of each run (v7_decision_events; the hash
 *    of the ALGORITHM.md §4 record, the tuple the parity harness compares): identical,
 *    different, or in one run only, and the first scan where they differ;
 *  - execution: per trade, each run's implementation shortfall (shortfall.ts) from that run's
 *    own story (trade_reconstruction FINAL, status CLOSED: trade_events is keyed by trade id
 *    alone, so two runs of the same scans share its rows) and its own orders
 *    (execution_quality, latest row version), and the difference B - A part by part. The
 *    parts of each run sum to its realized PnL, so the differences sum to the difference in
 *    realized PnL, exactly as in the report.
 * Read-only.
 */
import {
  type LedgerQuery,
  type LedgerReader,
  openLedgerQuery,
  ordersByTrade,
  shortfallTradeOf,
} from './queries.js';
import { parseRunId, ReportInputError } from './scope.js';
import {
  decomposeShortfall,
  identityError,
  SHORTFALL_COLUMNS,
  type ShortfallParts,
  sumShortfall,
} from './shortfall.js';

export interface DecisionAt {
  readonly action: string;
  readonly asset: string;
  readonly side: string;
  readonly reason: string;
  readonly barsHeld: number;
}

export interface DecisionComparison {
  readonly scansA: number;
  readonly scansB: number;
  /** Scans decided in both runs. */
  readonly common: number;
  readonly identical: number;
  readonly different: number;
  readonly onlyA: number;
  readonly onlyB: number;
  /** identical / common, %; null without a common scan. */
  readonly identicalPct: number | null;
  readonly firstDifference: { readonly scan: number; readonly a: DecisionAt; readonly b: DecisionAt } | null;
  /** IDENTICAL: every common scan decided the same; NO_COMMON_SCANS: nothing to compare. */
  readonly verdict: 'IDENTICAL' | 'DIFFERENT' | 'NO_COMMON_SCANS';
}

export interface TradeComparison {
  readonly tradeId: string;
  readonly asset: string;
  readonly side: string;
  readonly a: ShortfallParts | null;
  readonly b: ShortfallParts | null;
  /** b - a, part by part; null when the trade closed in one run only. */
  readonly diff: ShortfallParts | null;
}

export interface RunComparison {
  readonly database: string;
  readonly a: string;
  readonly b: string;
  readonly decisions: DecisionComparison;
  readonly trades: {
    readonly both: number;
    readonly onlyA: number;
    readonly onlyB: number;
    readonly rows: readonly TradeComparison[];
  };
  /** Sums over the trades closed in both runs, and over those closed in one only. */
  readonly execution: {
    readonly a: ShortfallParts;
    readonly b: ShortfallParts;
    readonly diff: ShortfallParts;
    readonly onlyA: ShortfallParts;
    readonly onlyB: ShortfallParts;
  };
  /** Largest |sum of the parts - realized| over every trade of both runs. */
  readonly maxIdentityError: number;
}

/** b - a, part by part. */
export function diffParts(a: ShortfallParts, b: ShortfallParts): ShortfallParts {
  return Object.fromEntries(SHORTFALL_COLUMNS.map((k) => [k, b[k] - a[k]])) as unknown as ShortfallParts;
}

type Num = number | string | null;
const num = (v: Num | undefined): number => (v === null || v === undefined ? 0 : Number(v));

export async function compareRuns(ledger: LedgerReader, a: string, b: string): Promise<RunComparison> {
  const runA = parseRunId('--compare', a);
  const runB = parseRunId('--compare', b);
  if (runA === runB)
    throw new ReportInputError(`--compare ${a} ${b}: the same run twice; give two different run ids`);
  const q = await openLedgerQuery(ledger, { runId: null, fromMs: null, toMs: null });
  await requireRuns(q, [runA, runB]);
  const decisions = await compareDecisions(q, runA, runB);
  const [tradesA, tradesB] = [await runTrades(q, runA), await runTrades(q, runB)];
  const rows: TradeComparison[] = [];
  for (const id of new Set([...tradesA.keys(), ...tradesB.keys()])) {
    const x = tradesA.get(id);
    const y = tradesB.get(id);
    const first = (x ?? y)!;
    rows.push({
      tradeId: id,
      asset: first.asset,
      side: first.side,
      a: x?.parts ?? null,
      b: y?.parts ?? null,
      diff: x && y ? diffParts(x.parts, y.parts) : null,
    });
  }
  rows.sort((r, s) => (r.tradeId < s.tradeId ? -1 : r.tradeId > s.tradeId ? 1 : 0));
  const both = rows.filter((r) => r.a && r.b);
  const sumA = sumShortfall(both.map((r) => r.a!));
  const sumB = sumShortfall(both.map((r) => r.b!));
  const all = [...tradesA.values(), ...tradesB.values()].map((t) => t.parts);
  return {
    database: q.db,
    a: runA,
    b: runB,
    decisions,
    trades: {
      both: both.length,
      onlyA: rows.filter((r) => r.a && !r.b).length,
      onlyB: rows.filter((r) => !r.a && r.b).length,
      rows,
    },
    execution: {
      a: sumA,
      b: sumB,
      diff: diffParts(sumA, sumB),
      onlyA: sumShortfall(rows.filter((r) => r.a && !r.b).map((r) => r.a!)),
      onlyB: sumShortfall(rows.filter((r) => !r.a && r.b).map((r) => r.b!)),
    },
    maxIdentityError: Math.max(0, ...all.map(identityError)),
  };
}

type Q = LedgerQuery;

/** Both runs must have written something: else a clear error listing the runs there are. */
async function requireRuns(q: Q, ids: readonly string[]): Promise<void> {
  const tables = ['v7_decision_events', 'trade_reconstruction', 'execution_quality'].filter((t) => q.has(t));
  const known = tables.length
    ? (
        await q.rows<{ run_id: string }>(
          `SELECT DISTINCT run_id FROM (${tables.map((t) => `SELECT run_id FROM ${q.stored(t)}`).join(' UNION ALL ')}) ORDER BY run_id`,
        )
      ).map((r) => r.run_id)
    : [];
  const missing = ids.filter((id) => !known.includes(id));
  if (missing.length)
    throw new ReportInputError(
      `--compare: no such run in ${q.db}: ${missing.join(', ')}` +
        (known.length ? ` (runs: ${known.slice(-10).join(', ')})` : ' (the ledger has no runs)'),
    );
}

async function compareDecisions(q: Q, a: string, b: string): Promise<DecisionComparison> {
  const none: DecisionComparison = {
    scansA: 0,
    scansB: 0,
    common: 0,
    identical: 0,
    different: 0,
    onlyA: 0,
    onlyB: 0,
    identicalPct: null,
    firstDifference: null,
    verdict: 'NO_COMMON_SCANS',
  };
  if (!q.has('v7_decision_events')) return none;
  // One line per scan and run (a scan decided twice in one run, across a restart, counts once).
  const perScan =
    'SELECT scan, countIf(run_id = {a:String}) > 0 AS in_a, countIf(run_id = {b:String}) > 0 AS in_b, ' +
    'anyIf(decision_hash, run_id = {a:String}) AS ha, anyIf(decision_hash, run_id = {b:String}) AS hb ' +
    `FROM ${q.stored('v7_decision_events')} WHERE run_id IN ({a:String}, {b:String}) GROUP BY scan`;
  const [c] = await q.rows<Record<string, Num>>(
    'SELECT countIf(in_a) AS scans_a, countIf(in_b) AS scans_b, countIf(in_a AND in_b) AS common, ' +
      'countIf(in_a AND in_b AND ha = hb) AS identical, countIf(in_a AND NOT in_b) AS only_a, ' +
      'countIf(in_b AND NOT in_a) AS only_b, countIf(in_a AND in_b AND ha != hb) AS different, ' +
      `minIf(scan, in_a AND in_b AND ha != hb) AS first FROM (${perScan})`,
    { a, b },
  );
  const common = num(c?.common);
  const different = num(c?.different);
  let firstDifference: DecisionComparison['firstDifference'] = null;
  if (different > 0) {
    const scan = num(c?.first);
    const at = await q.rows<{
      run_id: string;
      action: string;
      asset: string;
      side: string;
      reason: string;
      bars_held: Num;
    }>(
      'SELECT run_id, any(action) AS action, any(asset) AS asset, any(side) AS side, any(reason) AS reason, ' +
        `any(bars_held) AS bars_held FROM ${q.stored('v7_decision_events')} ` +
        'WHERE run_id IN ({a:String}, {b:String}) AND scan = {scan:Int64} GROUP BY run_id',
      { a, b, scan },
    );
    const pick = (run: string): DecisionAt => {
      const r = at.find((x) => x.run_id === run);
      return {
        action: r?.action ?? '',
        asset: r?.asset ?? '',
        side: r?.side ?? '',
        reason: r?.reason ?? '',
        barsHeld: num(r?.bars_held),
      };
    };
    firstDifference = { scan, a: pick(a), b: pick(b) };
  }
  return {
    scansA: num(c?.scans_a),
    scansB: num(c?.scans_b),
    common,
    identical: num(c?.identical),
    different,
    onlyA: num(c?.only_a),
    onlyB: num(c?.only_b),
    identicalPct: common > 0 ? (100 * num(c?.identical)) / common : null,
    firstDifference,
    verdict: common === 0 ? 'NO_COMMON_SCANS' : different === 0 ? 'IDENTICAL' : 'DIFFERENT',
  };
}

interface RunTrade {
  readonly asset: string;
  readonly side: string;
  readonly parts: ShortfallParts;
}

/** The run's closed trades (its own stories) with their shortfall from the run's own orders. */
async function runTrades(q: Q, run: string): Promise<Map<string, RunTrade>> {
  const out = new Map<string, RunTrade>();
  if (!q.has('trade_reconstruction')) return out;
  type T = { trade_id: string; asset: string; side: string; day: string; pnl: Num; fees: Num; funding: Num };
  const trades = await q.rows<T>(
    'SELECT trade_id, asset, side, toString(toDate(exit_ts)) AS day, pnl, fees, funding ' +
      `FROM ${q.stored('trade_reconstruction')} FINAL WHERE run_id = {run:String} AND status = 'CLOSED' ORDER BY trade_id`,
    { run },
  );
  const orders = trades.length > 0 ? await ordersByTrade(q, 'run_id = {run:String}', { run }) : new Map();
  for (const t of trades)
    out.set(t.trade_id, {
      asset: t.asset,
      side: t.side,
      parts: decomposeShortfall(shortfallTradeOf(t), orders.get(t.trade_id) ?? []),
    });
  return out;
}
