/**
 * `pink report`: end to end through the built CLI on a ledger filled by a real replay
 * (figures checked against the ledger queried independently afterwards), the empty
 * ledger, bad options; and the chart/page modules on small fixed figures.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouseClient } from '../src/adapters/clickhouse/client.js';
import { CHART_TITLES, chartSpecs, renderCharts, renderSvg } from '../src/reporting/charts.js';
import {
  ACCOUNT_EVENTS_CAP_BYTES_PER_DAY,
  emptyStats,
  equityCurve,
  LATENCY_LEGS,
  MARKOUT_KINDS,
  type ReportFigures,
  SLIPPAGE_KINDS,
} from '../src/reporting/figures.js';
import { renderHtml } from '../src/reporting/html.js';
import { parseScope, parseTimeBound, ReportInputError } from '../src/reporting/scope.js';
import { type CliResult, pink } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pink-report-'));
const env = { PINK_VAR_DIR: join(dir, 'var'), PINK_CLICKHOUSE_DIR: join(dir, 'var', 'clickhouse') };
const scans = join(dir, 'scans.jsonl');
const out = join(dir, 'report');
const outWindow = join(dir, 'report-window');
const DB = 'dolphin_pink';

afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = ReportFigures & { plots: { name: string; title: string; file: string | null }[] };
const readJson = (d: string): Json => JSON.parse(readFileSync(join(d, 'report.json'), 'utf8')) as Json;
const lastLine = (s: string) => s.trim().split('\n').at(-1) ?? '';

describe('pink report on a replayed ledger', () => {
  let replay: CliResult;
  let report: CliResult;
  let windowed: CliResult;
  let capitalOk: CliResult;
  let capitalOff: CliResult;
  let json: Json;
  let html: string;
  let win: { from: string; to: string; runId: string };
  /** Independent reads of the same ledger, taken after every CLI process has exited. */
  const ledger: {
    trades: { n: number; pnl: number; net: number; fees: number; funding: number };
    windowTrades: { n: number; pnl: number };
    reasons: { exit_reason: string; n: number }[];
    tables: Map<string, number>;
    latency: { n: number; p50: number; mx: number };
    perAsset: { asset: string; orders: number; fill: number; ttf50: number | null }[];
    raw: number;
    /** USDT each order paid against its arrival price (slippage_vs_arrival_bps x arrival x filled). */
    arrivalCost: number;
    /** Per horizon: orders with a markout, and the median, from each order's highest row_version. */
    markouts: { n: number; p50: number | null }[];
    rowVersions: { orders: number; rows: number };
  } = {} as never;

  beforeAll(async () => {
    expect(pink(['simulate', '--scans', '3000', '--assets', '5', '--out', scans], env).code).toBe(0);
    replay = pink(['replay', '--data', scans], env);
    expect(replay.code, replay.stderr).toBe(0);
    report = pink(['report', '--out', out], env);
    expect(report.code, report.stderr).toBe(0);
    json = readJson(out);
    html = readFileSync(join(out, 'report.html'), 'utf8');
    // A window of one hour inside the covered span, and the run: the same ledger read through --from/--to/--run-id.
    const start = Date.parse(json.scope.coveredFrom!) + 3_600_000;
    win = {
      from: new Date(start).toISOString(),
      to: new Date(start + 3_600_000).toISOString(),
      runId: json.scope.runs[0]!.runId,
    };
    windowed = pink(
      ['report', '--out', outWindow, '--run-id', win.runId, '--from', win.from, '--to', win.to],
      env,
    );
    expect(windowed.code, windowed.stderr).toBe(0);
    // Capital replay on a run that ends flat, against its final capital (a replay leaves no
    // journal: the live capital is given explicitly).
    const flatEnv = { PINK_VAR_DIR: join(dir, 'flat'), PINK_CLICKHOUSE_DIR: join(dir, 'flat', 'clickhouse') };
    const flat = pink(['replay', '--data', scans, '--flatten-at-end'], flatEnv);
    expect(flat.code, flat.stderr).toBe(0);
    const finalCapital = /capital\s+[\d.]+ -> ([\d.]+)/.exec(flat.stdout)?.[1];
    expect(finalCapital).toBeDefined();
    // The summary prints capital to the cent.
    capitalOk = pink(
      ['report', '--capital-replay', '--live-capital', finalCapital as string, '--tolerance', '0.005'],
      flatEnv,
    );
    capitalOff = pink(
      [
        'report',
        '--capital-replay',
        '--live-capital',
        String(Number(finalCapital) + 1),
        '--tolerance',
        '0.005',
      ],
      flatEnv,
    );

    const { client } = await createClickHouseClient({ dataDir: env.PINK_CLICKHOUSE_DIR });
    const rows = async <T>(query: string, query_params?: Record<string, unknown>) =>
      (await client.query({ query, query_params, format: 'JSONEachRow' })).json<T>();
    try {
      const [t] = await rows<Record<string, number>>(
        `SELECT count() AS n, sum(pnl) AS p, sum(pnl - fees - funding) AS net_sum, sum(fees) AS f, sum(funding) AS fu FROM ${DB}.trade_events FINAL`,
      );
      ledger.trades = {
        n: Number(t!.n),
        pnl: t!.p!,
        net: t!.net_sum!,
        fees: t!.f!,
        funding: t!.fu!,
      };
      const [w] = await rows<Record<string, number>>(
        `SELECT count() AS n, sum(pnl) AS p FROM ${DB}.trade_events FINAL WHERE run_id = {run:String} ` +
          `AND ts >= parseDateTime64BestEffort({from:String}, 3, 'UTC') AND ts < parseDateTime64BestEffort({to:String}, 3, 'UTC')`,
        { run: win.runId, from: win.from, to: win.to },
      );
      ledger.windowTrades = { n: Number(w!.n), pnl: w!.p! };
      ledger.reasons = (
        await rows<{ exit_reason: string; n: number }>(
          `SELECT exit_reason, count() AS n FROM ${DB}.trade_events FINAL GROUP BY exit_reason`,
        )
      ).map((r) => ({ exit_reason: r.exit_reason, n: Number(r.n) }));
      ledger.tables = new Map();
      for (const table of json.dataRates.tables.map((x) => x.table)) {
        const [c] = await rows<{ n: number }>(`SELECT count() AS n FROM ${DB}.${table}`);
        ledger.tables.set(table, Number(c!.n));
      }
      const [l] = await rows<{ n: number; p50: number; mx: number }>(
        `SELECT count(submit_to_ack_us) AS n, quantileExact(0.5)(submit_to_ack_us) AS p50, max(submit_to_ack_us) AS mx FROM ${DB}.execution_quality WHERE row_version = 0`,
      );
      ledger.latency = { n: Number(l!.n), p50: Number(l!.p50), mx: Number(l!.mx) };
      ledger.perAsset = (
        await rows<{ asset: string; n: number; f: number; t: number | null }>(
          `SELECT asset, count() AS n, sum(filled_qty) / sum(qty) AS f, quantileExactIf(0.5)(submit_to_first_fill_us, isNotNull(submit_to_first_fill_us)) AS t FROM ${DB}.execution_quality WHERE row_version = 0 GROUP BY asset ORDER BY asset`,
        )
      ).map((r) => ({
        asset: r.asset,
        orders: Number(r.n),
        fill: Number(r.f),
        ttf50: r.t === null ? null : Number(r.t),
      }));
      const [raw] = await rows<{ n: number }>(`SELECT count() AS n FROM ${DB}.trade_events`);
      ledger.raw = Number(raw!.n);
      const [c] = await rows<{ usdt: number }>(
        `SELECT sum(slippage_vs_arrival_bps / 1e4 * arrival_price * filled_qty) AS usdt FROM ${DB}.execution_quality ` +
          `WHERE row_version = 0 AND filled_qty > 0 AND trade_id IN (SELECT trade_id FROM ${DB}.trade_events)`,
      );
      ledger.arrivalCost = Number(c!.usdt);
      const [m] = await rows<Record<string, number | null>>(
        'SELECT count(m5) AS n5, quantileExact(0.5)(m5) AS p5, count(m60) AS n60, quantileExact(0.5)(m60) AS p60, ' +
          'count(m300) AS n300, quantileExact(0.5)(m300) AS p300 FROM (SELECT ' +
          'argMax(markout_5s_bps, row_version) AS m5, argMax(markout_60s_bps, row_version) AS m60, ' +
          `argMax(markout_300s_bps, row_version) AS m300 FROM ${DB}.execution_quality GROUP BY run_id, client_order_id)`,
      );
      const orNull = (v: number | null | undefined) => (v === null || v === undefined ? null : Number(v));
      ledger.markouts = [5, 60, 300].map((h) => ({ n: Number(m![`n${h}`]), p50: orNull(m![`p${h}`]) }));
      const [v] = await rows<{ orders: number; rows: number }>(
        `SELECT uniqExact(run_id, client_order_id) AS orders, count() AS rows FROM ${DB}.execution_quality`,
      );
      ledger.rowVersions = { orders: Number(v!.orders), rows: Number(v!.rows) };
    } finally {
      await client.close();
    }
  }, 300_000);

  it('--capital-replay recomputes capital from status_snapshots + deduplicated trade_events and checks the live capital', () => {
    expect(capitalOk.code, capitalOk.stdout + capitalOk.stderr).toBe(0);
    expect(capitalOk.stdout).toMatch(/EQUAL \(within 0\.005\)/);
    expect(capitalOff.code).toBe(1);
    expect(capitalOff.stdout).toMatch(/DIFFERENT/);
  });

  it('writes report.html, report.json and one .svg per plot, and prints where report.html is last', () => {
    for (const f of [
      'report.html',
      'report.json',
      'equity.svg',
      'drawdown.svg',
      'latency.svg',
      'slippage.svg',
      'shortfall.svg',
    ])
      expect(existsSync(join(out, f)), f).toBe(true);
    expect(lastLine(report.stdout)).toBe(`report: ${join(out, 'report.html')}`);
    expect(readFileSync(join(out, 'equity.svg'), 'utf8')).toMatch(
      /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/,
    );
  });

  it('trade count and realized PnL equal what the ledger holds (and what the replay said)', () => {
    expect(ledger.trades.n).toBeGreaterThan(5);
    expect(json.noTrades).toBe(false);
    expect(json.overall.trades).toBe(ledger.trades.n);
    expect(json.overall.realizedPnl).toBeCloseTo(ledger.trades.pnl, 6);
    expect(json.overall.netPnl).toBeCloseTo(ledger.trades.net, 6);
    expect(json.overall.fees).toBeCloseTo(ledger.trades.fees, 6);
    expect(json.overall.funding).toBeCloseTo(ledger.trades.funding, 6);
    expect(json.overall.wins + json.overall.losses).toBeLessThanOrEqual(json.overall.trades);
    const replayed = /trades completed\s+(\d+)/.exec(replay.stdout);
    expect(Number(replayed?.[1])).toBe(json.overall.trades);
    const gross = /realized PnL\s+(-?[\d.]+)/.exec(replay.stdout);
    expect(json.overall.realizedPnl).toBeCloseTo(Number(gross?.[1]), 1);
    // ROI against the initial capital the ledger implies (the replay's 25,000).
    expect(json.capital.initial).toBeCloseTo(25_000, 6);
    expect(json.overall.realizedRoiPct).toBeCloseTo((ledger.trades.pnl / 25_000) * 100, 9);
    expect(json.overall.costAdjustedRoiPct).toBeCloseTo((ledger.trades.net / 25_000) * 100, 9);
    expect(json.overall.openEquityRoiPct).not.toBeNull();
    // Per UTC day sums back to the whole.
    expect(json.daily.reduce((s, d) => s + d.trades, 0)).toBe(json.overall.trades);
    expect(json.daily.reduce((s, d) => s + d.realizedPnl, 0)).toBeCloseTo(json.overall.realizedPnl, 6);
    expect(html).toContain(`<td class="l">trades</td><td>${json.overall.trades}</td>`);
  });

  it('has the plots inline as SVG, drawn by Vega, with their titles', () => {
    expect(html.match(/<svg/g)?.length ?? 0).toBeGreaterThanOrEqual(4);
    for (const name of ['equity', 'drawdown', 'latency', 'slippage'] as const) {
      const block = new RegExp(`<div class="plot" id="plot-${name}"><svg[\\s\\S]*?</svg></div>`).exec(html);
      expect(block, name).not.toBeNull();
      expect(block![0]).toContain(`>${CHART_TITLES[name]}</text>`);
      expect(block![0]).toContain('class="marks"'); // Vega's SVG renderer
    }
    expect(json.series.equitySource).toBe('status_snapshots');
    expect(json.plots.every((p) => p.file !== null)).toBe(true);
  });

  it('is self-contained: no script, no external resource', () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|\ssrc=/i);
    expect(html).toContain('<style>');
  });

  it('shows exits by reason as the ledger counts them', () => {
    expect(ledger.reasons.length).toBeGreaterThan(0);
    for (const r of ledger.reasons) {
      expect(json.exitsByReason.find((x) => x.reason === r.exit_reason)?.trades).toBe(r.n);
      expect(html).toContain(`<td class="l">${r.exit_reason}</td><td>${r.n}</td>`);
    }
    expect(html).toContain('id="exits"');
  });

  it('has execution quality figures from execution_quality', () => {
    const ack = json.execution.latency.find((l) => l.column === 'submit_to_ack_us')!;
    expect(ack.stats.count).toBe(ledger.latency.n);
    expect(ack.stats.p50).toBe(ledger.latency.p50);
    expect(ack.stats.max).toBe(ledger.latency.mx);
    expect(json.execution.slippage.map((s) => s.stats.count)).toEqual([ledger.latency.n, ledger.latency.n]);
    expect(json.series.latencySamples.submit_to_ack_us).toHaveLength(ledger.latency.n);
  });

  it('has post-fill markouts from the latest row version of each order, counting every order once', () => {
    // Markouts arrive as later versions of an order's row: more rows than orders.
    expect(ledger.rowVersions.rows).toBeGreaterThan(ledger.rowVersions.orders);
    expect(json.execution.orders).toBe(ledger.rowVersions.orders);
    expect(json.execution.markouts.map((m) => m.column)).toEqual([
      'markout_5s_bps',
      'markout_60s_bps',
      'markout_300s_bps',
    ]);
    for (const [i, m] of json.execution.markouts.entries()) {
      expect(m.stats.count, m.column).toBe(ledger.markouts[i]!.n);
      expect(m.stats.p50, m.column).toBe(ledger.markouts[i]!.p50);
    }
    expect(ledger.markouts[0]!.n).toBeGreaterThan(0);
    expect(json.series.markoutSamples.markout_60s_bps).toHaveLength(ledger.markouts[1]!.n);
    expect(html).toContain('post-fill markouts, basis points');
    expect(html).toMatch(/<div class="plot" id="plot-markouts"><svg/);
  });

  it("decomposes the implementation shortfall: parts sum to realized net PnL per day and in total, with the ledger's fees and funding", () => {
    const sf = json.execution.shortfall;
    expect(sf.trades).toBe(ledger.trades.n);
    const near = (a: number, b: number) => expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(1e-6);
    near(sf.total.realized, ledger.trades.net);
    near(sf.total.fees, ledger.trades.fees);
    near(sf.total.funding, ledger.trades.funding);
    expect(sf.maxIdentityError).toBeLessThanOrEqual(1e-9);
    for (const d of [...sf.byDay, sf.total])
      near(d.reference - d.delay - d.slippage - d.fees - d.funding - d.venue, d.realized);
    expect(sf.byDay.reduce((a, d) => a + d.trades, 0)).toBe(sf.trades);
    // Every trade here entered and left through PINK's own orders, filled in full: the
    // slippage part is what the orders paid against their arrival prices, and the venue
    // part is only what rounding and partial fills of the sim left.
    near(sf.total.slippage, ledger.arrivalCost);
    expect(sf.total.slippage).toBeGreaterThan(0); // the sim venue slips 2 bps +- 3 bps: mostly a cost
    expect(html).toContain('implementation shortfall, USDT per UTC day');
    expect(html).toMatch(/<div class="plot" id="plot-shortfall"><svg/);
  });

  it('has fill, reject and cancel rates and time to fill per asset and per day, as the ledger counts them', () => {
    const { rates } = json.execution;
    expect(rates.unavailable).toBeNull();
    expect(rates.byAsset.map((r) => [r.key, r.orders])).toEqual(
      ledger.perAsset.map((r) => [r.asset, r.orders]),
    );
    for (const [i, r] of rates.byAsset.entries()) {
      expect(r.fillRatioPct).toBeCloseTo(100 * ledger.perAsset[i]!.fill, 9);
      expect(r.timeToFillMs.p50).toBeCloseTo((ledger.perAsset[i]!.ttf50 ?? Number.NaN) / 1000, 6);
      expect(r.rejectRatePct).toBe(0); // the default sim venue rejects nothing
    }
    expect(rates.byDay.reduce((a, r) => a + r.orders, 0)).toBe(json.execution.orders);
    expect(rates.byDay.map((r) => r.key)).toEqual([...rates.byDay.map((r) => r.key)].sort());
    expect(rates.rejectReasons).toEqual([]);
    expect(html).toContain('rates per asset');
  });

  it("counts rejects by the venue's reason (a sim venue rejecting 30 %)", async () => {
    const rejEnv = { PINK_VAR_DIR: join(dir, 'rej'), PINK_CLICKHOUSE_DIR: join(dir, 'rej', 'clickhouse') };
    const config = join(dir, 'rejecting.json');
    writeFileSync(config, JSON.stringify({ strategy: 'pink', sim: { seed: 4, rejectRate: 0.3 } }));
    const r = pink(['replay', '--data', scans, '--config', config], rejEnv);
    expect(r.code, r.stderr).toBe(0);
    const outRej = join(dir, 'report-rej');
    expect(pink(['report', '--out', outRej], rejEnv).code).toBe(0);
    const { rates, byStatus } = readJson(outRej).execution;
    const { client } = await createClickHouseClient({ dataDir: rejEnv.PINK_CLICKHOUSE_DIR });
    try {
      const counted = await (
        await client.query({
          query: `SELECT final_reason AS reason, count() AS n FROM ${DB}.execution_quality WHERE final_status = 'REJECTED' GROUP BY reason ORDER BY n DESC, reason`,
          format: 'JSONEachRow',
        })
      ).json<{ reason: string; n: string }>();
      expect(rates.rejectReasons.map((x) => [x.reason, x.orders])).toEqual(
        counted.map((c) => [c.reason, Number(c.n)]),
      );
    } finally {
      await client.close();
    }
    expect(rates.rejectReasons[0]?.reason).toBe('insufficient margin (sim fault)');
    const rejected = byStatus.filter((s) => s.finalStatus === 'REJECTED').reduce((a, s) => a + s.orders, 0);
    expect(rejected).toBeGreaterThan(0);
    expect(rates.rejectReasons.reduce((a, x) => a + x.orders, 0)).toBe(rejected);
    const total = rates.byAsset.reduce((a, x) => a + x.orders, 0);
    const weighted = rates.byAsset.reduce((a, x) => a + (x.rejectRatePct ?? 0) * x.orders, 0) / total;
    expect(weighted).toBeCloseTo((100 * rejected) / total, 9);

    // A ledger from before these columns: the report says what to do; schema apply adds them.
    const old = await createClickHouseClient({ dataDir: rejEnv.PINK_CLICKHOUSE_DIR });
    try {
      await old.client.command({
        query:
          `ALTER TABLE ${DB}.execution_quality DROP COLUMN final_reason, DROP COLUMN submit_to_first_fill_us, ` +
          'DROP COLUMN row_version, DROP COLUMN markout_5s_bps, DROP COLUMN markout_60s_bps, DROP COLUMN markout_300s_bps',
      });
    } finally {
      await old.client.close();
    }
    const before = pink(['report', '--out', join(dir, 'report-old')], rejEnv);
    expect(before.code, before.stderr).toBe(0);
    const oldJson = readJson(join(dir, 'report-old'));
    expect(oldJson.execution.rates.unavailable).toMatch(
      /predates the rate columns \(final_reason, submit_to_first_fill_us\): run `pink schema apply` once/,
    );
    expect(oldJson.notes.join('\n')).toMatch(
      /execution_quality predates the markout columns \(markout_5s_bps, markout_60s_bps, markout_300s_bps\): run `pink schema apply` once/,
    );
    const applied = pink(['schema', 'apply'], rejEnv);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/execution_quality.*final_reason/s);
    expect(applied.stdout).toMatch(/execution_quality.*markout_300s_bps/s);
    expect(pink(['report', '--out', join(dir, 'report-new')], rejEnv).code).toBe(0);
    const newJson = readJson(join(dir, 'report-new'));
    expect(newJson.execution.rates.unavailable).toBeNull();
    expect(newJson.notes.join('\n')).not.toMatch(/markout columns/);
  }, 120_000);

  it('has the data rate per table with account_events against the 5 MB/day cap', () => {
    for (const t of json.dataRates.tables) {
      expect(t.rows, t.table).toBe(ledger.tables.get(t.table));
      expect(html).toContain(`<td class="l">${t.table}</td>`);
    }
    expect(json.dataRates.tables.find((t) => t.table === 'trade_events')?.rows).toBe(ledger.raw);
    const acct = json.dataRates.tables.find((t) => t.table === 'account_events')!;
    expect(acct.rows).toBeGreaterThan(0);
    expect(acct.compressedBytes).toBeGreaterThan(0);
    expect(acct.compressedBytesPerDay).toBeCloseTo(
      (acct.compressedBytes * 86_400) / json.dataRates.spanSeconds!,
      6,
    );
    const cap = json.dataRates.accountEvents;
    expect(cap.capBytesPerDay).toBe(5_000_000);
    expect(cap.verdict).toBe(cap.bytesPerDay! <= ACCOUNT_EVENTS_CAP_BYTES_PER_DAY ? 'PASS' : 'OVER');
    expect(html).toContain('id="data-rates"');
    expect(html).toContain('5.00 MB/day');
    expect(html).toMatch(/<span class="(pass|over)">(PASS|OVER)<\/span>/);
  });

  it('--run-id, --from and --to narrow the scope to what the ledger holds there', () => {
    const w = readJson(outWindow);
    expect(w.scope.runId).toBe(win.runId);
    expect(w.scope.from).toBe(win.from);
    expect(w.scope.to).toBe(win.to);
    expect(ledger.windowTrades.n).toBeGreaterThan(0);
    expect(ledger.windowTrades.n).toBeLessThan(ledger.trades.n);
    expect(w.overall.trades).toBe(ledger.windowTrades.n);
    expect(w.overall.realizedPnl).toBeCloseTo(ledger.windowTrades.pnl, 6);
    expect(Date.parse(w.scope.coveredFrom!)).toBeGreaterThanOrEqual(Date.parse(win.from));
    expect(Date.parse(w.scope.coveredTo!)).toBeLessThan(Date.parse(win.to));
  });
});

