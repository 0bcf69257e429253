/**
 * `pink report [--out DIR] [--config FILE] [--run-id ID] [--from ISO] [--to ISO]`: KPIs per
 * UTC day and overall, exits by reason, execution quality, data rate per table (account_events
 * against the §7 cap), and plots (equity, drawdown, latency, slippage) from the ledger.
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
import type { ReportFigures } from '../../reporting/figures.js';
import { renderHtml } from '../../reporting/html.js';
import { collectFigures, type LedgerReader } from '../../reporting/queries.js';
import { parseScope, ReportInputError } from '../../reporting/scope.js';
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

const inputError = (err: unknown): unknown =>
  err instanceof ReportInputError ? new CliError(err.message, EXIT.BAD_INPUT) : err;

export async function reportCommand(o: ReportCliOptions): Promise<number> {
  try {
    parseScope({ runId: o.runId, from: o.from, to: o.to }); // bad options fail before the ledger opens
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
    .addHelpText(
      'after',
      '\nWrites report.html (self-contained), report.json and equity/drawdown/latency/slippage/shortfall .svg files.\n' +
        'Reads CLICKHOUSE_URL (server) or the embedded chDB under PINK_CLICKHOUSE_DIR; see docs/report.md.',
    )
    .action(action((o: ReportCliOptions) => reportCommand(o)));
}
