/**
 * Composition root of `pink run`: builds the adapters the configuration asks for
 * (state bus + state server + command processor, venue, live source) and hands the
 * runtime its sinks and idle jobs. Everything here is wiring; behaviour lives in
 * app/ and adapters/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clickhouseLeaseStore } from '../../adapters/clickhouse/lease-store.js';
import type { ChClient } from '../../adapters/clickhouse/schema.js';
import type { SimBook } from '../../adapters/sim/sim-venue.js';
import {
  commandTokenPath,
  ensureCommandToken,
  readCommandToken,
} from '../../adapters/statebus/command-token.js';
import { removeDiscovery, writeDiscovery } from '../../adapters/statebus/discovery.js';
import { GuardedStateBus } from '../../adapters/statebus/guarded.js';
import { connectHazelcastStateBus, HazelcastUnreachable } from '../../adapters/statebus/hazelcast.js';
import { MemoryStateBus } from '../../adapters/statebus/memory.js';
import { startStateServer } from '../../adapters/statebus/state-server.js';
import type { PinkConfig } from '../../app/config.js';
import { CommandProcessor } from '../../app/control/processor.js';
import { runtimeControl } from '../../app/control/runtime-control.js';
import { engineView } from '../../app/engine-view.js';
import { FEATURES_MAP, featuresScans } from '../../app/features-source.js';
import { openLedger } from '../../app/ledger.js';
import type { LatestPrices } from '../../app/pipeline.js';
import { simVenueFor } from '../../app/replay.js';
import { pacedScans, type Runtime, type ScanInput } from '../../app/runtime.js';
import {
  LEASE_KEY,
  LeaseHeld,
  type RuntimeLease,
  stateMapLease,
  takeLease,
} from '../../app/runtime-lease.js';
import { type DayPnlView, StatePublisher } from '../../app/state-publisher.js';
import type { ConfiguredStrategy } from '../../app/strategies.js';
import { createVenue } from '../../app/venues.js';
import type { CanonicalEvent, EventSink } from '../../domain/events.js';
import { utcDate } from '../../domain/exit-legs.js';
import { type Namespace, WriteGuard } from '../../domain/namespaces.js';
import { optionalPartsOf, SubmitOutcomeUnknown, type VenuePort } from '../../domain/venue.js';
import { simulateScans, symbolsFor } from '../../market/simulator.js';
import type { PinkLogger } from '../../observability/logger.js';
import {
  type HealthSample,
  type MetricsServer,
  PinkMetrics,
  startMetricsServer,
} from '../../observability/metrics.js';
import type { LeaseStore } from '../../ports/lease.js';
import type { StateBus } from '../../ports/state-bus.js';
import { CliError, EXIT } from '../errors.js';
import { runtimeHolder } from '../runtime-resources.js';

export interface RunParts {
  readonly sinks: EventSink[];
  readonly onIdle: Array<(rt: Runtime) => Promise<void>>;
  readonly bus: StateBus;
  readonly metrics: PinkMetrics;
  /** The /metrics server, or null when metricsPort is off. */
  readonly metricsServer: MetricsServer | null;
  /** The simulated market as a live source (paced), when no --data file is given. */
  liveSource(skipThrough: () => number | null): AsyncIterable<ScanInput>;
  /** Ledger rows to ClickHouse or the durable spool (the runtime's checkpoint hook). */
  flushLedger(): Promise<void>;
  /** The symbols the live source trades. */
  readonly liveAssets: readonly string[];
  makeVenue(marks: LatestPrices, assets: readonly string[]): Promise<VenuePort>;
  ready(rt: Runtime): Promise<void>;
  close(): Promise<void>;
}

export interface WiringContext {
  readonly cfg: PinkConfig;
  readonly ns: Namespace;
  readonly runDir: string;
  /** Root logger; the run id is set on it once the ledger is open. */
  readonly logger: PinkLogger;
  /** The configured strategy: its health (a strategy process up or down) is published. */
  readonly strategy?: ConfiguredStrategy;
  /** Test seams: wrap the raw state bus and the ClickHouse client (recording adapters in the isolation test). */
  readonly wrapStateBus?: (bus: StateBus) => StateBus;
  readonly wrapClickHouse?: (client: ChClient) => ChClient;
}

/**
 * The strategy's health as published (latest_nautilus.health.strategy): `healthy` false while
 * a strategy process is down (entries paused, restart pending); in-process strategies are
 * always up.
 */
