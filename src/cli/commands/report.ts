/**
 * `pink report [--out DIR] [--config FILE] [--run-id ID] [--from ISO] [--to ISO]` (or `--compare A B`): KPIs per
 * UTC day and overall, exits by reason, execution quality, data rate per table (account_events
 * against the §7 cap), and plots from the ledger; --compare: two runs side by side (reporting/compare.ts).
 * Writes report.html (self-contained), report.json and one .svg per plot; only reads the ledger.
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { capitalReplay } from '../../adapters/clickhouse/capital-replay.js';
import { createClickHouseClient, ledgerDatabase } from '../../adapters/clickhouse/client.js';
import type { JournalState } from '../../adapters/files/journal.js';
import { AccountProjection } from '../../domain/account.js';
import { CHART_TITLES, type ChartName, renderCharts } from '../../reporting/charts.js';
import { compareRuns, type DecisionAt } from '../../reporting/compare.js';
import type { ReportFigures } from '../../reporting/figures.js';
import { renderCompareHtml, renderHtml } from '../../reporting/html.js';
import { collectFigures, type LedgerReader } from '../../reporting/queries.js';
import { parseRunId, parseScope, ReportInputError } from '../../reporting/scope.js';
import { SHORTFALL_COLUMNS, type ShortfallParts } from '../../reporting/shortfall.js';
import { action, CliError, EXIT } from '../errors.js';
import { numberArg } from '../numbers.js';
import { runningNamespace } from '../running-namespace.js';

export interface WriteReportOptions {
  /** Output directory (created). */
  readonly out: string;
  readonly runId?: string | null;
  /** ISO 8601 bounds, UTC when no zone; see reporting/scope.ts. */
  readonly from?: string | null;
  readonly to?: string | null;
  /** Initial capital when the ledger cannot tell (the configured capital). */
  readonly fallbackCapital?: number;
  /** Spooled batches not yet in ClickHouse (said in the report). */
  readonly spoolDepth?: number | null;
  readonly now?: Date;
}

export interface WrittenReport {
  readonly htmlPath: string;
  readonly jsonPath: string;
  /** Plot name -> .svg path (the plots that had data). */
  readonly svgPaths: Readonly<Partial<Record<ChartName, string>>>;
  readonly figures: ReportFigures;
}

const CHART_FILES = Object.keys(CHART_TITLES) as ChartName[];

/** Ledger (open, read-only use) -> report files. Throws ReportInputError on bad options. */
export async function writeReport(ledger: LedgerReader, o: WriteReportOptions): Promise<WrittenReport> {
  const scope = parseScope({ runId: o.runId, from: o.from, to: o.to });
  const figures = await collectFigures(ledger, {
    scope,
    fallbackCapital: o.fallbackCapital,
    spoolDepth: o.spoolDepth ?? null,
    now: o.now,
  });
  const { charts, skipped } = await renderCharts(figures);
  const out = resolve(o.out);
  await mkdir(out, { recursive: true });
  const svgPaths: Partial<Record<ChartName, string>> = {};
  for (const name of CHART_FILES) {
    const path = join(out, `${name}.svg`);
    const chart = charts.find((c) => c.name === name);
    if (chart) {
      await writeFile(path, chart.svg, 'utf8');
      svgPaths[name] = path;
    } else await rm(path, { force: true }); // a plot of an earlier report must not pass for this one's
  }
  const jsonPath = join(out, 'report.json');
  const htmlPath = join(out, 'report.html');
  const json = {
    ...figures,
    plots: [
      ...charts.map((c) => ({ name: c.name, title: c.title, file: `${c.name}.svg` })),
      ...skipped.map((s) => ({ name: s.name, title: s.title, file: null, reason: s.reason })),
    ],
  };
  await writeFile(jsonPath, `${JSON.stringify(json, null, 2)}\n`, 'utf8');
  await writeFile(htmlPath, renderHtml(figures, charts, skipped), 'utf8');
  return { htmlPath, jsonPath, svgPaths, figures };
}

/** Batches waiting in `<varDir>/spool` (read without touching it). */
function spoolDepth(varDir: string): number | null {
  const dir = join(varDir, 'spool');
  if (!existsSync(dir)) return 0;
  try {
    return readdirSync(dir).filter((f) => /^\d{12}\.jsonl$/.test(f)).length;
  } catch {
    return null;
  }
}

interface ReportCliOptions {
  out?: string;
  config?: string;
  runId?: string;
  from?: string;
  to?: string;
  capitalReplay?: boolean;
  liveCapital?: string;
  tolerance?: string;
  compare?: string[];
}

/**
 * The live account's capital for the capital-replay check: --live-capital, else the
 * runtime journal (the account projection a restart resumes from), else none.
 */
