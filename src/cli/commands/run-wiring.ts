/**
 * Composition root of `pink run`: builds the adapters the configuration asks for
 * (state bus + state server + command processor, venue, live source) and hands the
 * runtime its sinks and idle jobs. Everything here is wiring; behaviour lives in
 * app/ and adapters/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SimBook } from '../../adapters/sim/sim-venue.js';
import { removeDiscovery, writeDiscovery } from '../../adapters/statebus/discovery.js';
import { GuardedStateBus } from '../../adapters/statebus/guarded.js';
import { createHazelcastStateBus } from '../../adapters/statebus/hazelcast.js';
import { MemoryStateBus } from '../../adapters/statebus/memory.js';
import { startStateServer } from '../../adapters/statebus/state-server.js';
import type { PinkConfig } from '../../app/config.js';
import { CommandProcessor, type RuntimeControl } from '../../app/control/processor.js';
import { openLedger } from '../../app/ledger.js';
import type { LatestPrices } from '../../app/pipeline.js';
import { simVenueFor } from '../../app/replay.js';
import { pacedScans, type Runtime, type ScanInput } from '../../app/runtime.js';
import { type DayPnlView, type EngineView, StatePublisher } from '../../app/state-publisher.js';
import { createVenue } from '../../app/venues.js';
import type { CanonicalEvent, EventSink } from '../../domain/events.js';
import { utcDate } from '../../domain/exit-legs.js';
import { type Namespace, WriteGuard } from '../../domain/namespaces.js';
import type { VenuePort } from '../../domain/venue.js';
import { simulateScans, symbolsFor } from '../../market/simulator.js';
import type { StateBus } from '../../ports/state-bus.js';

export interface RunParts {
  readonly sinks: EventSink[];
  readonly onIdle: Array<(rt: Runtime) => Promise<void>>;
  readonly bus: StateBus;
  /** The simulated market as a live source (paced), when no --data file is given. */
  liveSource(skipThrough: () => number | null): AsyncIterable<ScanInput>;
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
  readonly log: (m: string) => void;
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

export function engineView(
  rt: Runtime,
  cfg: PinkConfig,
  days: readonly DayPnlView[],
  health: Readonly<Record<string, unknown>> = {},
): EngineView | null {
  if (!rt.pipeline) return null;
  const snap = rt.account.snapshot();
  const view = rt.pipeline.kernel.view();
  const d = rt.lastDecision?.type === 'decision' ? rt.lastDecision.record : null;
  return {
    ts: Date.now(),
    posture: rt.posture,
    paused: rt.pipeline.paused,
    venue: cfg.venue,
    algorithm: rt.strategy.name,
    slot: view
      ? {
          tradeId: view.tradeId,
          asset: view.asset,
          side: view.side,
          stage: view.stage,
          size: view.remainingQty,
          entryPrice: view.entryPrice,
          barsHeld: view.barsHeld,
          unrealizedPnl: snap.unrealizedPnl,
        }
      : null,
    pendingOrders: view?.pendingOrder ? 1 : 0,
    lastScan: d ? { ts: d.ts, scanNumber: d.scan, assets: 0 } : null,
    lastDecision: d ? { ts: d.ts, action: d.action, asset: d.asset || null, reason: d.reason } : null,
    capital: snap.capital,
    equity: snap.equity,
    realizedPnl: snap.realizedPnl,
    unrealizedPnl: snap.unrealizedPnl,
    fees: snap.fees,
    funding: snap.funding,
    openNotional: snap.openNotional,
    leverage: snap.leverage,
    pnlByDay: days,
    health,
  };
}

function runtimeControl(rt: Runtime): RuntimeControl {
  return {
    pause: () => rt.setPaused(true),
    resume: () => rt.setPaused(false),
    flatten: (reason) => rt.requestFlatten(reason),
    setCapital: (amount, kind) => rt.adjustCapital(amount, kind, ''),
    get paused() {
      return rt.pipeline.paused;
    },
    get hasOpenPosition() {
      return rt.pipeline.kernel.hasTrade;
    },
  };
}