describe('pink report on an empty ledger and with bad options', () => {
  it('an empty ledger gives a report that says "no trades", not a crash', () => {
    const d = mkdtempSync(join(tmpdir(), 'pink-report-empty-'));
    try {
      const r = pink(['report', '--out', d]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('no trades');
      expect(lastLine(r.stdout)).toBe(`report: ${join(d, 'report.html')}`);
      const html = readFileSync(join(d, 'report.html'), 'utf8');
      expect(html).toContain('id="no-trades"');
      expect(html).toMatch(/No trades\./);
      expect(html).not.toContain('<svg');
      const json = readJson(d);
      expect(json.noTrades).toBe(true);
      expect(json.overall.trades).toBe(0);
      expect(json.dataRates.accountEvents.verdict).toBe('N/A');
      expect(json.plots.every((p) => p.file === null)).toBe(true);
      expect(existsSync(join(d, 'equity.svg'))).toBe(false);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  }, 60_000);

  it('a bad --from / --to is a clear error with exit code 2', () => {
    const bad = pink(['report', '--from', '2025-02-30']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from "2025-02-30": no such calendar date');
    const word = pink(['report', '--from', 'yesterday']);
    expect(word.code).toBe(2);
    expect(word.stderr).toContain('--from "yesterday": not ISO 8601');
    const reversed = pink(['report', '--from', '2025-05-21', '--to', '2025-05-20']);
    expect(reversed.code).toBe(2);
    expect(reversed.stderr).toContain('is not before --to');
  }, 60_000);
});

// ---- units ------------------------------------------------------------------------------------

describe('report scope', () => {
  it('parses ISO dates and date-times as UTC, a bare --to date as the end of that day', () => {
    expect(parseTimeBound('--from', '2025-05-20', false)).toBe(Date.parse('2025-05-20T00:00:00Z'));
    expect(parseTimeBound('--to', '2025-05-20', true)).toBe(Date.parse('2025-05-21T00:00:00Z'));
    expect(parseTimeBound('--from', '2025-05-20T12:30', false)).toBe(Date.parse('2025-05-20T12:30:00Z'));
    expect(parseTimeBound('--from', '2025-05-20 12:30:01.250Z', false)).toBe(
      Date.parse('2025-05-20T12:30:01.250Z'),
    );
    expect(parseTimeBound('--from', '2025-05-20T14:00+02:00', false)).toBe(
      Date.parse('2025-05-20T12:00:00Z'),
    );
    for (const bad of ['2025-5-20', '2025-05-32', '2025-02-29', '2025-05-20T25:00', 'now', '']) {
      expect(() => parseTimeBound('--from', bad, false), bad).toThrow(ReportInputError);
    }
    expect(() => parseScope({ from: '2025-05-20T12:00Z', to: '2025-05-20T12:00Z' })).toThrow(/not before/);
    expect(parseScope({ from: '2025-05-20', to: '2025-05-20' })).toEqual({
      runId: null,
      fromMs: Date.parse('2025-05-20T00:00:00Z'),
      toMs: Date.parse('2025-05-21T00:00:00Z'),
    });
    expect(() => parseScope({ runId: "x' OR 1=1" })).toThrow(/--run-id/);
  });

  it('equity curve: drawdown below the running peak, operator capital changes taken out', () => {
    const c = equityCurve(
      [
        { ts: 1, capital: 100, equity: 100 },
        { ts: 2, capital: 110, equity: 110 },
        { ts: 3, capital: 99, equity: 99 },
        { ts: 5, capital: 150, equity: 150 }, // +50 of it is a deposit at ts 4
        { ts: 6, capital: 140, equity: 132 },
      ],
      [{ ts: 4, delta: 50 }],
    );
    expect(c.map((p) => p.performanceEquity)).toEqual([100, 110, 99, 100, 82]);
    expect(c.map((p) => p.drawdown)).toEqual([0, 0, -11, -10, -28]);
    expect(c[2]!.drawdownPct).toBeCloseTo(-10, 9);
    expect(c[4]!.drawdownPct).toBeCloseTo((-28 / 110) * 100, 9);
  });
});

/** Small fixed figures: two days, three trades, a few orders. */
function fixedFigures(): ReportFigures {
  const t0 = Date.parse('2025-05-20T00:00:00Z');
  const h = 3_600_000;
  const equity = equityCurve(
    [0, 6, 12, 18, 24, 30].map((k, i) => ({
      ts: t0 + k * h,
      capital: 1000 + [0, 10, 10, -5, 20, 25][i]!,
      equity: 1000 + [0, 12, 4, -8, 22, 25][i]!,
    })),
    [],
  );
  const stats = { ...emptyStats(), count: 3, mean: 2, min: 1, p10: 1, p50: 2, p90: 3, p99: 3, max: 3 };
  const kpi = {
    trades: 3,
    wins: 2,
    losses: 1,
    winRatePct: 66.7,
    realizedPnl: 30,
    fees: 4,
    funding: 1,
    netPnl: 25,
    realizedRoiPct: 3,
    costAdjustedRoiPct: 2.5,
    openEquityRoiPct: 2.5,
  };
  return {
    version: 1,
    generatedAt: '2025-05-22T00:00:00.000Z',
    database: 'dolphin_pink',
    scope: {
      runId: null,
      from: null,
      to: null,
      coveredFrom: '2025-05-20T00:00:00.000Z',
      coveredTo: '2025-05-21T06:00:00.000Z',
      spanSeconds: 30 * 3600,
      runs: [
        { runId: 'r1', firstTs: '2025-05-20T00:00:00.000Z', lastTs: '2025-05-21T06:00:00.000Z', rows: 9 },
      ],
    },
    capital: {
      initial: 1000,
      initialSource: 'status_snapshot',
      initialTs: '2025-05-20T00:00:00.000Z',
      final: 1025,
      finalEquity: 1025,
      adjustments: 0,
      openTradeAtEnd: null,
    },
    noTrades: false,
    overall: { ...kpi, maxDrawdownPct: -1.9, maxDrawdown: -20 },
    daily: [
      { ...kpi, day: '2025-05-20', trades: 2, endEquity: 992 },
      { ...kpi, day: '2025-05-21', trades: 1, endEquity: 1025 },
    ],
    exitsByReason: [
      { reason: 'TP2', trades: 2, wins: 2, losses: 0, realizedPnl: 40, netPnl: 36, sharePct: 66.7 },
      { reason: 'STOP_<LOSS>', trades: 1, wins: 0, losses: 1, realizedPnl: -10, netPnl: -11, sharePct: 33.3 },
    ],
    exitLegsByReason: [{ reason: 'TP1', legs: 2, pnl: 12 }],
    execution: {
      orders: 3,
      byStatus: [{ purpose: 'ENTRY', finalStatus: 'REFLECTED', orders: 3 }],
      rates: {
        byAsset: [
          {
            key: 'BTCUSDT',
            orders: 4,
            fillRatioPct: 75,
            rejectRatePct: 25,
            cancelRatePct: 0,
            timeToFillMs: { count: 3, p50: 40.25, p90: 41, p99: 41 },
          },
        ],
        byDay: [],
        rejectReasons: [{ reason: 'margin <low> & more', orders: 1, sharePct: 100 }],
        unavailable: null,
      },
      latency: LATENCY_LEGS.map((l) => ({ column: l.column, label: l.label, stats })),
      slippage: SLIPPAGE_KINDS.map((s) => ({ column: s.column, label: s.label, stats })),
      markouts: MARKOUT_KINDS.map((m) => ({ column: m.column, label: m.label, stats })),
      shortfall: {
        trades: 3,
        total: { reference: 50, delay: 3, slippage: 4, fees: 4, funding: 0, venue: 9, realized: 30 },
        byDay: [
          {
            day: '2025-05-20',
            trades: 2,
            reference: 20,
            delay: 2,
            slippage: 3,
            fees: 3,
            funding: 0,
            venue: 4,
            realized: 8,
          },
          {
            day: '2025-05-21',
            trades: 1,
            reference: 30,
            delay: 1,
            slippage: 1,
            fees: 1,
            funding: 0,
            venue: 5,
            realized: 22,
          },
        ],
        maxIdentityError: 0,
      },
    },
    dataRates: {
      spanSeconds: 30 * 3600,
      tables: [
        {
          table: 'account_events',
          rows: 9,
          tableRows: 9,
          firstTs: '2025-05-20T00:00:00.000Z',
          lastTs: '2025-05-21T06:00:00.000Z',
          compressedBytes: 900,
          uncompressedBytes: 1800,
          bytesEstimated: false,
          rowsPerSec: 9 / (30 * 3600),
          compressedBytesPerDay: 720,
          uncompressedBytesPerDay: 1440,
        },
      ],
      accountEvents: {
        capBytesPerDay: 5_000_000,
        bytesPerDay: 720,
        uncompressedBytesPerDay: 1440,
        verdict: 'PASS',
        capRowsPerSec: 5,
        rowsPerSec: 9 / (30 * 3600),
        rowsVerdict: 'PASS',
      },
    },
    series: {
      equitySource: 'status_snapshots',
      equityBucketMs: 0,
      equity,
      latencySamples: {
        decision_to_submit_us: [10, 20, 30],
        submit_to_ack_us: [100, 200, 150],
        ack_to_first_fill_us: [5, 6, 7],
        first_fill_to_done_us: [],
      },
      slippageSamples: { slippage_vs_reference_bps: [1, 2, 3], slippage_vs_arrival_bps: [-4, 0, 5] },
      markoutSamples: { markout_5s_bps: [-1, 2], markout_60s_bps: [3], markout_300s_bps: [] },
      samplesLimit: 100_000,
      samplesTruncated: false,
    },
    spoolDepth: 0,
    notes: ['a note with <markup> & ampersand'],
  };
}

/** Every plot, in the order the page shows them (written out: a plot added must be added here). */
const EVERY_PLOT = ['equity', 'drawdown', 'latency', 'slippage', 'markouts', 'shortfall'];

describe('report charts (vega-lite -> vega -> SVG) on fixed figures', () => {
  it('builds one Vega-Lite spec per plot, with the figures as inline data', () => {
    const f = fixedFigures();
    const { specs, skipped } = chartSpecs(f);
    expect(specs.map((s) => s.name)).toEqual(EVERY_PLOT);
    expect(skipped).toEqual([]);
    const equity = specs[0]!.spec as unknown as { data: { values: { ts: number; value: number }[] } };
    expect(equity.data.values).toHaveLength(12); // equity and capital per point
    expect(equity.data.values.filter((v) => v.ts === f.series.equity[3]!.ts).map((v) => v.value)).toEqual([
      992, 995,
    ]);
    const drawdown = specs[1]!.spec as unknown as { data: { values: { dd: number }[] } };
    expect(Math.min(...drawdown.data.values.map((v) => v.dd))).toBeCloseTo((-20 / 1012) * 100, 9);
    const latency = specs[2]!.spec as unknown as { concat: unknown[] };
    expect(latency.concat).toHaveLength(3); // the leg without samples is left out
    // The waterfall: each bar starts where the last ended; realized is where the costs leave it.
    const markouts = specs[4]!.spec as unknown as { concat: unknown[] };
    expect(markouts.concat).toHaveLength(2); // 300 s: no order reached it
    const steps = (
      specs[5]!.spec as unknown as { data: { values: { step: string; start: number; end: number }[] } }
    ).data.values;
    expect(steps.map((v) => [v.step, v.start, v.end])).toEqual([
      ['reference', 0, 50],
      ['- delay', 50, 47],
      ['- slippage', 47, 43],
      ['- fees', 43, 39],
      ['- funding', 39, 39],
      ['- venue', 39, 30],
      ['realized', 0, 30],
    ]);
  });

  it('renders each to an SVG with its title, axes and marks', async () => {
    const { charts } = await renderCharts(fixedFigures());
    expect(charts).toHaveLength(6);
    for (const c of charts) {
      expect(c.svg.startsWith('<svg')).toBe(true);
      expect(c.svg).toContain(`>${c.title}</text>`);
      expect(c.svg).toContain('role-axis');
    }
    const equity = charts.find((c) => c.name === 'equity')!.svg;
    expect(equity).toContain('>equity (mark-to-market)</text>');
    expect(equity).toContain('>time (UTC)</text>');
    expect(equity).toContain('>05-20 12:00</text>'); // UTC labels, whatever the machine's zone
    const latency = charts.find((c) => c.name === 'latency')!.svg;
    expect(latency).toContain('submit -&gt; ack: n=3');
    expect(latency).not.toContain('first fill -&gt; done');
  });

  it('renders a bare Vega-Lite spec', async () => {
    const svg = await renderSvg({
      data: { values: [{ a: 1 }, { a: 2 }] },
      mark: 'bar',
      encoding: { x: { field: 'a', type: 'quantitative' } },
    });
    expect(svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
  });

  it('leaves out plots without data, saying why', () => {
    const f = fixedFigures();
    const empty: ReportFigures = {
      ...f,
      series: {
        ...f.series,
        equitySource: 'none',
        equity: [],
        latencySamples: {
          decision_to_submit_us: [],
          submit_to_ack_us: [],
          ack_to_first_fill_us: [],
          first_fill_to_done_us: [],
        },
        slippageSamples: { slippage_vs_reference_bps: [], slippage_vs_arrival_bps: [] },
        markoutSamples: { markout_5s_bps: [], markout_60s_bps: [], markout_300s_bps: [] },
      },
    };
    const { specs, skipped } = chartSpecs({
      ...empty,
      execution: { ...empty.execution, shortfall: { ...empty.execution.shortfall, trades: 0, byDay: [] } },
    });
    expect(specs).toEqual([]);
    expect(skipped.map((s) => s.name)).toEqual(EVERY_PLOT);
  });

  it('the page escapes text and inlines the SVGs', async () => {
    const f = fixedFigures();
    const { charts, skipped } = await renderCharts(f);
    const html = renderHtml(f, charts, skipped);
    expect(html).toContain('STOP_&lt;LOSS&gt;');
    expect(html).toContain('a note with &lt;markup&gt; &amp; ampersand');
    expect(html.match(/<svg/g)).toHaveLength(6);
    expect(html).toContain(
      '<td class="l">total</td><td>3</td><td>50.00</td><td>3.00</td><td>4.00</td><td>4.00</td><td>0.00</td><td>9.00</td><td>30.00</td>',
    );
    expect(html).toContain('<td class="l">2025-05-21</td><td>1</td>');
    expect(html).toContain(
      '<td class="l">BTCUSDT</td><td>4</td><td>75.0</td><td>25.0</td><td>0.0</td><td>40.3</td><td>41.0</td><td>41.0</td>',
    );
    expect(html).toContain('<td class="l">margin &lt;low&gt; &amp; more</td><td>1</td><td>100.0</td>');
    expect(html).toContain('<span class="pass">PASS</span>');
    expect(html).not.toContain('id="no-trades"');
  });
});