function liveCapitalFor(o: ReportCliOptions, varDir: string, strategy: string): number | null {
  if (o.liveCapital !== undefined) {
    return numberArg('--live-capital', o.liveCapital);
  }
  const path = join(varDir, 'run', `${strategy}-journal.json`);
  if (!existsSync(path)) return null;
  const journal = JSON.parse(readFileSync(path, 'utf8')) as JournalState;
  return AccountProjection.fromState(journal.account).capital;
}

async function capitalReplayCommand(
  reader: LedgerReader,
  live: number | null,
  tolerance: number,
): Promise<number> {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const r = await capitalReplay(reader, live === null ? { tolerance } : { liveCapital: live, tolerance });
  out(`capital replay over ${reader.database} (status_snapshots + trade_events deduplicated by trade_id)`);
  out(
    `  trades ${r.trades} (duplicate terminal rows ignored: ${r.duplicateTradeRows}), operator adjustments ${r.adjustments} (rows of a command re-applied after a crash ignored: ${r.duplicateCommandRows})`,
  );
  out(`  from the last flat snapshot  ${r.fromSnapshots.toFixed(6)}`);
  out(`  from the first flat snapshot ${r.fromTrades.toFixed(6)}`);
  out(
    `  live capital                 ${r.liveCapital === null ? '(unknown: no journal, give --live-capital)' : r.liveCapital.toFixed(6)}`,
  );
  if (r.openTradeId)
    out(
      `  trade ${r.openTradeId} is open: compared with the last close's capital_after; its effect so far ${r.openTradeEffect?.toFixed(6) ?? 'n/a'}`,
    );
  out(
    `  target (${r.targetSource}) ${r.target === null ? 'n/a' : r.target.toFixed(6)}: ${r.ok ? `EQUAL (within ${tolerance})` : 'DIFFERENT'}`,
  );
  return r.ok ? EXIT.OK : EXIT.FAILED;
}

/** Two decimals, without a minus sign on a value that rounds to zero. */
const cents = (v: number): string => {
  const text = v.toFixed(2);
  return text === '-0.00' ? '0.00' : text;
};

/** `--compare A B`: two runs side by side; exit 0 when their common decisions are identical. */
async function compareCommand(
  reader: LedgerReader,
  [a, b]: readonly string[],
  outDir: string,
): Promise<number> {
  const c = await compareRuns(reader, a!, b!);
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const jsonPath = join(dir, 'compare.json');
  const htmlPath = join(dir, 'compare.html');
  await writeFile(jsonPath, `${JSON.stringify(c, null, 2)}\n`, 'utf8');
  await writeFile(htmlPath, renderCompareHtml(c, new Date().toISOString()), 'utf8');
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const d = c.decisions;
  const count = (v: number) => v.toLocaleString('en-US');
  out(`compare run ${c.a} (A) with run ${c.b} (B) in ${c.database}; differences are B - A`);
  out(
    `decisions: ${count(d.common)} scans in both, ${count(d.identical)} identical (${d.identicalPct === null ? 'n/a' : `${d.identicalPct.toFixed(4)} %`}), ` +
      `${count(d.different)} different, only in A ${count(d.onlyA)}, only in B ${count(d.onlyB)}: ${d.verdict}`,
  );
  if (d.firstDifference) {
    const at = (x: DecisionAt) => `${x.action} ${x.asset} ${x.side} ${x.reason}`.replace(/\s+/g, ' ').trim();
    out(
      `  first difference at scan ${d.firstDifference.scan}: A ${at(d.firstDifference.a)} | B ${at(d.firstDifference.b)}`,
    );
  }
  out(
    `trades closed: ${count(c.trades.both)} in both, ${count(c.trades.onlyA)} only in A, ${count(c.trades.onlyB)} only in B`,
  );
  const head = ['', ...SHORTFALL_COLUMNS];
  const line = (what: string, p: ShortfallParts) => [what, ...SHORTFALL_COLUMNS.map((k) => cents(p[k]))];
  const rows = [head, line('A', c.execution.a), line('B', c.execution.b), line('B - A', c.execution.diff)];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  out('execution over the trades closed in both, USDT (costs positive; the parts sum to realized):');
  for (const r of rows)
    out(`  ${r.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ')}`);
  out(`compare.json: ${jsonPath}`);
  out(`compare: ${htmlPath}`);
  return d.verdict === 'IDENTICAL' ? EXIT.OK : EXIT.FAILED;
}

/** --compare: exactly two run ids, and none of the options that scope one report. */
function checkCompare(o: ReportCliOptions): void {
  if (o.compare === undefined) return;
  if (o.compare.length !== 2)
    throw new CliError(`--compare takes two run ids, got ${o.compare.length}: --compare A B`, EXIT.BAD_INPUT);
  const clash = (
    [
      ['--run-id', o.runId],
      ['--from', o.from],
      ['--to', o.to],
      ['--capital-replay', o.capitalReplay],
    ] as const
  ).find(([, v]) => v !== undefined && v !== false);
  if (clash)
    throw new CliError(
      `--compare cannot be combined with ${clash[0]}: it compares two whole runs`,
      EXIT.BAD_INPUT,
    );
  for (const id of o.compare) parseRunId('--compare', id);
}

