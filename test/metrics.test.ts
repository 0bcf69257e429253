/**
 * Prometheus metrics: a real replay (synthetic scans with bad lines -> strategy ->
 * kernel -> sim venue with rejects, partial fills and slippage) feeds the metrics sink;
 * /metrics is scraped over loopback and every family is checked against counts taken
 * independently from the same canonical events. Then `pink run` is started as an
 * operator starts it and its /metrics and /healthz are read while it trades.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/app/config.js';
import type { CanonicalEvent, OrderEvent } from '../src/domain/events.js';
import {
  type HealthSample,
  isLoopbackHost,
  type MetricsServer,
  PinkMetrics,
  startMetricsServer,
} from '../src/observability/metrics.js';
import { CLI, cliEnv, REPO } from './support/cli.js';
import { replaySynthetic } from './support/synthetic-replay.js';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Prometheus text exposition -> samples (comments skipped). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples named `name` whose labels include `labels`. */
function total(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

const families = (samples: readonly Sample[]) => new Set(samples.map((s) => s.name));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Everything the tests write; removed at the end. */
const TMP = mkdtempSync(join(tmpdir(), 'pink-metrics-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describe('PinkMetrics over a real replay, scraped over HTTP', () => {
  const SCANS = 1500;
  const events: CanonicalEvent[] = [];
  let health: HealthSample | null = null;
  const metrics = new PinkMetrics({ namespace: 'pink', health: () => health });
  let server: MetricsServer;
  let samples: Sample[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(join(TMP, 'replay-'));
    const badLines = new Map([
      [10, 'not json'],
      [200, '{"scan": "x"}'],
      [700, '{}'],
    ]);
    await replaySynthetic({
      dir,
      scans: SCANS,
      seed: 11,
      badLines,
      sim: { seed: 3, slippageBps: 2, slippageJitterBps: 3, partialFills: 2, rejectRate: 0.15 },
      sinks: [(e) => events.push(e), metrics.sink],
    });
    server = await startMetricsServer(metrics, { port: 0 });
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    samples = parseExposition(await res.text());
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  const of = <T extends CanonicalEvent['type']>(t: T) =>
    events.filter((e): e is Extract<CanonicalEvent, { type: T }> => e.type === t);

  /** Per client order id: the milestones seen, in order, and the last event. */
  const orders = () => {
    const byId = new Map<string, OrderEvent[]>();
    for (const e of of('order')) {
      if (e.clientOrderId === '') continue;
      byId.set(e.clientOrderId, [...(byId.get(e.clientOrderId) ?? []), e]);
    }
    return byId;
  };

  it('ran a replay worth measuring (rejected scans, trades, rejected and partially filled orders)', () => {
    expect(of('scan_rejected').length).toBe(3);
    expect(of('trade_closed').length).toBeGreaterThanOrEqual(5);
    const milestones = of('order').map((e) => e.milestone);
    expect(milestones).toContain('REJECTED');
    expect(milestones).toContain('PARTIALLY_FILLED');
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(server.port).toBeGreaterThan(0);
  });

  it('counts scans processed and rejected', () => {
    expect(total(samples, 'pink_scans_processed_total')).toBe(
      of('decision').length + of('scan_rejected').length,
    );
    expect(total(samples, 'pink_scans_processed_total')).toBe(SCANS + 3);
    expect(total(samples, 'pink_scans_rejected_total')).toBe(3);
    expect(samples.find((s) => s.name === 'pink_scans_rejected_total')?.labels).toEqual({
      namespace: 'pink',
    });
  });

  it('counts decisions by action and reason', () => {
    const expected = new Map<string, number>();
    for (const d of of('decision')) {
      const k = `${d.record.action}/${d.record.reason}`;
      expected.set(k, (expected.get(k) ?? 0) + 1);
    }
    expect(expected.size).toBeGreaterThan(4);
    for (const [k, n] of expected) {
      const [action, reason] = k.split('/') as [string, string];
      expect(total(samples, 'pink_decisions_total', { action, reason }), k).toBe(n);
    }
    expect(total(samples, 'pink_decisions_total')).toBe(of('decision').length);
  });

  it('counts orders by purpose and final status', () => {
    const byId = orders();
    expect(byId.size).toBeGreaterThan(10);
    expect(total(samples, 'pink_orders_total')).toBe(byId.size);
    const expected = new Map<string, number>();
    for (const evs of byId.values()) {
      const last = evs.at(-1)!;
      const k = `${last.purpose}/${last.milestone}`;
      expected.set(k, (expected.get(k) ?? 0) + 1);
    }
    for (const [k, n] of expected) {
      const [purpose, outcome] = k.split('/') as [string, string];
      expect(total(samples, 'pink_orders_total', { purpose, outcome }), k).toBe(n);
    }
    expect(total(samples, 'pink_orders_total', { outcome: 'REJECTED' })).toBeGreaterThan(0);
    expect(total(samples, 'pink_trades_closed_total')).toBe(of('trade_closed').length);
  });

  it('has one latency observation per order and leg, summing to the monotonic-clock differences', () => {
    const first = (evs: OrderEvent[], ms: readonly string[]) => evs.find((e) => ms.includes(e.milestone));
    const DONE = ['REFLECTED', 'REJECTED', 'CANCELLED', 'EXPIRED'];
    const legs = {
      decision_to_submit: (evs: OrderEvent[]) => [first(evs, ['REQUESTED']), first(evs, ['SENT'])],
      submit_to_ack: (evs: OrderEvent[]) => [first(evs, ['SENT']), first(evs, ['ACKNOWLEDGED'])],
      ack_to_first_fill: (evs: OrderEvent[]) => [
        first(evs, ['ACKNOWLEDGED']),
        first(evs, ['PARTIALLY_FILLED', 'FILLED']),
      ],
      first_fill_to_done: (evs: OrderEvent[]) => {
        const done = first(evs, DONE);
        return [first(evs, ['PARTIALLY_FILLED', 'FILLED']), done && (first(evs, ['FILLED']) ?? done)];
      },
    };
    const byId = orders();
    for (const [leg, pick] of Object.entries(legs)) {
      let count = 0;
      let sumUs = 0;
      for (const evs of byId.values()) {
        const [from, to] = pick(evs);
        if (!from || !to) continue;
        count += 1;
        sumUs += Number((to.monoNs - from.monoNs) / 1000n);
      }
      expect(count, leg).toBeGreaterThan(0);
      expect(total(samples, 'pink_order_latency_seconds_count', { leg }), leg).toBe(count);
      expect(total(samples, 'pink_order_latency_seconds_sum', { leg }), leg).toBeCloseTo(sumUs / 1e6, 6);
      expect(total(samples, 'pink_order_latency_seconds_bucket', { leg, le: '+Inf' }), leg).toBe(count);
    }
    // Every order that got past the venue call has a decision->submit leg.
    const sent = [...byId.values()].filter((evs) => evs.some((e) => e.milestone === 'SENT')).length;
    expect(total(samples, 'pink_order_latency_seconds_count', { leg: 'decision_to_submit' })).toBe(sent);
  });

  it('has the submit -> first fill time of every order that filled, and the fill ratio of every finished order, by purpose', () => {
    const at = (evs: OrderEvent[], ms: readonly string[]) => evs.find((e) => ms.includes(e.milestone));
    const TERMINAL = ['REFLECTED', 'REJECTED', 'CANCELLED', 'EXPIRED'];
    for (const purpose of ['ENTRY', 'EXIT']) {
      let filled = 0;
      let toFillUs = 0;
      let finished = 0;
      let ratios = 0;
      for (const evs of orders().values()) {
        if (evs[0]!.purpose !== purpose) continue;
        const sent = at(evs, ['SENT']);
        const fill = at(evs, ['PARTIALLY_FILLED', 'FILLED']);
        if (sent && fill) {
          filled += 1;
          toFillUs += Number((fill.monoNs - sent.monoNs) / 1000n);
        }
        const done = at(evs, TERMINAL);
        if (done && done.qty > 0) {
          finished += 1;
          ratios += Math.min(1, evs.at(-1)!.filledQty / done.qty);
        }
      }
      expect(filled, purpose).toBeGreaterThan(0);
      expect(total(samples, 'pink_order_time_to_fill_seconds_count', { purpose }), purpose).toBe(filled);
      expect(total(samples, 'pink_order_time_to_fill_seconds_sum', { purpose }), purpose).toBeCloseTo(
        toFillUs / 1e6,
        6,
      );
      expect(total(samples, 'pink_order_fill_ratio_count', { purpose }), purpose).toBe(finished);
      expect(total(samples, 'pink_order_fill_ratio_sum', { purpose }), purpose).toBeCloseTo(ratios, 9);
    }
    // The replay has rejected and partially filled orders: some ratios are below 1.
    const all = ['ENTRY', 'EXIT'].map((purpose) => ({
      n: total(samples, 'pink_order_fill_ratio_count', { purpose }),
      short: total(samples, 'pink_order_fill_ratio_bucket', { purpose, le: '0.99' }),
    }));
    expect(all.reduce((a, x) => a + x.short, 0)).toBeGreaterThan(0);
  });

  it('has one markout observation per horizon passed, and order counts untouched by the later row versions', () => {
    const passed = new Map<string, { n: number; sum: number }>();
    for (const e of of('markout'))
      for (const m of e.markouts) {
        const h = passed.get(`${m.horizonS}s`) ?? { n: 0, sum: 0 };
        passed.set(`${m.horizonS}s`, { n: h.n + 1, sum: h.sum + m.bps });
      }
    expect(passed.get('5s')?.n ?? 0).toBeGreaterThan(5);
    for (const horizon of ['5s', '60s', '300s']) {
      const want = passed.get(horizon) ?? { n: 0, sum: 0 };
      expect(total(samples, 'pink_order_markout_bps_count', { horizon }), horizon).toBe(want.n);
      expect(total(samples, 'pink_order_markout_bps_sum', { horizon }), horizon).toBeCloseTo(want.sum, 6);
    }
    const finished = [...orders().values()].filter((evs) =>
      evs.some((e) => ['REFLECTED', 'REJECTED', 'CANCELLED', 'EXPIRED'].includes(e.milestone)),
    ).length;
    const counted = samples.filter((s) => s.name === 'pink_orders_total').reduce((a, s) => a + s.value, 0);
    expect(counted).toBe(finished);
  });

  it('has one slippage observation per filled order against each benchmark', () => {
    const filled = [...orders().values()].filter((evs) => evs.at(-1)!.filledQty > 0).length;
    expect(filled).toBeGreaterThan(5);
    for (const benchmark of ['reference', 'arrival'])
      expect(total(samples, 'pink_order_slippage_bps_count', { benchmark }), benchmark).toBe(filled);
    // The sim venue slips 2 bps +- 3 bps against the decision reference price: mostly a cost.
    const mean =
      total(samples, 'pink_order_slippage_bps_sum', { benchmark: 'reference' }) /
      total(samples, 'pink_order_slippage_bps_count', { benchmark: 'reference' });
    expect(mean).toBeGreaterThan(0);
    expect(mean).toBeLessThan(10);
  });

  it('summarizes the latest 200 finished orders (p50/p90/max) for the published state', () => {
    const { latency, slippage } = metrics.recentSummary();
    const finished = [...orders().values()].length;
    const window = Math.min(200, finished);
    // Every leg the histograms saw appears, over at most the latest 200 orders.
    for (const leg of ['decision_to_submit', 'submit_to_ack', 'ack_to_first_fill', 'first_fill_to_done']) {
      const q = latency[`${leg}_us`];
      expect(q, leg).toBeDefined();
      expect(q!.orders).toBeLessThanOrEqual(window);
      expect(q!.p50).toBeLessThanOrEqual(q!.p90);
      expect(q!.p90).toBeLessThanOrEqual(q!.max);
      // The max is a real observation: at most the histogram's whole sum.
      expect(q!.max / 1e6).toBeLessThanOrEqual(
        total(samples, 'pink_order_latency_seconds_sum', { leg }) + 1e-9,
      );
    }
    expect(slippage.vs_reference_bps!.orders).toBeGreaterThan(5);
    expect(slippage.vs_reference_bps!.p50).toBeLessThanOrEqual(slippage.vs_reference_bps!.max);
  });

  it('summarizes the latest 200 markouts per horizon, exactly the markout events', () => {
    const { markout } = metrics.recentSummary();
    for (const h of [5, 60, 300]) {
      const seen = of('markout')
        .flatMap((e) => e.markouts.filter((m) => m.horizonS === h).map((m) => m.bps))
        .slice(-200)
        .sort((a, b) => a - b);
      if (seen.length === 0) {
        expect(markout[`${h}s_bps`], `${h}s`).toBeUndefined();
        continue;
      }
      expect(markout[`${h}s_bps`], `${h}s`).toEqual({
        orders: seen.length,
        p50: seen[Math.floor(0.5 * seen.length)],
        p90: seen[Math.min(seen.length - 1, Math.floor(0.9 * seen.length))],
        max: seen.at(-1),
      });
    }
    expect(markout['5s_bps']!.orders).toBeGreaterThan(5);
  });

  it('counts events by type', () => {
    for (const type of ['decision', 'order', 'fill', 'lifecycle', 'trade_closed'])
      expect(total(samples, 'pink_events_total', { type }), type).toBe(
        events.filter((e) => e.type === type).length,
      );
  });

  it('exposes process metrics with the pink_ prefix on the private registry', () => {
    const names = families(samples);
    expect(names.has('pink_process_resident_memory_bytes')).toBe(true);
    expect(names.has('pink_nodejs_heap_size_used_bytes')).toBe(true);
    expect(total(samples, 'pink_process_resident_memory_bytes')).toBeGreaterThan(1e6);
    expect([...names].every((n) => n.startsWith('pink_'))).toBe(true);
  });

  it('reads health, spool depth and account-event volume at scrape time; /healthz follows', async () => {
    let scraped = parseExposition(await (await fetch(server.url)).text());
    expect(families(scraped).has('pink_component_up')).toBe(false);
    const starting = await fetch(server.url.replace('/metrics', '/healthz'));
    expect(starting.status).toBe(503);

    health = {
      components: { clickhouse: true, statebus: true, venue: false },
      spoolDepth: 3,
      queuedRows: 12,
      accountEvents: { written: 40, suppressed: { unchanged: 7, min_interval: 2, cap: 0 }, alerts: 1 },
    };
    scraped = parseExposition(await (await fetch(server.url)).text());
    expect(total(scraped, 'pink_component_up', { component: 'clickhouse' })).toBe(1);
    expect(total(scraped, 'pink_component_up', { component: 'statebus' })).toBe(1);
    expect(total(scraped, 'pink_component_up', { component: 'venue' })).toBe(0);
    expect(total(scraped, 'pink_clickhouse_spool_depth')).toBe(3);
    expect(total(scraped, 'pink_clickhouse_queued_rows')).toBe(12);
    expect(total(scraped, 'pink_account_event_rows_written')).toBe(40);
    expect(total(scraped, 'pink_account_event_rows_suppressed', { reason: 'unchanged' })).toBe(7);
    expect(total(scraped, 'pink_account_event_rows_suppressed')).toBe(9);
    expect(total(scraped, 'pink_account_event_cap_alerts')).toBe(1);
    const degraded = await fetch(server.url.replace('/metrics', '/healthz'));
    expect(degraded.status).toBe(503);
    expect(await degraded.json()).toMatchObject({ status: 'degraded', components: { venue: false } });

    health = { ...health, spoolDepth: 0, components: { clickhouse: true, statebus: true, venue: true } };
    scraped = parseExposition(await (await fetch(server.url)).text());
    expect(total(scraped, 'pink_component_up', { component: 'venue' })).toBe(1);
    expect(total(scraped, 'pink_clickhouse_spool_depth')).toBe(0);
    const ok = await fetch(server.url.replace('/metrics', '/healthz'));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'ok' });
  });

  it('answers only GET /metrics and /healthz', async () => {
    expect((await fetch(server.url.replace('/metrics', '/nope'))).status).toBe(404);
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
  });
});

