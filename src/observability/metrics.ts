/**
 * Prometheus metrics for PINK (docs/observability.md lists every family).
 *
 * - Event-driven families (scans, decisions, orders, latency legs, slippage, trades) are
 *   fed from canonical events through `PinkMetrics.sink`, an ordinary EventSink.
 * - Order latency legs and slippage are not derived here: a private TradeStoryCollector
 *   (execution/trade-story.ts, the same bookkeeping the ledger writes `execution_quality`
 *   rows from) turns order and fill events into per-order records, so a histogram
 *   observation is exactly one `execution_quality` row (DESIGN.md §8).
 * - Component health, spool depth and account-event volume are read from a callback at
 *   scrape time (`health`), never pushed.
 * - Process metrics (memory, CPU, event loop, GC) come from prom-client's default
 *   collectors, prefixed `pink_`.
 *
 * Everything lives in a private Registry; the global default registry is never touched,
 * so several instances (tests, two runtimes in one process) never collide.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type CanonicalEvent, type EventSink, MARKOUT_HORIZONS_S } from '../domain/events.js';
import { type ExecutionQuality, TradeStoryCollector } from '../execution/trade-story.js';

/** What the runtime knows about its components, read at scrape time. */
export interface HealthSample {
  /** 1/0 per component: ClickHouse reachable, state bus connected, venue answering. */
  readonly components: Readonly<Record<'clickhouse' | 'statebus' | 'venue', boolean>>;
  /** Ledger batches waiting in the on-disk spool (ClickHouse unreachable or refusing). */
  readonly spoolDepth: number;
  /** Ledger rows queued in memory, not yet inserted. */
  readonly queuedRows?: number;
  /** Account-event volume control (DESIGN.md §7): rows written and suppressed by reason. */
  readonly accountEvents: {
    readonly written: number;
    readonly suppressed: Readonly<Record<string, number>>;
    readonly alerts?: number;
  };
}

export interface PinkMetricsOptions {
  /** Added as a `namespace` label to every sample (none when unset). */
  readonly namespace?: string;
  /** Read at every scrape; null (or unset) = not known yet, the health families stay empty. */
  readonly health?: () => HealthSample | null;
  /** prom-client's process collectors (memory, CPU, event loop, GC); default true. */
  readonly defaultMetrics?: boolean;
  /** Distinct decision `reason` label values kept before new ones are folded into `other`. */
  readonly maxReasons?: number;
}

export const LATENCY_LEGS = [
  'decision_to_submit',
  'submit_to_ack',
  'ack_to_first_fill',
  'first_fill_to_done',
] as const;
export type LatencyLeg = (typeof LATENCY_LEGS)[number];

export interface Quantiles {
  readonly orders: number;
  readonly p50: number;
  readonly p90: number;
  readonly max: number;
}

function quantiles(values: number[]): Quantiles | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { orders: s.length, p50: at(0.5), p90: at(0.9), max: s.at(-1)! };
}

/** What the live summary publishes: quantiles per latency leg (us), slippage and markout (bps). */
export interface RecentSummary {
  readonly latency: Record<string, Quantiles>;
  readonly slippage: Record<string, Quantiles>;
  /** Post-fill markouts by horizon (`5s_bps`, ...), positive = the market moved in the order's favour. */
  readonly markout: Record<string, Quantiles>;
}

/** A ring of the latest finished orders' latency legs and slippage, and of their markouts. */
class RecentOrders {
  private readonly orders: ExecutionQuality[] = [];
  private readonly markouts = new Map<number, number[]>();
  constructor(private readonly size: number) {}

  add(order: ExecutionQuality): void {
    this.orders.push(order);
    if (this.orders.length > this.size) this.orders.shift();
  }

  addMarkout(horizonS: number, bps: number): void {
    const ring = this.markouts.get(horizonS) ?? [];
    ring.push(bps);
    if (ring.length > this.size) ring.shift();
    this.markouts.set(horizonS, ring);
  }

  summary(): RecentSummary {
    const pick = (field: `${LatencyLeg}_us` | 'slippage_vs_reference_bps' | 'slippage_vs_arrival_bps') =>
      this.orders.map((o) => num(o[field])).filter((v): v is number => v !== null && v >= -1e12);
    const latency: Record<string, Quantiles> = {};
    for (const leg of LATENCY_LEGS) {
      const q = quantiles(pick(`${leg}_us`).filter((v) => v >= 0));
      if (q) latency[`${leg}_us`] = q;
    }
    const slippage: Record<string, Quantiles> = {};
    for (const [name, field] of [
      ['vs_reference_bps', 'slippage_vs_reference_bps'],
      ['vs_arrival_bps', 'slippage_vs_arrival_bps'],
    ] as const) {
      const q = quantiles(pick(field));
      if (q) slippage[name] = q;
    }
    const markout: Record<string, Quantiles> = {};
    for (const h of MARKOUT_HORIZONS_S) {
      const q = quantiles(this.markouts.get(h) ?? []);
      if (q) markout[`${h}s_bps`] = q;
    }
    return { latency, slippage, markout };
  }
}

