/**
 * The report page: one self-contained HTML file (inline CSS, the plots as inline SVG,
 * no script, nothing fetched).
 */
import type { Chart, ChartName, SkippedChart } from './charts.js';
import type { DecisionAt, RunComparison } from './compare.js';
import type { DistStats, ExecutionRateRow, ExecutionRates, Kpis, ReportFigures, Verdict } from './figures.js';
import { SHORTFALL_COLUMNS, type ShortfallParts } from './shortfall.js';

const CSS = `
body{font-family:Helvetica,Arial,sans-serif;margin:24px auto;max-width:1080px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f4f4f4}td.l,th.l{text-align:left}
.banner{background:#fff4e5;border:1px solid #f0b35b;padding:10px 14px;font-size:15px;margin:16px 0}
.pass{color:#1a7f37;font-weight:bold}.over{color:#c62828;font-weight:bold}.na{color:#777}
.neg{color:#c62828}.plot{margin:12px 0}.plot svg{max-width:100%;height:auto}
ul.notes{font-size:13px;color:#444}
`;

export function esc(text: unknown): string {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const n = (v: number | null | undefined, digits = 2): string =>
  v === null || v === undefined || !Number.isFinite(v)
    ? 'n/a'
    : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const int = (v: number | null | undefined): string => n(v, 0);

function bytes(v: number | null): string {
  if (v === null) return 'n/a';
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)} GB`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} MB`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} kB`;
  return `${v.toFixed(0)} B`;
}

function signed(v: number | null, digits = 2): string {
  const s = n(v, digits);
  return v !== null && v < 0 ? `<span class="neg">${s}</span>` : s;
}

function verdictCell(v: Verdict): string {
  return `<span class="${v === 'PASS' ? 'pass' : v === 'OVER' ? 'over' : 'na'}">${v}</span>`;
}

interface Column<T> {
  readonly head: string;
  readonly cell: (row: T) => string;
  readonly left?: boolean;
}

function table<T>(rows: readonly T[], cols: readonly Column<T>[], empty = 'none'): string {
  if (rows.length === 0) return `<p class="meta">${esc(empty)}</p>`;
  const head = cols.map((c) => `<th${c.left ? ' class="l"' : ''}>${esc(c.head)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${cols.map((c) => `<td${c.left ? ' class="l"' : ''}>${c.cell(r)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const KPI_COLUMNS: Column<Kpis>[] = [
  { head: 'trades', cell: (k) => int(k.trades) },
  { head: 'wins', cell: (k) => int(k.wins) },
  { head: 'losses', cell: (k) => int(k.losses) },
  { head: 'win rate %', cell: (k) => n(k.winRatePct, 1) },
  { head: 'realized PnL', cell: (k) => signed(k.realizedPnl) },
  { head: 'fees', cell: (k) => n(k.fees) },
  { head: 'funding', cell: (k) => n(k.funding) },
  { head: 'net PnL', cell: (k) => signed(k.netPnl) },
  { head: 'realized ROI %', cell: (k) => signed(k.realizedRoiPct, 4) },
  { head: 'cost-adjusted ROI %', cell: (k) => signed(k.costAdjustedRoiPct, 4) },
  { head: 'open-equity ROI %', cell: (k) => signed(k.openEquityRoiPct, 4) },
];

const RATE_COLUMNS = (head: string): Column<ExecutionRateRow>[] => [
  { head, cell: (r) => esc(r.key), left: true },
  { head: 'orders', cell: (r) => int(r.orders) },
  { head: 'fill ratio %', cell: (r) => n(r.fillRatioPct, 1) },
  { head: 'reject rate %', cell: (r) => n(r.rejectRatePct, 1) },
  { head: 'cancel rate %', cell: (r) => n(r.cancelRatePct, 1) },
  { head: 'time to fill p50 ms', cell: (r) => n(r.timeToFillMs.p50, 1) },
  { head: 'p90 ms', cell: (r) => n(r.timeToFillMs.p90, 1) },
  { head: 'p99 ms', cell: (r) => n(r.timeToFillMs.p99, 1) },
];

/** Fill, reject and cancel rates and time to fill per asset and per UTC day; rejects by reason. */
function ratesHtml(rates: ExecutionRates): string[] {
  if (rates.unavailable) return [`<p class="meta">rates: ${esc(rates.unavailable)}</p>`];
  return [
    '<p class="meta">rates per asset (fill ratio = filled / requested quantity; cancel = cancelled or expired; time to fill = submit -> first fill)</p>',
    table(rates.byAsset, RATE_COLUMNS('asset'), 'no orders'),
    '<p class="meta">rates per UTC day</p>',
    table(rates.byDay, RATE_COLUMNS('day'), 'no orders'),
    '<p class="meta">rejects by the venue\'s reason</p>',
    table(
      rates.rejectReasons,
      [
        { head: 'reason', cell: (r) => esc(r.reason || '(none given)'), left: true },
        { head: 'orders', cell: (r) => int(r.orders) },
        { head: 'share %', cell: (r) => n(r.sharePct, 1) },
      ],
      'no rejects',
    ),
  ];
}

function shortfallHtml(sf: ReportFigures['execution']['shortfall']): string[] {
  type Row = ShortfallParts & { day: string; trades: number };
  const cost = (head: string, pick: (r: Row) => number): Column<Row> => ({
    head,
    cell: (r) => signed(pick(r)),
  });
  return [
    '<p class="meta">implementation shortfall, USDT per UTC day of the close: reference PnL (planned quantity at the decision prices, no costs) - delay (decision -> arrival) - slippage (arrival -> fill) - fees - funding - venue (quantity not filled, closed from outside) = realized net PnL; costs positive</p>',
    table(
      [...sf.byDay, { day: 'total', trades: sf.trades, ...sf.total }],
      [
        { head: 'day', cell: (r) => esc(r.day), left: true },
        { head: 'trades', cell: (r) => int(r.trades) },
        ...SHORTFALL_COLUMNS.map((k) => cost(k, (r) => r[k])),
      ],
      'no completed trade',
    ),
  ];
}

function statsColumns(digits: number): Column<{ label: string; stats: DistStats }>[] {
  const c = (
    head: string,
    pick: (s: DistStats) => number | null,
  ): Column<{ label: string; stats: DistStats }> => ({
    head,
    cell: (r) => n(pick(r.stats), digits),
  });
  return [
    { head: 'measure', cell: (r) => esc(r.label), left: true },
    { head: 'count', cell: (r) => int(r.stats.count) },
    c('mean', (s) => s.mean),
    c('min', (s) => s.min),
    c('p10', (s) => s.p10),
    c('p50', (s) => s.p50),
    c('p90', (s) => s.p90),
    c('p99', (s) => s.p99),
    c('max', (s) => s.max),
  ];
}

function plot(charts: readonly Chart[], skipped: readonly SkippedChart[], name: ChartName): string {
  const c = charts.find((x) => x.name === name);
  if (c) return `<div class="plot" id="plot-${name}">${c.svg}</div>`;
  const s = skipped.find((x) => x.name === name);
  return s ? `<p class="meta">${esc(s.title)}: not drawn (${esc(s.reason)}).</p>` : '';
}

export function renderHtml(
  f: ReportFigures,
  charts: readonly Chart[],
  skipped: readonly SkippedChart[],
): string {
  const scope = [
    f.scope.runId ? `run ${f.scope.runId}` : 'all runs',
    f.scope.from ? `from ${f.scope.from}` : '',
    f.scope.to ? `to ${f.scope.to} (exclusive)` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const covered =
    f.scope.coveredFrom && f.scope.coveredTo
      ? `${f.scope.coveredFrom} .. ${f.scope.coveredTo} (${n((f.scope.spanSeconds ?? 0) / 3600, 2)} h)`
      : 'nothing (empty ledger)';
  const cap = f.dataRates.accountEvents;
  const o = f.overall;
  const parts: string[] = [];
  parts.push(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PINK report: ${esc(f.database)}</title>
<style>${CSS}</style></head><body>
<h1>PINK report: ${esc(f.database)}</h1>
<p class="meta">generated ${esc(f.generatedAt)}; scope: ${esc(scope)}; ledger time covered: ${esc(covered)}</p>`);
  if (f.noTrades)
    parts.push(
      `<div class="banner" id="no-trades"><strong>No trades.</strong> The ledger holds no completed trade (trade_events) in this scope${f.scope.coveredFrom ? '' : ': the ledger is empty'}.</div>`,
    );

  parts.push('<h2 id="kpis">KPIs</h2>');
  parts.push(
    table(
      [
        [
          'initial capital',
          `${n(f.capital.initial)} <span class="meta">(${esc(f.capital.initialSource)}${f.capital.initialTs ? `, ${esc(f.capital.initialTs)}` : ''})</span>`,
        ],
        ['final capital (realized)', n(f.capital.final)],
        ['final equity (mark-to-market)', n(f.capital.finalEquity)],
        ['operator capital changes', n(f.capital.adjustments)],
        ['open trade at the last status tick', esc(f.capital.openTradeAtEnd ?? 'none')],
        ['trades', int(o.trades)],
        ['wins / losses', `${int(o.wins)} / ${int(o.losses)}`],
        ['win rate %', n(o.winRatePct, 1)],
        ['realized PnL (before fees and funding)', signed(o.realizedPnl)],
        ['fees', n(o.fees)],
        ['funding (positive = paid)', n(o.funding)],
        ['net PnL (after fees and funding)', signed(o.netPnl)],
        ['realized ROI %', signed(o.realizedRoiPct, 4)],
        ['open-equity ROI %', signed(o.openEquityRoiPct, 4)],
        ['cost-adjusted ROI %', signed(o.costAdjustedRoiPct, 4)],
        ['max drawdown %', signed(o.maxDrawdownPct, 4)],
        ['max drawdown (USDT)', signed(o.maxDrawdown)],
      ] as [string, string][],
      [
        { head: 'figure', cell: (r) => esc(r[0]), left: true },
        { head: 'overall', cell: (r) => r[1] },
      ],
    ),
  );
  parts.push('<h2 id="daily">Per UTC day</h2>');
  parts.push(
    table(
      f.daily,
      [
        { head: 'day', cell: (d) => esc(d.day), left: true },
        ...KPI_COLUMNS,
        { head: 'end equity', cell: (d) => n(d.endEquity) },
      ],
      'no trades and no status ticks',
    ),
  );

  parts.push('<h2 id="equity">Equity and drawdown</h2>');
  parts.push(plot(charts, skipped, 'equity'));
  parts.push(plot(charts, skipped, 'drawdown'));

  parts.push('<h2 id="exits">Exits by reason</h2>');
  parts.push(
    '<p class="meta">trades (trade_events, one row per trade_id) by the reason that closed them</p>',
  );
  parts.push(
    table(
      f.exitsByReason,
      [
        { head: 'exit reason', cell: (r) => esc(r.reason), left: true },
        { head: 'trades', cell: (r) => int(r.trades) },
        { head: 'share %', cell: (r) => n(r.sharePct, 1) },
        { head: 'wins', cell: (r) => int(r.wins) },
        { head: 'losses', cell: (r) => int(r.losses) },
        { head: 'realized PnL', cell: (r) => signed(r.realizedPnl) },
        { head: 'net PnL', cell: (r) => signed(r.netPnl) },
      ],
      'no trades',
    ),
  );
  parts.push('<p class="meta">exit legs (trade_exit_legs) by leg reason</p>');
  parts.push(
    table(
      f.exitLegsByReason,
      [
        { head: 'leg reason', cell: (r) => esc(r.reason), left: true },
        { head: 'legs', cell: (r) => int(r.legs) },
        { head: 'leg PnL', cell: (r) => signed(r.pnl) },
      ],
      'no exit legs',
    ),
  );

  parts.push('<h2 id="execution">Execution quality</h2>');
  parts.push(`<p class="meta">execution_quality: ${int(f.execution.orders)} orders</p>`);
  parts.push(
    table(
      f.execution.byStatus,
      [
        { head: 'purpose', cell: (r) => esc(r.purpose), left: true },
        { head: 'final status', cell: (r) => esc(r.finalStatus), left: true },
        { head: 'orders', cell: (r) => int(r.orders) },
      ],
      'no orders',
    ),
  );
  parts.push(...ratesHtml(f.execution.rates));
  parts.push('<p class="meta">latency per leg, microseconds</p>');
  parts.push(table(f.execution.latency, statsColumns(0)));
  parts.push('<p class="meta">slippage, basis points (positive = cost)</p>');
  parts.push(table(f.execution.slippage, statsColumns(2)));
  parts.push(plot(charts, skipped, 'latency'));
  parts.push(plot(charts, skipped, 'slippage'));
  parts.push(
    '<p class="meta">post-fill markouts, basis points: the market (last scan price) as of the last fill + 5 s, 60 s, 300 s against the average fill price; positive = it moved in the order\'s favour; latest row version per order</p>',
  );
  parts.push(table(f.execution.markouts, statsColumns(2)));
  parts.push(plot(charts, skipped, 'markouts'));
  parts.push(...shortfallHtml(f.execution.shortfall));
  parts.push(plot(charts, skipped, 'shortfall'));

  parts.push('<h2 id="data-rates">Data rate per table</h2>');
  parts.push(
    `<p class="meta">rates over the ledger time covered (${f.dataRates.spanSeconds === null ? 'n/a' : `${n(f.dataRates.spanSeconds, 0)} s`}); bytes from system.parts (active parts), pro rata rows when the scope is a subset of the table (marked ~)</p>`,
  );
  parts.push(
    table(
      f.dataRates.tables,
      [
        { head: 'table', cell: (t) => esc(t.table), left: true },
        { head: 'rows', cell: (t) => int(t.rows) },
        { head: 'rows/s', cell: (t) => n(t.rowsPerSec, 4) },
        { head: 'compressed', cell: (t) => `${t.bytesEstimated ? '~' : ''}${bytes(t.compressedBytes)}` },
        { head: 'uncompressed', cell: (t) => `${t.bytesEstimated ? '~' : ''}${bytes(t.uncompressedBytes)}` },
        { head: 'compressed/day', cell: (t) => bytes(t.compressedBytesPerDay) },
        { head: 'uncompressed/day', cell: (t) => bytes(t.uncompressedBytesPerDay) },
        { head: 'first', cell: (t) => esc(t.firstTs ?? ''), left: true },
        { head: 'last', cell: (t) => esc(t.lastTs ?? ''), left: true },
      ],
      'no tables',
    ),
  );
  parts.push('<p class="meta">account_events against the DESIGN.md §7 cap</p>');
  parts.push(
    table(
      [
        {
          what: 'bytes/day (compressed, as stored)',
          value: bytes(cap.bytesPerDay),
          cap: `${bytes(cap.capBytesPerDay)}/day`,
          v: cap.verdict,
        },
        {
          what: 'rows/s (average over the span)',
          value: n(cap.rowsPerSec, 4),
          cap: `${cap.capRowsPerSec} rows/s`,
          v: cap.rowsVerdict,
        },
      ],
      [
        { head: 'account_events', cell: (r) => esc(r.what), left: true },
        { head: 'measured', cell: (r) => r.value },
        { head: 'cap', cell: (r) => esc(r.cap) },
        { head: 'verdict', cell: (r) => verdictCell(r.v) },
      ],
    ),
  );
  parts.push(`<p class="meta">uncompressed account_events: ${bytes(cap.uncompressedBytesPerDay)}/day</p>`);

  parts.push('<h2 id="runs">Runs</h2>');
  parts.push(
    table(
      f.scope.runs,
      [
        {
          head: 'run_id',
          cell: (r) => esc(r.runId) + (r.runId === f.scope.runId ? ' (selected)' : ''),
          left: true,
        },
        { head: 'first', cell: (r) => esc(r.firstTs), left: true },
        { head: 'last', cell: (r) => esc(r.lastTs), left: true },
        { head: 'rows', cell: (r) => int(r.rows) },
      ],
      'no runs in the ledger',
    ),
  );
  if (f.notes.length)
    parts.push(
      `<h2 id="notes">Notes</h2><ul class="notes">${f.notes.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>`,
    );
  parts.push(
    '<p class="meta">Every figure is also in report.json next to this file; docs/report.md says where each comes from.</p>',
  );
  parts.push('</body></html>\n');
  return parts.join('\n');
}

/** The page of `pink report --compare A B`: decisions, then execution per trade and in total. */
export function renderCompareHtml(c: RunComparison, generatedAt: string): string {
  const d = c.decisions;
  type Row = ShortfallParts & { what: string };
  const parts = (rows: readonly Row[]) =>
    table(rows, [
      { head: '', cell: (r) => esc(r.what), left: true },
      ...SHORTFALL_COLUMNS.map((k) => ({ head: k, cell: (r: Row) => signed(r[k]) })),
    ]);
  const at = (x: DecisionAt) => esc(`${x.action} ${x.asset} ${x.side} ${x.reason} (bars ${x.barsHeld})`);
  const trades = c.trades.rows.map((t) => ({
    ...t,
    a: t.a?.realized ?? null,
    b: t.b?.realized ?? null,
  }));
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PINK compare: ${esc(c.a)} vs ${esc(c.b)}</title>
<style>${CSS}</style></head><body>
<h1>PINK compare: run ${esc(c.a)} (A) vs run ${esc(c.b)} (B)</h1>
<p class="meta">${esc(c.database)}; generated ${esc(generatedAt)}; differences are B - A</p>
<h2 id="decisions">Decisions</h2>
<p class="meta">per scan, the decision hash of each run (v7_decision_events): the record the parity harness compares</p>
${table(
  [d],
  [
    { head: 'verdict', cell: (x) => esc(x.verdict), left: true },
    { head: 'scans A', cell: (x) => int(x.scansA) },
    { head: 'scans B', cell: (x) => int(x.scansB) },
    { head: 'in both', cell: (x) => int(x.common) },
    { head: 'identical', cell: (x) => `${int(x.identical)} (${n(x.identicalPct, 4)} %)` },
    { head: 'different', cell: (x) => int(x.different) },
    { head: 'only A', cell: (x) => int(x.onlyA) },
    { head: 'only B', cell: (x) => int(x.onlyB) },
  ],
)}
${d.firstDifference ? `<p>first difference at scan ${int(d.firstDifference.scan)}: A ${at(d.firstDifference.a)}; B ${at(d.firstDifference.b)}</p>` : ''}
<h2 id="execution">Execution</h2>
<p class="meta">implementation shortfall in USDT (costs positive; parts sum to realized net PnL): trades closed in both runs (${int(c.trades.both)}), only in A (${int(c.trades.onlyA)}), only in B (${int(c.trades.onlyB)})</p>
${parts([
  { what: 'A', ...c.execution.a },
  { what: 'B', ...c.execution.b },
  { what: 'B - A', ...c.execution.diff },
  { what: 'only in A', ...c.execution.onlyA },
  { what: 'only in B', ...c.execution.onlyB },
])}
<h2 id="trades">Per trade</h2>
${table(
  trades,
  [
    { head: 'trade', cell: (t) => esc(t.tradeId), left: true },
    { head: 'asset', cell: (t) => esc(t.asset), left: true },
    { head: 'side', cell: (t) => esc(t.side), left: true },
    { head: 'realized A', cell: (t) => signed(t.a) },
    { head: 'realized B', cell: (t) => signed(t.b) },
    ...SHORTFALL_COLUMNS.map((k) => ({
      head: `${k} B - A`,
      cell: (t: (typeof trades)[number]) => (t.diff ? signed(t.diff[k]) : 'n/a'),
    })),
  ],
  'no closed trade in either run',
)}
</body></html>
`;
}