describe('metrics server and setting', () => {
  it('refuses a non-loopback host', async () => {
    const m = new PinkMetrics({ defaultMetrics: false });
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com'])
      await expect(startMetricsServer(m, { port: 0, host }), host).rejects.toThrow(/non-loopback/);
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('::1')).toBe(true);
  });

  it('reports a port in use clearly', async () => {
    const m = new PinkMetrics({ defaultMetrics: false });
    const a = await startMetricsServer(m, { port: 0 });
    try {
      await expect(startMetricsServer(m, { port: a.port })).rejects.toThrow(
        /already in use.*PINK_METRICS_PORT/,
      );
    } finally {
      await a.close();
    }
  });

  it('two instances never share a registry', async () => {
    const a = new PinkMetrics({ defaultMetrics: false });
    const b = new PinkMetrics({ defaultMetrics: false });
    a.sink({ type: 'scan_rejected', ts: 0, where: 'x:1', reason: 'bad' });
    expect(total(parseExposition(await a.text()), 'pink_scans_rejected_total')).toBe(1);
    expect(total(parseExposition(await b.text()), 'pink_scans_rejected_total')).toBe(0);
  });

  it('metricsPort: default 9464, 0 = ephemeral, -1 or off = disabled, anything else refused', () => {
    const port = (env: Record<string, string>, file?: Record<string, unknown>) => {
      let path: string | undefined;
      if (file) {
        path = join(mkdtempSync(join(TMP, 'cfg-')), 'c.json');
        writeFileSync(path, JSON.stringify(file));
      }
      return loadConfig({ env, file: path }).metricsPort;
    };
    expect(port({})).toBe(9464);
    expect(port({ PINK_METRICS_PORT: '0' })).toBe(0);
    expect(port({ PINK_METRICS_PORT: '9100' })).toBe(9100);
    expect(port({ PINK_METRICS_PORT: 'off' })).toBe(-1);
    expect(port({ PINK_METRICS_PORT: 'OFF' })).toBe(-1);
    expect(port({ PINK_METRICS_PORT: '-1' })).toBe(-1);
    expect(port({}, { metricsPort: 'off' })).toBe(-1);
    expect(port({}, { metricsPort: 9200 })).toBe(9200);
    expect(() => port({ PINK_METRICS_PORT: '-2' })).toThrow(/metricsPort/);
    expect(() => port({ PINK_METRICS_PORT: '70000' })).toThrow(/metricsPort/);
    expect(() => port({ PINK_METRICS_PORT: 'on' })).toThrow(/PINK_METRICS_PORT/);
    expect(() => port({}, { metricsPort: 'disabled' })).toThrow(/metricsPort/);
  });
});