export function strategyHealthView(s: ConfiguredStrategy | undefined): Record<string, unknown> | null {
  if (!s) return null;
  const h = s.health?.();
  if (!h) return { name: s.name, kind: 'in-process', healthy: true };
  return {
    name: s.name,
    kind: 'process',
    healthy: h.up,
    failures: h.failures,
    restarts: h.restarts,
    last_error: h.lastError,
    next_restart_at: h.nextRestartAt === null ? null : new Date(h.nextRestartAt).toISOString(),
  };
}

/**
 * Venue health for /metrics: up once the venue exists, down after a failed poll,
 * snapshot or lookup, or a submit whose outcome is unknown (timeout), until the next
 * call succeeds. An order the venue rejects is an answer, not a failure.
 */
class VenueHealth {
  private made = false;
  private closed = false;
  private ok = true;
  lastError = '';
  /** The BingX venue's private-stream health (absent on the sim venue). */
  streams: (() => unknown) | null = null;

  up(): boolean {
    return this.made && !this.closed && this.ok;
  }

  track(v: VenuePort): VenuePort {
    this.made = true;
    const withStreams = v as VenuePort & { streamHealth?: () => unknown };
    if (typeof withStreams.streamHealth === 'function') this.streams = () => withStreams.streamHealth!();
    const watch = <T>(fn: () => Promise<T>, failure: (err: unknown) => boolean = () => true): Promise<T> => {
      const settle = (err: unknown) => {
        if (!failure(err)) {
          this.ok = true;
          return;
        }
        this.ok = false;
        this.lastError = (err as Error)?.message ?? String(err);
      };
      let p: Promise<T>;
      try {
        p = fn();
      } catch (err) {
        settle(err);
        throw err;
      }
      return p.then(
        (r) => {
          this.ok = true;
          return r;
        },
        (err: unknown) => {
          settle(err);
          throw err;
        },
      );
    };
    return {
      name: v.name,
      submit: (o) =>
        watch(
          () => v.submit(o),
          (err) => err instanceof SubmitOutcomeUnknown,
        ),
      cancel: (id, asset) =>
        watch(
          () => v.cancel(id, asset),
          () => false,
        ),
      drain: (now) => watch(async () => v.drain(now)),
      snapshot: () => watch(() => v.snapshot()),
      history: (since, assets) => watch(() => v.history(since, assets)),
      lookup: (id, asset) => watch(() => v.lookup(id, asset)),
      close: async () => {
        this.closed = true;
        await v.close();
      },
      ...optionalPartsOf(v),
    };
  }
}

/**
 * Trade-level events as log lines carrying `trade_id` (a few per trade, none per scan).
 * The lines are written on the next turn of the event loop, never inside the sink: an
 * ORDER_REQUESTED event is emitted just before the venue call, and a log write (sync, to
 * a pipe that may be slow) must not sit between the decision and the submit.
 */
function tradeLogSink(logger: PinkLogger): EventSink {
  const log = logger.child({ component: 'trade' });
  const pending: Array<() => void> = [];
  const later = (write: () => void) => {
    pending.push(write);
    if (pending.length === 1)
      setImmediate(() => {
        for (const w of pending.splice(0)) w();
      });
  };
  return (e) => {
    switch (e.type) {
      case 'lifecycle': {
        const msg = `trade ${e.state}: ${e.side} ${e.size} ${e.asset}${e.detail ? ` (${e.detail})` : ''}`;
        const fields = e.clientOrderId ? { client_order_id: e.clientOrderId } : undefined;
        later(() => log.child({ trade_id: e.tradeId }).info(msg, fields));
        return;
      }
      case 'order': {
        if (e.milestone !== 'REJECTED' && e.milestone !== 'UNKNOWN' && e.milestone !== 'EXPIRED') return;
        const msg = `order ${e.milestone}: ${e.purpose} ${e.qty} ${e.asset}${e.reason ? ` (${e.reason})` : ''}`;
        later(() => log.child({ trade_id: e.tradeId }).warn(msg, { client_order_id: e.clientOrderId }));
        return;
      }
      case 'trade_closed': {
        const t = e.trade;
        const fields = { asset: t.asset, pnl: t.pnl, fees: t.fees, capital_after: t.capitalAfter };
        later(() => log.child({ trade_id: t.tradeId }).info(`trade closed: ${t.exitReason}`, fields));
        return;
      }
      case 'correction':
        later(() => log.child({ trade_id: e.tradeId }).warn(`correction: ${e.what}`, { detail: e.detail }));
        return;
      case 'strategy_override':
        later(() =>
          log
            .child({ trade_id: e.tradeId })
            .warn(`strategy override: ${e.kind}`, { venue_fact: e.venueFact }),
        );
        return;
      case 'scan_rejected':
        later(() => log.warn(`scan rejected at ${e.where}: ${e.reason}`));
        return;
      case 'intent_refused':
        later(() => log.child({ trade_id: e.tradeId }).warn(`${e.intent} refused: ${e.reason}`));
        return;
      default:
        return;
    }
  };
}

