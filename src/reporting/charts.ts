/**
 * Report figures -> SVG plots, through a charting library: each plot is a Vega-Lite
 * specification, compiled to Vega and rendered headless (View with renderer 'none',
 * toSVG). Data is inline in the specification; nothing is loaded from anywhere.
 */
import type { TopLevelSpec } from 'vega-lite';
import {
  type DistStats,
  LATENCY_LEGS,
  MARKOUT_KINDS,
  type ReportFigures,
  SLIPPAGE_KINDS,
} from './figures.js';

export type ChartName = 'equity' | 'drawdown' | 'latency' | 'slippage' | 'markouts' | 'shortfall';

export interface ChartSpec {
  readonly name: ChartName;
  readonly title: string;
  readonly spec: TopLevelSpec;
}

export interface Chart {
  readonly name: ChartName;
  readonly title: string;
  readonly svg: string;
}

export interface SkippedChart {
  readonly name: ChartName;
  readonly title: string;
  readonly reason: string;
}

export const CHART_TITLES: Readonly<Record<ChartName, string>> = {
  equity: 'Equity curve',
  drawdown: 'Drawdown',
  latency: 'Order latency per leg',
  slippage: 'Slippage distribution',
  markouts: 'Post-fill markouts',
  shortfall: 'Implementation shortfall',
};

/** vega-util's log level Error: warnings stay out of the command's output. */
const VEGA_LOG_ERROR = 1;

const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  title: { fontSize: 15, anchor: 'start', subtitleFontSize: 11, subtitleColor: '#555' },
  axis: { labelFontSize: 10, titleFontSize: 11, gridColor: '#eee' },
  legend: { labelFontSize: 11 },
  view: { stroke: '#ccc' },
} as const;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const WIDTH = 760;

/** A UTC time axis whose labels fit the span: hours within a day, then dates. */
function timeX(first: number, last: number): Record<string, unknown> {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const sameDay = day(first) === day(last);
  const format = sameDay ? '%H:%M' : last - first <= 7 * 86_400_000 ? '%m-%d %H:%M' : '%Y-%m-%d';
  return {
    field: 'ts',
    type: 'temporal',
    title: sameDay ? `time (UTC), ${day(first)}` : 'time (UTC)',
    scale: { type: 'utc' },
    axis: { format, labelAngle: 0, labelOverlap: true },
  };
}

/** One panel of a concatenated plot. */
type Panel = Extract<TopLevelSpec, { concat: unknown }>['concat'][number];

const fmt = (v: number | null, digits = 1): string => (v === null ? 'n/a' : v.toFixed(digits));

function histogram(values: readonly number[], title: string, unit: string, color: string): Panel {
  return {
    title: { text: title, fontSize: 12 },
    width: 340,
    height: 150,
    data: { values: values.map((v) => ({ v })) },
    mark: { type: 'bar', color, tooltip: false },
    encoding: {
      x: { field: 'v', type: 'quantitative', bin: { maxbins: 30 }, title: unit },
      y: { aggregate: 'count', type: 'quantitative', title: 'orders' },
    },
  };
}

/** The specifications of the plots that have data; the others are listed with the reason. */
export function chartSpecs(f: ReportFigures): { specs: ChartSpec[]; skipped: SkippedChart[] } {
  const specs: ChartSpec[] = [];
  const skipped: SkippedChart[] = [];
  const skip = (name: ChartName, reason: string) => skipped.push({ name, title: CHART_TITLES[name], reason });
  const curve = f.series.equity;

  if (curve.length > 0) {
    const x = timeX(curve[0]!.ts, curve.at(-1)!.ts);
    const fromTicks = f.series.equitySource === 'status_snapshots';
    const values = fromTicks
      ? curve.flatMap((p) => [
          { ts: p.ts, series: 'equity (mark-to-market)', value: p.equity },
          { ts: p.ts, series: 'capital (realized)', value: p.capital },
        ])
      : curve.map((p) => ({ ts: p.ts, series: 'capital (initial + cumulative net PnL)', value: p.capital }));
    specs.push({
      name: 'equity',
      title: CHART_TITLES.equity,
      spec: {
        $schema: SCHEMA,
        title: {
          text: CHART_TITLES.equity,
          subtitle: fromTicks
            ? `status_snapshots equity and capital (${curve.length} points${f.series.equityBucketMs ? `, thinned to ${f.series.equityBucketMs} ms buckets` : ''})`
            : `trade_events: initial capital + cumulative net PnL (${curve.length} points)`,
        },
        width: WIDTH,
        height: 260,
        background: 'white',
        config: CONFIG,
        data: { values },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative', title: 'USDT', scale: { zero: false } },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: { range: ['#1f77b4', '#ff7f0e'] },
            legend: { orient: 'bottom', labelLimit: 400 },
          },
        },
      },
    });
    specs.push({
      name: 'drawdown',
      title: CHART_TITLES.drawdown,
      spec: {
        $schema: SCHEMA,
        title: {
          text: CHART_TITLES.drawdown,
          subtitle: `below the running peak of equity (operator capital changes taken out); max ${fmt(f.overall.maxDrawdownPct, 3)} %`,
        },
        width: WIDTH,
        height: 180,
        background: 'white',
        config: CONFIG,
        data: { values: curve.map((p) => ({ ts: p.ts, dd: p.drawdownPct })) },
        mark: {
          type: 'area',
          interpolate: 'step-after',
          color: '#d62728',
          opacity: 0.5,
          line: { color: '#d62728' },
        },
        encoding: {
          x,
          y: { field: 'dd', type: 'quantitative', title: 'drawdown (%)' },
        },
      },
    });
  } else {
    skip('equity', 'no status ticks and no trades in scope');
    skip('drawdown', 'no equity curve');
  }

  const legs = LATENCY_LEGS.map((l) => ({
    ...l,
    values: f.series.latencySamples[l.column],
    stats: f.execution.latency.find((x) => x.column === l.column)?.stats,
  })).filter((l) => l.values.length > 0);
  if (legs.length > 0)
    specs.push({
      name: 'latency',
      title: CHART_TITLES.latency,
      spec: {
        $schema: SCHEMA,
        title: {
          text: CHART_TITLES.latency,
          subtitle: 'execution_quality, one value per order and leg, microseconds (process monotonic clock)',
        },
        background: 'white',
        config: CONFIG,
        columns: 2,
        concat: legs.map((l) =>
          histogram(
            l.values,
            `${l.label}: n=${l.stats?.count ?? l.values.length}, p50 ${fmt(l.stats?.p50 ?? null, 0)}, p99 ${fmt(l.stats?.p99 ?? null, 0)} us`,
            'microseconds',
            '#1f77b4',
          ),
        ),
        resolve: { scale: { x: 'independent', y: 'independent' } },
      },
    });
  else skip('latency', 'no order with a latency in execution_quality');

  const slippage = bpsHistograms(
    'slippage',
    SLIPPAGE_KINDS.map((k) => ({
      label: k.label,
      values: f.series.slippageSamples[k.column],
      stats: f.execution.slippage.find((x) => x.column === k.column)?.stats,
    })),
    'execution_quality, basis points per order, positive = cost',
    '#2ca02c',
  );
  if (slippage) specs.push(slippage);
  else skip('slippage', 'no order with a slippage figure in execution_quality');

  const markouts = bpsHistograms(
    'markouts',
    MARKOUT_KINDS.map((k) => ({
      label: k.label,
      values: f.series.markoutSamples[k.column],
      stats: f.execution.markouts.find((x) => x.column === k.column)?.stats,
    })),
    "execution_quality (latest row version), basis points per filled order, positive = the market moved in the order's favour",
    '#9467bd',
  );
  if (markouts) specs.push(markouts);
  else skip('markouts', 'no filled order whose markout horizon passed in execution_quality');

  const sf = f.execution.shortfall;
  if (sf.trades > 0) specs.push({ name: 'shortfall', title: CHART_TITLES.shortfall, spec: waterfall(sf) });
  else skip('shortfall', 'no completed trade in scope');

  return { specs, skipped };
}