export async function wireRunParts(ctx: WiringContext): Promise<RunParts> {
  const { cfg, ns, log } = ctx;
  const closers: Array<() => Promise<void>> = [];
  const alert = (what: string) => log(`ALERT ${what}`);
  const guard = new WriteGuard(ns, (refusal) => alert(refusal.message));
  const raw: StateBus = cfg.hazelcast.members.length
    ? await createHazelcastStateBus({
        members: cfg.hazelcast.members,
        clusterName: cfg.hazelcast.clusterName,
      })
    : new MemoryStateBus();
  const bus = new GuardedStateBus(raw, guard);
  closers.push(() => bus.close());
  const ledger = await openLedger({ cfg, ns, log });
  closers.push(() => ledger.close());
  log(
    `ledger: ${ledger.handle.describe}, database ${ledger.ledger.database}${ledger.recovered.batches ? `, ${ledger.recovered.rows} spooled rows re-inserted` : ''}`,
  );
  const days = new DayPnl();
  const publisher = new StatePublisher({ bus, ns, log });
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
      venue: cfg.venue,
      bingx_env: process.env.DOLPHIN_BINGX_ENV || 'VST',
      account_events: ledger.sink.counters().volume,
    };
  };
  let simBook: (() => Promise<void>) | null = null;
  closers.push(async () => simBook?.());
  let runtime: Runtime | null = null;
  return {
    sinks: [days.sink, ledger.sink.sink],
    bus,
    onIdle: [
      async (rt) => {
        await simBook?.();
        await processor?.poll();
        const view = engineView(rt, cfg, days.recent(), health());
        if (view) await publisher.publish(view);
      },
    ],
    liveSource: (skipThrough) =>
      pacedScans(
        simulateScans({ scans: Number.POSITIVE_INFINITY, assets: cfg.assets, seed: cfg.seed }),
        cfg.scanIntervalMs,
        skipThrough,
      ),
    liveAssets: symbolsFor(cfg.assets),
    makeVenue: async (marks, assets) => {
      if (cfg.venue === 'sim') {
        const sim = simVenueFor(marks, cfg.sim);
        const bookPath = join(ctx.runDir, `${ns.strategy}-sim-venue.json`);
        if (existsSync(bookPath)) sim.importBook(JSON.parse(readFileSync(bookPath, 'utf8')) as SimBook);
        // The simulated exchange keeps its positions across restarts, like a real one.
        simBook = () => writeFile(bookPath, JSON.stringify(sim.exportBook()));
        return sim;
      }
      return (
        await createVenue(
          {
            kind: cfg.venue,
            sim: cfg.sim,
            assets,
            log,
            pollMs: cfg.venue === 'bingx-sim' ? 100 : cfg.bingx.pollMs,
            baseUrl: cfg.bingx.baseUrl,
          },
          marks,
        )
      ).venue;
    },
    ready: async (rt) => {
      runtime = rt;
      processor = new CommandProcessor({ bus, ns, control: runtimeControl(rt), persistIds: true, log });
      publisher.startHeartbeat(cfg.heartbeatMs, () =>
        runtime ? engineView(runtime, cfg, days.recent(), health()) : null,
      );
      const first = engineView(rt, cfg, days.recent(), health());
      if (first) await publisher.publish(first);
      if (!cfg.hazelcast.members.length) {
        const server = await startStateServer(raw, { ns, port: cfg.statePort, host: '127.0.0.1' });
        closers.push(async () => {
          await removeDiscovery(ctx.runDir, ns);
          await server.close();
        });
        await writeDiscovery(ctx.runDir, ns, {
          pid: process.pid,
          statePort: server.port,
          startedAt: new Date().toISOString(),
        });
        log(`state server on ${server.url} (read-only; commands to ${ns.commandQueue})`);
      }
    },
    close: async () => {
      for (const c of closers.reverse()) await c();
    },
  };
}