/** The command processor logs `command <id> ...`: those lines carry `command_id`. */
function commandLog(logger: PinkLogger): (m: string) => void {
  return (m) => {
    const id = /^command (\S+)/.exec(m)?.[1];
    (id ? logger.child({ command_id: id }) : logger).line(m);
  };
}

/** Per-day PnL from terminal trades (the DOLPHIN_PNL_<NS> surface). */
class DayPnl {
  private readonly days = new Map<string, DayPnlView>();
  readonly sink = (e: CanonicalEvent): void => {
    if (e.type !== 'trade_closed') return;
    const date = utcDate(e.ts);
    const d = this.days.get(date) ?? {
      date,
      realizedPnl: 0,
      fees: 0,
      funding: 0,
      trades: 0,
      wins: 0,
      losses: 0,
    };
    const net = e.trade.pnl - e.trade.fees - e.trade.funding;
    this.days.set(date, {
      date,
      realizedPnl: d.realizedPnl + e.trade.pnl,
      fees: d.fees + e.trade.fees,
      funding: d.funding + e.trade.funding,
      trades: d.trades + 1,
      wins: d.wins + (net > 0 ? 1 : 0),
      losses: d.losses + (net > 0 ? 0 : 1),
    });
    if (this.days.size > 3) this.days.delete(this.days.keys().next().value as string);
  };
  recent(): DayPnlView[] {
    return [...this.days.values()].slice(-2);
  }
}

export async function wireRunParts(ctx: WiringContext): Promise<RunParts> {
  const closers: Array<() => Promise<void>> = [];
  try {
    return await wire(ctx, closers);
  } catch (err) {
    // A failed start closes what it opened (metrics server, state bus, ledger) so the process can exit.
    for (const c of closers.reverse()) await c().catch(() => undefined);
    throw err;
  }
}