/** One histogram per kind that has values, side by side, in basis points; null when none has any. */
function bpsHistograms(
  name: ChartName,
  kinds: readonly { label: string; values: readonly number[]; stats: DistStats | undefined }[],
  subtitle: string,
  color: string,
): ChartSpec | null {
  const shown = kinds.filter((k) => k.values.length > 0);
  if (shown.length === 0) return null;
  return {
    name,
    title: CHART_TITLES[name],
    spec: {
      $schema: SCHEMA,
      title: { text: CHART_TITLES[name], subtitle },
      background: 'white',
      config: CONFIG,
      columns: 2,
      concat: shown.map((k) =>
        histogram(
          k.values,
          `${k.label}: n=${k.stats?.count ?? k.values.length}, mean ${fmt(k.stats?.mean ?? null, 2)}, p50 ${fmt(k.stats?.p50 ?? null, 2)} bps`,
          'bps',
          color,
        ),
      ),
      resolve: { scale: { x: 'independent', y: 'independent' } },
    },
  };
}

/** Reference PnL, each cost taken off in turn, realized PnL: bars from where the last one ended. */
function waterfall(sf: ReportFigures['execution']['shortfall']): TopLevelSpec {
  const t = sf.total;
  const steps: Array<{ step: string; start: number; end: number; kind: string }> = [];
  let level = t.reference;
  steps.push({ step: 'reference', start: 0, end: level, kind: 'PnL' });
  for (const [step, cost] of [
    ['delay', t.delay],
    ['slippage', t.slippage],
    ['fees', t.fees],
    ['funding', t.funding],
    ['venue', t.venue],
  ] as const) {
    steps.push({ step: `- ${step}`, start: level, end: level - cost, kind: cost >= 0 ? 'cost' : 'gain' });
    level -= cost;
  }
  steps.push({ step: 'realized', start: 0, end: t.realized, kind: 'PnL' });
  return {
    $schema: SCHEMA,
    title: {
      text: CHART_TITLES.shortfall,
      subtitle: `${sf.trades} trades, USDT: reference PnL at decision prices, minus each cost, equals realized (net) PnL`,
    },
    width: WIDTH,
    height: 220,
    background: 'white',
    config: CONFIG,
    data: { values: steps },
    mark: { type: 'bar', tooltip: false },
    encoding: {
      x: { field: 'step', type: 'nominal', sort: null, title: null, axis: { labelAngle: 0 } },
      y: { field: 'start', type: 'quantitative', title: 'USDT' },
      y2: { field: 'end' },
      color: {
        field: 'kind',
        type: 'nominal',
        title: null,
        scale: { domain: ['PnL', 'cost', 'gain'], range: ['#1f77b4', '#d62728', '#2ca02c'] },
        legend: { orient: 'bottom' },
      },
    },
  };
}

/** One Vega-Lite specification -> SVG text (headless Vega view). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded on first use: vega and vega-lite take most of a second to import.
  const [{ parse, View }, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const { spec: vg } = compile(spec);
  const view = new View(parse(vg), { renderer: 'none', logLevel: VEGA_LOG_ERROR });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function renderCharts(f: ReportFigures): Promise<{ charts: Chart[]; skipped: SkippedChart[] }> {
  const { specs, skipped } = chartSpecs(f);
  const charts: Chart[] = [];
  for (const s of specs) charts.push({ name: s.name, title: s.title, svg: await renderSvg(s.spec) });
  return { charts, skipped };
}