describe('pink run serves /metrics', () => {
  let child: ChildProcess | null = null;
  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('prints the URL, serves every family while trading, and stops cleanly', async () => {
    const dir = mkdtempSync(join(TMP, 'run-'));
    const port = await freePort();
    child = spawn(process.execPath, [CLI, 'run'], {
      cwd: REPO,
      env: cliEnv(join(dir, 'var'), {
        PINK_SCAN_INTERVAL_MS: '25',
        PINK_HEARTBEAT_MS: '500',
        PINK_METRICS_PORT: String(port),
      }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr?.on('data', (b: Buffer) => {
      log += b.toString();
    });
    const exit = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const until = async (cond: () => boolean | Promise<boolean>, ms: number, what: string) => {
      const deadline = Date.now() + ms;
      while (!(await cond())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; log:\n${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const url = `http://127.0.0.1:${port}/metrics`;
    await until(() => log.includes(`metrics: ${url}`), 60_000, 'the metrics line');
    await until(() => /"msg":"ready/.test(log), 60_000, 'ready');

    const scrape = async () => parseExposition(await (await fetch(url)).text());
    await until(
      async () => total(await scrape(), 'pink_orders_total') > 0,
      60_000,
      'a finished order in /metrics',
    );
    const s = await scrape();
    const names = families(s);
    for (const family of [
      'pink_scans_processed_total',
      'pink_scans_rejected_total',
      'pink_decisions_total',
      'pink_orders_total',
      'pink_order_latency_seconds_bucket',
      'pink_order_slippage_bps_count',
      'pink_component_up',
      'pink_clickhouse_spool_depth',
      'pink_account_event_rows_written',
      'pink_account_event_rows_suppressed',
      'pink_process_resident_memory_bytes',
      'pink_nodejs_heap_size_used_bytes',
    ])
      expect(names.has(family), family).toBe(true);
    expect(total(s, 'pink_scans_processed_total')).toBeGreaterThan(0);
    expect(total(s, 'pink_decisions_total')).toBe(
      total(s, 'pink_scans_processed_total') - total(s, 'pink_scans_rejected_total'),
    );
    for (const component of ['clickhouse', 'statebus', 'venue'])
      expect(total(s, 'pink_component_up', { component, namespace: 'pink' }), component).toBe(1);
    expect(total(s, 'pink_clickhouse_spool_depth')).toBe(0);
    const healthz = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(healthz.status).toBe(200);

    // Log lines are JSON with the namespace and the ledger's run id.
    const lines = log
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.every((l) => l.namespace === 'pink')).toBe(true);
    const ready = lines.find((l) => String(l.msg).startsWith('ready'))!;
    expect(ready.run_id).toMatch(/\S+/);
    expect(lines.some((l) => typeof l.trade_id === 'string')).toBe(true);

    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  }, 180_000);
});