async function wire(ctx: WiringContext, closers: Array<() => Promise<void>>): Promise<RunParts> {
  const { cfg, ns, logger } = ctx;
  const log = logger.child({ component: 'runtime' }).line;
  const venueHealth = new VenueHealth();
  let sample: () => HealthSample | null = () => null;
  const metrics = new PinkMetrics({ namespace: ns.strategy, health: () => sample() });
  const alert = (what: string) => log(`ALERT ${what}`);
  const guard = new WriteGuard(ns, (refusal) => alert(refusal.message));
  const raw: StateBus = cfg.hazelcast.members.length ? await joinCluster(ctx) : new MemoryStateBus();
  const bus = new GuardedStateBus(ctx.wrapStateBus ? ctx.wrapStateBus(raw) : raw, guard);
  closers.push(() => bus.close());
  if (leaseHome(cfg) === 'hazelcast') await holdLease(stateMapLease(bus, ns), ctx, closers);
  const ledger = await openLedger({
    cfg,
    ns,
    log: logger.child({ component: 'ledger' }).line,
    warn: (m) => logger.child({ component: 'ledger' }).warn(m),
    wrapClient: ctx.wrapClickHouse,
  });
  closers.push(() => ledger.close());
  logger.setRunId(ledger.ledger.runId);
  if (leaseHome(cfg) === 'clickhouse')
    await holdLease(
      clickhouseLeaseStore(ledger.handle.client, ledger.ledger.database, LEASE_KEY),
      ctx,
      closers,
    );
  // The metrics server is up before recovery, so a slow start can be watched; a port
  // conflict refuses the start (wireRunParts closes what was opened).
  let metricsServer: MetricsServer | null = null;
  if (cfg.metricsPort >= 0) {
    try {
      metricsServer = await startMetricsServer(metrics, { port: cfg.metricsPort, host: '127.0.0.1' });
    } catch (err) {
      throw new CliError((err as Error).message, EXIT.BAD_INPUT);
    }
    const server = metricsServer;
    closers.push(() => server.close());
    logger.info(`metrics: ${server.url}`, { component: 'metrics', metrics_port: server.port });
  } else logger.info('metrics: off (metricsPort -1)', { component: 'metrics' });
  log(
    `ledger: ${ledger.handle.describe}, database ${ledger.ledger.database}${ledger.recovered.batches ? `, ${ledger.recovered.rows} spooled rows re-inserted` : ''}`,
  );
  const days = new DayPnl();
  const publisher = new StatePublisher({ bus, ns, log: logger.child({ component: 'statebus' }).line });
  closers.push(async () => {
    publisher.stopHeartbeat();
    await publisher.flush();
  });
  let processor: CommandProcessor | null = null;
  const health = () => {
    const l = ledger.ledger.health();
    const b = raw.health();
    return {
      clickhouse: {
        engine: l.engine,
        reachable: l.reachable,
        spool_depth: l.spoolDepth,
        rows_written: l.rowsWritten,
        last_error: l.lastError,
      },
      state_bus: {
        kind: b.kind,
        connected: b.connected,
        pending_keys: b.pendingKeys,
        last_error: b.lastError,
      },
      strategy: strategyHealthView(ctx.strategy),
      venue: cfg.venue,
      bingx_env: process.env.DOLPHIN_BINGX_ENV || 'VST',
      // Private websocket streams (bingx venues): connected, updates, last error.
      venue_streams: venueHealth.streams?.() ?? null,
      account_events: ledger.sink.counters().volume,
      metrics_port: metricsServer?.port ?? null,
      // The latest finished orders (p50/p90/max): what the TUI shows as latency and slippage.
      ...metrics.recentSummary(),
    };
  };
  sample = () => {
    const l = ledger.ledger.health();
    const v = ledger.sink.counters().volume;
    return {
      components: { clickhouse: l.reachable, statebus: raw.health().connected, venue: venueHealth.up() },
      spoolDepth: l.spoolDepth,
      queuedRows: l.queuedRows,
      accountEvents: { written: v.written, suppressed: v.suppressed, alerts: v.alerts },
    };
  };
  let simBook: (() => Promise<void>) | null = null;
  closers.push(async () => simBook?.());
  let runtime: Runtime | null = null;
  return {
    sinks: [days.sink, ledger.sink.sink, metrics.sink, tradeLogSink(logger)],
    bus,
    metrics,
    metricsServer,
    onIdle: [
      async (rt) => {
        await simBook?.();
        await processor?.poll();
        const view = engineView(rt, cfg.venue, days.recent(), health());
        if (view) await publisher.publish(view);
      },
    ],
    flushLedger: () => ledger.sink.flush(),
    liveSource: (skipThrough) => {
      if (cfg.scanSource === 'features') {
        // Read-only subscription to the shared map; ends when the runtime closes.
        const stop = new AbortController();
        closers.push(async () => stop.abort());
        log(`scans: live from ${FEATURES_MAP}[${cfg.featuresKey}] (read-only)`);
        return featuresScans(bus, { key: cfg.featuresKey, skipThrough, log }, stop.signal);
      }
      return pacedScans(
        simulateScans({ scans: Number.POSITIVE_INFINITY, assets: cfg.assets, seed: cfg.seed }),
        cfg.scanIntervalMs,
        skipThrough,
      );
    },
    // Live features name their assets scan by scan; the bingx venue adds each traded asset itself.
    liveAssets: cfg.scanSource === 'features' ? [] : symbolsFor(cfg.assets),
    makeVenue: async (marks, assets) => {
      if (cfg.venue === 'sim') {
        const sim = simVenueFor(marks, cfg.sim);
        const bookPath = join(ctx.runDir, `${ns.strategy}-sim-venue.json`);
        if (existsSync(bookPath)) sim.importBook(JSON.parse(readFileSync(bookPath, 'utf8')) as SimBook);
        // The simulated exchange keeps its positions across restarts, like a real one.
        simBook = () => writeFile(bookPath, JSON.stringify(sim.exportBook()));
        return venueHealth.track(sim);
      }
      const made = await createVenue(
        {
          kind: cfg.venue,
          sim: cfg.sim,
          assets,
          log: logger.child({ component: 'venue' }).line,
          pollMs: cfg.venue === 'bingx-sim' ? 100 : cfg.bingx.pollMs,
          baseUrl: cfg.bingx.baseUrl,
          streams: cfg.bingx.streams,
        },
        marks,
      );
      return venueHealth.track(made.venue);
    },
    ready: async (rt) => {
      runtime = rt;
      processor = new CommandProcessor({
        bus,
        ns,
        control: runtimeControl(rt),
        persistIds: true,
        log: commandLog(logger.child({ component: 'control' })),
      });
      publisher.startHeartbeat(cfg.heartbeatMs, () =>
        runtime ? engineView(runtime, cfg.venue, days.recent(), health()) : null,
      );
      const first = engineView(rt, cfg.venue, days.recent(), health());
      if (first) await publisher.publish(first);
      if (!cfg.hazelcast.members.length) {
        const tokenFile = commandTokenPath(ctx.runDir, ns);
        ensureCommandToken(tokenFile);
        const server = await startStateServer(raw, {
          ns,
          port: cfg.statePort,
          host: '127.0.0.1',
          commandToken: () => readCommandToken(tokenFile),
        });
        closers.push(async () => {
          await removeDiscovery(ctx.runDir, ns);
          await server.close();
        });
        await writeDiscovery(ctx.runDir, ns, {
          pid: process.pid,
          statePort: server.port,
          startedAt: new Date().toISOString(),
        });
        log(
          `state server on ${server.url} (read-only; commands to ${ns.commandQueue} with the token in ${tokenFile})`,
        );
      }
    },
    close: async () => {
      // Every closer runs (the lease is released even when the ledger fails to close); the first error is reported.
      const failures: unknown[] = [];
      for (const c of closers.reverse()) await c().catch((err: unknown) => failures.push(err));
      if (failures.length) throw failures[0];
    },
  };
}