/** Seconds: 10 us (the hot path) to 30 s (a slow venue). */
const LATENCY_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1, 2.5, 5, 10, 30,
];
/** bps, positive = cost; negative buckets catch price improvement. */
const SLIPPAGE_BUCKETS = [-50, -20, -10, -5, -2, -1, -0.5, 0, 0.5, 1, 2, 5, 10, 20, 50, 100];
/** bps, positive = the market moved in the order's favour after the fill. */
const MARKOUT_BUCKETS = [-200, -100, -50, -20, -10, -5, -2, 0, 2, 5, 10, 20, 50, 100, 200];
/** Filled / requested quantity of a finished order: 0 (nothing), partial, 1 (all). */
const FILL_RATIO_BUCKETS = [0, 0.25, 0.5, 0.75, 0.9, 0.99, 1];

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export class PinkMetrics {
  readonly registry = new Registry();
  private readonly collector = new TradeStoryCollector({ maxDecisionsPerTrade: 0 });
  private readonly reasons = new Set<string>();
  private readonly maxReasons: number;
  private health: (() => HealthSample | null) | undefined;
  /** The latest finished orders' legs and slippage, for the live summary (TUI, status). */
  private readonly recent = new RecentOrders(200);

  private readonly scans: Counter;
  private readonly scansRejected: Counter;
  private readonly decisions: Counter<'action' | 'reason'>;
  private readonly orders: Counter<'purpose' | 'outcome'>;
  private readonly latency: Histogram<'leg'>;
  private readonly slippage: Histogram<'benchmark'>;
  private readonly timeToFill: Histogram<'purpose'>;
  private readonly markouts: Histogram<'horizon'>;
  private readonly fillRatio: Histogram<'purpose'>;
  private readonly trades: Counter<'exit_reason'>;
  private readonly events: Counter<'type'>;
  private readonly corrections: Counter<'what'>;
  private readonly strategyUp: Gauge;
  private readonly strategyFailures: Counter;

  constructor(o: PinkMetricsOptions = {}) {
    const registers = [this.registry];
    this.health = o.health;
    this.maxReasons = o.maxReasons ?? 64;
    if (o.namespace) this.registry.setDefaultLabels({ namespace: o.namespace });
    if (o.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'pink_' });

    this.scans = new Counter({
      name: 'pink_scans_processed_total',
      help: 'Scans that reached the pipeline (accepted and rejected)',
      registers,
    });
    this.scansRejected = new Counter({
      name: 'pink_scans_rejected_total',
      help: 'Scans refused before the strategy (not JSON, failed validation, out of order)',
      registers,
    });
    this.decisions = new Counter({
      name: 'pink_decisions_total',
      help: 'Strategy decisions by action (NONE, ENTER, HOLD, EXIT) and reason',
      labelNames: ['action', 'reason'],
      registers,
    });
    this.orders = new Counter({
      name: 'pink_orders_total',
      help: 'Orders by purpose and outcome (final status, as in execution_quality.final_status)',
      labelNames: ['purpose', 'outcome'],
      registers,
    });
    this.latency = new Histogram({
      name: 'pink_order_latency_seconds',
      help: 'Per-order latency legs (DESIGN.md §8): decision_to_submit, submit_to_ack, ack_to_first_fill, first_fill_to_done',
      labelNames: ['leg'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.slippage = new Histogram({
      name: 'pink_order_slippage_bps',
      help: 'Filled-order slippage in bps (positive = cost) against the decision reference price and the arrival price',
      labelNames: ['benchmark'],
      buckets: SLIPPAGE_BUCKETS,
      registers,
    });
    this.timeToFill = new Histogram({
      name: 'pink_order_time_to_fill_seconds',
      help: 'Submit -> first fill per order that filled (execution_quality.submit_to_first_fill_us), by purpose',
      labelNames: ['purpose'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.markouts = new Histogram({
      name: 'pink_order_markout_bps',
      help: "Post-fill markout per filled order (execution_quality.markout_<h>s_bps): the market as of the last fill + horizon against the average fill price, bps, positive = moved in the order's favour",
      labelNames: ['horizon'],
      buckets: MARKOUT_BUCKETS,
      registers,
    });
    this.fillRatio = new Histogram({
      name: 'pink_order_fill_ratio',
      help: 'Filled / requested quantity per finished order (1 = filled, 0 = rejected, cancelled or expired unfilled), by purpose',
      labelNames: ['purpose'],
      buckets: FILL_RATIO_BUCKETS,
      registers,
    });
    this.trades = new Counter({
      name: 'pink_trades_closed_total',
      help: 'Terminal trades (venue confirmed flat) by exit reason',
      labelNames: ['exit_reason'],
      registers,
    });
    this.events = new Counter({
      name: 'pink_events_total',
      help: 'Canonical events seen by the metrics sink, by type',
      labelNames: ['type'],
      registers,
    });
    this.corrections = new Counter({
      name: 'pink_corrections_total',
      help: 'Correction events (the venue contradicted or completed what PINK knew; quarantined rows), by what',
      labelNames: ['what'],
      registers,
    });
    this.strategyUp = new Gauge({
      name: 'pink_strategy_up',
      help: 'The strategy can decide: 1, or 0 while a strategy process is down (entries paused; issue #20)',
      registers,
    });
    this.strategyUp.set(1);
    this.strategyFailures = new Counter({
      name: 'pink_strategy_failures_total',
      help: 'Strategy process failures (exited, past its deadline, an answer PINK could not check): each pauses entries until RESUME',
      registers,
    });
    this.healthGauges(registers);
  }

  /** Set (or replace) the scrape-time health callback. */
  setHealth(health: (() => HealthSample | null) | undefined): void {
    this.health = health;
  }

  /** The current health sample (what the health families show at a scrape). */
  healthSample(): HealthSample | null {
    return this.health?.() ?? null;
  }

  /** The EventSink to hand to the pipeline / runtime. */
  readonly sink: EventSink = (e) => this.observe(e);

  observe(e: CanonicalEvent): void {
    this.events.inc({ type: e.type });
    switch (e.type) {
      case 'scan_rejected':
        this.scans.inc();
        this.scansRejected.inc();
        break;
      case 'decision':
        this.scans.inc();
        this.decisions.inc({ action: e.record.action, reason: this.reasonLabel(e.record.reason) });
        break;
      case 'trade_closed':
        this.trades.inc({ exit_reason: e.trade.exitReason });
        break;
      case 'correction':
        this.corrections.inc({ what: e.what });
        break;
      case 'strategy_health':
        this.strategyUp.set(e.state === 'FAILED' ? 0 : 1);
        if (e.state === 'FAILED') this.strategyFailures.inc();
        break;
      case 'markout':
        for (const m of e.markouts) {
          this.markouts.observe({ horizon: `${m.horizonS}s` }, m.bps);
          this.recent.addMarkout(m.horizonS, m.bps);
        }
        break;
      default:
        break;
    }
    // Later versions of a row only add markouts (observed from the markout event itself).
    for (const out of this.collector.observe(e))
      if (out.kind === 'execution_quality' && out.record.row_version === 0) this.onOrderDone(out.record);
  }

  /** Prometheus text exposition of the registry. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** One execution-quality record (= one `execution_quality` row) = one finished order. */
  private onOrderDone(order: ExecutionQuality): void {
    this.orders.inc({ purpose: order.purpose || 'UNKNOWN', outcome: order.final_status || 'UNKNOWN' });
    for (const leg of LATENCY_LEGS) {
      const us = num(order[`${leg}_us`]);
      if (us !== null && us >= 0) this.latency.observe({ leg }, us / 1e6);
    }
    const vsRef = num(order.slippage_vs_reference_bps);
    if (vsRef !== null) this.slippage.observe({ benchmark: 'reference' }, vsRef);
    const vsArrival = num(order.slippage_vs_arrival_bps);
    if (vsArrival !== null) this.slippage.observe({ benchmark: 'arrival' }, vsArrival);
    const purpose = order.purpose || 'UNKNOWN';
    const toFill = num(order.submit_to_first_fill_us);
    if (toFill !== null && toFill >= 0) this.timeToFill.observe({ purpose }, toFill / 1e6);
    if (order.qty > 0) this.fillRatio.observe({ purpose }, Math.min(1, order.filled_qty / order.qty));
    this.recent.add(order);
  }

  /** p50 / p90 / max of the latest finished orders (microseconds, bps) and markouts, for the published state. */
  recentSummary(): RecentSummary {
    return this.recent.summary();
  }

  /** Bounded label cardinality: a custom algorithm may invent reasons. */
  private reasonLabel(reason: string): string {
    const r = reason || 'none';
    if (this.reasons.has(r)) return r;
    if (this.reasons.size >= this.maxReasons) return 'other';
    this.reasons.add(r);
    return r;
  }

  private healthGauges(registers: Registry[]): void {
    const sample = () => this.healthSample();
    new Gauge({
      name: 'pink_component_up',
      help: 'Component health, 1 = up: clickhouse (reachable), statebus (connected), venue (last call succeeded)',
      labelNames: ['component'],
      registers,
      collect() {
        const h = sample();
        this.reset();
        if (!h) return;
        for (const [component, up] of Object.entries(h.components)) this.set({ component }, up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'pink_clickhouse_spool_depth',
      help: 'Ledger batches waiting in the on-disk spool for ClickHouse',
      registers,
      collect() {
        const h = sample();
        this.reset();
        if (h) this.set(h.spoolDepth);
      },
    });
    new Gauge({
      name: 'pink_clickhouse_queued_rows',
      help: 'Ledger rows queued in memory, not yet inserted',
      registers,
      collect() {
        const h = sample();
        this.reset();
        if (h?.queuedRows !== undefined) this.set(h.queuedRows);
      },
    });
    new Gauge({
      name: 'pink_account_event_rows_written',
      help: 'account_events rows written since start (volume control, DESIGN.md §7)',
      registers,
      collect() {
        const h = sample();
        this.reset();
        if (h) this.set(h.accountEvents.written);
      },
    });
    new Gauge({
      name: 'pink_account_event_rows_suppressed',
      help: 'account_events rows suppressed since start, by reason (unchanged, min_interval, cap)',
      labelNames: ['reason'],
      registers,
      collect() {
        const h = sample();
        this.reset();
        if (!h) return;
        for (const [reason, n] of Object.entries(h.accountEvents.suppressed)) this.set({ reason }, n);
      },
    });
    new Gauge({
      name: 'pink_account_event_cap_alerts',
      help: 'Account-event cap alerts raised since start (cap exceeded for too many windows)',
      registers,
      collect() {
        const h = sample();
        this.reset();
        if (h?.accountEvents.alerts !== undefined) this.set(h.accountEvents.alerts);
      },
    });
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
}

export interface MetricsServerOptions {
  /** 0 = an ephemeral port. */
  readonly port: number;
  /** Loopback only (default 127.0.0.1); anything else is refused. */
  readonly host?: string;
  /** GET /healthz: 200 when every component is up, 503 otherwise (default: the metrics' health). */
  readonly healthz?: () => { ok: boolean; detail: unknown };
}

export interface MetricsServer {
  readonly port: number;
  readonly host: string;
  /** http://host:port/metrics */
  readonly url: string;
  close(): Promise<void>;
}

export class MetricsServerError extends Error {
  override name = 'MetricsServerError';
}

/** Serves GET /metrics (Prometheus text) and GET /healthz on a loopback address. */
export async function startMetricsServer(
  metrics: PinkMetrics,
  o: MetricsServerOptions,
): Promise<MetricsServer> {
  const host = o.host ?? '127.0.0.1';
  if (!isLoopbackHost(host))
    throw new MetricsServerError(
      `metrics server: refusing non-loopback host "${host}" (127.0.0.1 or ::1 only)`,
    );
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)
    throw new MetricsServerError(`metrics server: port must be 0..65535, got ${o.port}`);
  const healthz = o.healthz ?? (() => defaultHealthz(metrics));
  const server: Server = createServer((req, res) => {
    void handle(req, res, metrics, healthz);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new MetricsServerError(
          err.code === 'EADDRINUSE'
            ? `metrics port ${host}:${o.port} is already in use (set PINK_METRICS_PORT: 0 = ephemeral, off = disabled)`
            : `metrics server: cannot listen on ${host}:${o.port}: ${err.message}`,
        ),
      ),
    );
    server.listen(o.port, host, () => resolve());
  });
  // Keep-alive scrapers must not hold shutdown.
  server.keepAliveTimeout = 5_000;
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    port,
    host,
    url: `http://${shown}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function defaultHealthz(metrics: PinkMetrics): { ok: boolean; detail: unknown } {
  const h = metrics.healthSample();
  if (!h) return { ok: false, detail: { status: 'starting' } };
  const ok = Object.values(h.components).every(Boolean);
  return {
    ok,
    detail: { status: ok ? 'ok' : 'degraded', components: h.components, spool_depth: h.spoolDepth },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: PinkMetrics,
  healthz: () => { ok: boolean; detail: unknown },
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      const body = await metrics.text();
      res
        .writeHead(200, { 'content-type': metrics.contentType })
        .end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (path === '/healthz') {
      const h = healthz();
      res
        .writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' })
        .end(req.method === 'HEAD' ? undefined : `${JSON.stringify(h.detail)}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  } catch (err) {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(`metrics error: ${(err as Error).message}\n`);
  }
}