const inputError = (err: unknown): unknown =>
  err instanceof ReportInputError ? new CliError(err.message, EXIT.BAD_INPUT) : err;

export async function reportCommand(o: ReportCliOptions): Promise<number> {
  try {
    // Bad options fail before the ledger opens.
    checkCompare(o);
    parseScope({ runId: o.runId, from: o.from, to: o.to });
  } catch (err) {
    throw inputError(err);
  }
  const tolerance = numberArg('--tolerance', o.tolerance ?? '1e-9', { min: 0 });
  const { ns, cfg } = runningNamespace({ use: 'read', file: o.config });
  const database = ledgerDatabase(cfg.clickhouse, ns);
  // No openLedger: the report only reads (no schema apply, no spool recovery).
  const handle = await createClickHouseClient(cfg.clickhouse);
  const reader: LedgerReader = {
    database,
    query: async <T>(sql: string, params?: Record<string, unknown>) =>
      (await handle.client.query({ query: sql, query_params: params, format: 'JSONEachRow' })).json<T>(),
  };
  try {
    process.stderr.write(`pink: ledger: ${handle.describe}, database ${database} (read only)\n`);
    if (o.compare) return await compareCommand(reader, o.compare, o.out ?? join(cfg.varDir, 'compare'));
    if (o.capitalReplay)
      return await capitalReplayCommand(reader, liveCapitalFor(o, cfg.varDir, ns.strategy), tolerance);
    const r = await writeReport(reader, {
      out: o.out ?? join(cfg.varDir, 'report'),
      runId: o.runId ?? null,
      from: o.from ?? null,
      to: o.to ?? null,
      fallbackCapital: cfg.capital,
      spoolDepth: spoolDepth(cfg.varDir),
    });
    const f = r.figures;
    const out = (s: string) => process.stdout.write(`${s}\n`);
    const roi = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(4)} %`);
    if (f.noTrades) out('no trades in this scope');
    else
      out(
        `trades ${f.overall.trades} (wins ${f.overall.wins}, losses ${f.overall.losses}), realized PnL ${f.overall.realizedPnl.toFixed(2)}, ` +
          `net ${f.overall.netPnl.toFixed(2)}, realized ROI ${roi(f.overall.realizedRoiPct)}, cost-adjusted ROI ${roi(f.overall.costAdjustedRoiPct)}`,
      );
    const cap = f.dataRates.accountEvents;
    out(
      `account_events ${cap.bytesPerDay === null ? 'n/a' : `${(cap.bytesPerDay / 1e6).toFixed(3)} MB/day`} ` +
        `(cap ${cap.capBytesPerDay / 1e6} MB/day): ${cap.verdict}`,
    );
    out(`report.json: ${r.jsonPath}`);
    out(`report: ${r.htmlPath}`);
    return EXIT.OK;
  } catch (err) {
    throw inputError(err);
  } finally {
    await handle.client.close();
  }
}

export function register(program: Command): void {
  program
    .command('report')
    .description(
      'KPIs per UTC day and overall, exits by reason, execution quality, data rates (account_events vs the 5 MB/day cap) and plots, from the ledger',
    )
    .option('--out <dir>', 'output directory (default <varDir>/report)')
    .option('--config <file>', 'configuration file (JSON)')
    .option('--run-id <id>', 'only this run (run_id); default all runs')
    .option('--from <iso>', 'from this UTC time, inclusive (2025-05-20 or 2025-05-20T12:00:00Z)')
    .option('--to <iso>', 'until this UTC time, exclusive (a bare date includes that whole day)')
    .option(
      '--capital-replay',
      'instead of the report: recompute capital from status_snapshots + deduplicated trade_events and check it against the live account (exit 1 if different)',
    )
    .option('--live-capital <usdt>', 'with --capital-replay: the live capital (default: the runtime journal)')
    .option('--tolerance <usdt>', 'with --capital-replay: largest accepted difference', '1e-9')
    .option(
      '--compare <runs...>',
      'instead of the report: two run ids A B side by side (decisions per scan, execution per trade attributed as the shortfall); writes compare.json and compare.html to --out (default <varDir>/compare); exit 0 when the common decisions are identical, 1 when not',
    )
    .addHelpText(
      'after',
      '\nWrites report.html (self-contained), report.json and equity/drawdown/latency/slippage/markouts/shortfall .svg files (--compare: compare.json and compare.html).\n' +
        'Reads CLICKHOUSE_URL (server) or the embedded chDB under PINK_CLICKHOUSE_DIR; see docs/report.md.',
    )
    .action(action((o: ReportCliOptions) => reportCommand(o)));
}