/**
 * The cluster must answer at start: the lease that keeps one runtime per namespace lives
 * there, and a runtime that cannot check it must not trade. Later outages are ridden out.
 */
async function joinCluster(ctx: WiringContext): Promise<StateBus> {
  const { members, clusterName } = ctx.cfg.hazelcast;
  try {
    return await connectHazelcastStateBus({
      members,
      clusterName,
      log: ctx.logger.child({ component: 'hazelcast' }),
    });
  } catch (err) {
    if (!(err instanceof HazelcastUnreachable)) throw err;
    throw new CliError(
      `${err.message}; the runtime lease (one runtime per namespace) is kept there, so PINK does not start without it: start the cluster, or unset HAZELCAST_MEMBERS to run on the in-process store`,
    );
  }
}

/**
 * Where runtimes on other hosts could meet, so where the namespace's lease lives: the
 * Hazelcast cluster, else a ClickHouse server (its database's runtime_lease table). With
 * the in-process store and embedded chDB nothing is shared beyond this host, whose host
 * lock is the guarantee (null).
 */
export function leaseHome(cfg: PinkConfig): 'hazelcast' | 'clickhouse' | null {
  if (cfg.hazelcast.members.length) return 'hazelcast';
  return cfg.clickhouse.url ? 'clickhouse' : null;
}

/**
 * Across hosts sharing the cluster (or a ClickHouse server): the namespace's lease, renewed with the heartbeat
 * (time to live: three heartbeats, at least 15 s). A live holder refuses this start.
 */
async function holdLease(store: LeaseStore, ctx: WiringContext, closers: Array<() => Promise<void>>) {
  const { cfg, ns } = ctx;
  const log = ctx.logger.child({ component: 'lease' }).line;
  let lease: RuntimeLease;
  try {
    lease = await takeLease({
      store,
      ns,
      holder: runtimeHolder(cfg),
      ttlMs: Math.max(15_000, 3 * cfg.heartbeatMs),
    });
  } catch (err) {
    if (err instanceof LeaseHeld) throw new CliError(err.message, EXIT.BAD_INPUT);
    throw err;
  }
  if (lease.tookOverFrom)
    log(`took over an expired lease of pid ${lease.tookOverFrom.pid} on ${lease.tookOverFrom.host}`);
  const renew = setInterval(() => {
    lease.renew().catch((e: Error) => log(`lease renewal failed: ${e.message}`));
  }, cfg.heartbeatMs);
  renew.unref();
  closers.push(async () => {
    clearInterval(renew);
    await lease.release();
  });
}
