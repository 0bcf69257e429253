/**
 * One seed of the deterministic fault simulation (`pink simtest`), in the spirit of
 * TigerBeetle's VOPR: everything random is drawn from the seed (market, venue
 * faults, crash points), the whole runtime runs on a virtual clock, and the
 * invariants are checked after every scan. Same seed, same run.
 */

import { ClickHouseLedger } from '../../adapters/clickhouse/ledger.js';
import { rowsFromEvent } from '../../adapters/clickhouse/rows.js';
import { ClickHouseEventSink } from '../../adapters/clickhouse/sink.js';
import { MemorySpool } from '../../adapters/clickhouse/spool.js';
import { MemoryJournal } from '../../adapters/files/journal.js';
import { SimVenue, type SimVenueConfig } from '../../adapters/sim/sim-venue.js';
import { GuardedStateBus } from '../../adapters/statebus/guarded.js';
import { MemoryStateBus } from '../../adapters/statebus/memory.js';
import { ReconnectingStateBus } from '../../adapters/statebus/reconnecting.js';
import { AccountProjection } from '../../domain/account.js';
import type { CanonicalEvent } from '../../domain/events.js';
import { lookupNamespace, WriteGuard } from '../../domain/namespaces.js';
import { seededRandom } from '../../domain/random.js';
import type { Scan } from '../../domain/scan.js';
import { BlueV7Ref } from '../../strategy/blue-v7-ref.js';
import { engineView } from '../engine-view.js';
import { LatestPrices, Pipeline } from '../pipeline.js';
import { recover } from '../recovery.js';
import { StatePublisher } from '../state-publisher.js';
import { CRASH_POINTS, Mortality } from './mortality.js';
import { SimClickHouse } from './sim-clickhouse.js';
import { SimHazelcast } from './sim-hazelcast.js';
import { syntheticScanLines } from './synthetic-scans.js';

export interface SeedOptions {
  readonly seed: number;
  readonly scans?: number;
  /** Crash-and-restart probability per scan. */
  readonly crashRate?: number;
  /** Keep the event stream in the result (debugging a seed). */
  readonly keepEvents?: boolean;
}

export interface SeedResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly scans: number;
  readonly trades: number;
  readonly crashes: number;
  /** Where the process died, by crash point (an effect: a submit, a drain, a checkpoint, ...). */
  readonly crashPoints: Readonly<Record<string, number>>;
  readonly faults: Partial<SimVenueConfig>;
  readonly ledgerFaults: LedgerFaults;
  /** Inserts the simulated ClickHouse refused (outage) and acknowledgements it lost. */
  readonly ledgerRefused: number;
  readonly ledgerLostAcks: number;
  /** Simulated Hazelcast outages (the state bus buffered, then republished). */
  readonly stateOutages: number;
  readonly violation: string | null;
  readonly atScan: number | null;
  readonly events: number;
  readonly trace?: readonly CanonicalEvent[];
}

const CAPITAL = 25_000;

class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

function check(cond: boolean, message: string): void {
  if (!cond) throw new InvariantViolation(message);
}

/** The fault mix a seed gets: every knob drawn from the seed. */
export function faultsForSeed(seed: number): Partial<SimVenueConfig> {
  const r = seededRandom(seed ^ 0x5eed);
  const pick = (p: number, v: number) => (r() < p ? v * r() : 0);
  return {
    seed,
    latencyMs: Math.floor(r() * 9000),
    ackMs: Math.floor(r() * 500),
    partialFills: 1 + Math.floor(r() * 4),
    feeRate: 0.0005,
    rejectRate: pick(0.5, 0.4),
    duplicateRate: pick(0.5, 0.5),
    reorderRate: pick(0.5, 0.5),
    dropAckRate: pick(0.5, 0.5),
    submitTimeoutRate: pick(0.4, 0.3),
    externalCloseRate: pick(0.4, 0.02),
    fundingIntervalMs: 600_000,
    fundingRateBps: 2,
  };
}

export interface LedgerFaults {
  /** Per scan: the chance a ClickHouse outage starts. */
  readonly outageRate: number;
  readonly maxOutageScans: number;
  /** Per insert: stored, then the acknowledgement is lost. */
  readonly lostAckRate: number;
}

/** The ClickHouse faults a seed gets (their own random stream: venue faults stay as they were). */
export function ledgerFaultsForSeed(seed: number): LedgerFaults {
  const r = seededRandom(seed ^ 0x1ed6e7);
  return {
    outageRate: r() < 0.5 ? 0.05 * r() : 0,
    maxOutageScans: 1 + Math.floor(r() * 60),
    lostAckRate: r() < 0.5 ? 0.3 * r() : 0,
  };
}

/** Tables with exactly one row per canonical event of a kind (stateful ones are not compared). */
const PER_EVENT_TABLES = [
  'v7_decision_events',
  'position_state',
  'trade_events',
  'trade_exit_legs',
  'status_snapshots',
] as const;

export async function runSeed(o: SeedOptions): Promise<SeedResult> {
  const faults = faultsForSeed(o.seed);
  const rnd = seededRandom(o.seed ^ 0xc4a5);
  const scans = o.scans ?? 600;
  const crashRate = o.crashRate ?? 0.01;
  const lines = syntheticScanLines({ scans, seed: o.seed, symbols: ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'] });
  const marks = new LatestPrices();
  const venue = new SimVenue(faults, marks, seededRandom(o.seed));
  const journal = new MemoryJournal();
  const events: CanonicalEvent[] = [];
  let crashes = 0;
  let atScan: number | null = null;

  // The ledger: the real batching/spool/dedup path over a simulated ClickHouse with outages.
  const ledgerFaults = ledgerFaultsForSeed(o.seed);
  const chRandom = seededRandom(o.seed ^ 0xc1c4);
  const ch = new SimClickHouse(chRandom, ledgerFaults.lostAckRate);
  const pink = lookupNamespace('pink');
  const guard = new WriteGuard(pink);
  // The simulated disk: the spool survives the simulated crashes, like a directory would.
  const spool = new MemorySpool();
  let boots = 0;
  const openLedger = async () => {
    boots += 1;
    const ledger = new ClickHouseLedger({
      client: ch.client(),
      database: pink.clickhouseDb,
      guard,
      engine: 'server',
      spool,
      runId: `seed${o.seed}-boot${boots}`,
      batchRows: 1_000_000, // only the checkpoint flushes: a crash loses exactly what followed it
      // No wall-clock timers: the simulation flushes at each checkpoint, like the runtime.
      flushIntervalMs: 3_600_000,
      retryBaseMs: 3_600_000,
      retryMaxMs: 3_600_000,
      ownsClient: false,
    });
    await ledger.recoverSpool();
    return {
      ledger,
      sink: new ClickHouseEventSink({ ledger, strategy: pink.strategy, runId: ledger.runId }),
    };
  };
  let store = await openLedger();
  let outageLeft = 0;
  // The live state: the real publisher and reconnecting bus over a simulated Hazelcast, and a
  // reference publisher on a store that never fails; after every reconnect they must agree.
  const hz = new SimHazelcast();
  const hzBus = new ReconnectingStateBus({ kind: 'hazelcast', opTimeoutMs: 1000, retryMs: 3_600_000 });
  hzBus.attach(hz);
  hzBus.setConnected(true);
  const reference = new MemoryStateBus();
  let virtualNow = 0;
  const publishers = [hzBus, reference].map(
    (bus) => new StatePublisher({ bus: new GuardedStateBus(bus, guard), ns: pink, now: () => virtualNow }),
  );
  let hzOutageLeft = 0;
  let hzOutages = 0;
  const weather = async () => {
    if (outageLeft > 0) {
      outageLeft -= 1;
      if (outageLeft === 0) ch.down = false;
    } else if (chRandom() < ledgerFaults.outageRate) {
      ch.down = true;
      outageLeft = 1 + Math.floor(chRandom() * ledgerFaults.maxOutageScans);
    }
    if (hzOutageLeft > 0) {
      hzOutageLeft -= 1;
      if (hzOutageLeft === 0) {
        hz.down = false;
        hzBus.setConnected(true);
        await settled(hzBus);
        await checkStateMatches(hz, reference, pink.stateMap, pink.pnlMap);
      }
    } else if (chRandom() < ledgerFaults.outageRate) {
      hz.down = true;
      hzOutages += 1;
      hzBus.setConnected(false);
      hzOutageLeft = 1 + Math.floor(chRandom() * ledgerFaults.maxOutageScans);
    }
  };
  const publish = async (p: { pipeline: Pipeline; account: AccountProjection; strategy: BlueV7Ref }) => {
    const lastDecision = events.findLast((e) => e.type === 'decision') ?? null;
    const view = engineView({ ...p, posture: 'RUNNING', lastDecision }, 'sim', [], {}, virtualNow);
    if (view) for (const pub of publishers) await pub.publish(view);
  };

  // The process that dies at an effect (a crash point), and the world it acts on through it.
  const fate = new Mortality();
  const mortalVenue = fate.venue(venue);
  const mortalJournal = fate.journal(journal);
  /** Events up to the last checkpoint: what survives a crash (rows after it were never flushed). */
  let durable = 0;
  const sink = (e: CanonicalEvent) => {
    if (fate.dead) return; // a dead process emits nothing
    if (e.type === 'trade_closed')
      check(
        venue.positionOf(e.trade.asset) === 0,
        `ghost close: ${e.trade.tradeId} closed while the venue holds ${venue.positionOf(e.trade.asset)}`,
      );
    if (e.type === 'lifecycle') check(e.size >= 0, `negative size ${e.size} on ${e.tradeId}`);
    events.push(e);
    store.sink.accept(e);
  };

  const boot = async (now: number) => {
    const saved = await journal.load();
    const account = saved ? AccountProjection.fromState(saved.account) : new AccountProjection(CAPITAL);
    const strategy = new BlueV7Ref();
    if (saved) strategy.restoreState(saved.strategyState);
    const pipeline = new Pipeline({
      strategy,
      venue: mortalVenue,
      account,
      marks,
      sink,
      namespace: 'pink',
      statusEveryScans: 25,
      beforeSubmit: (intent) => mortalJournal.intend(intent),
    });
    if (saved) {
      pipeline.resumeAfter(saved.lastScan, saved.chainHash);
      await recover({
        venue: mortalVenue,
        pipeline,
        strategy,
        account,
        journal: saved,
        intents: await journal.intents(),
        emit: sink,
        now,
        unknownPosition: 'manage',
      });
      if (!fate.dead) checkBooks(pipeline, account, venue, 'after recovery');
    }
    return { pipeline, strategy, account };
  };

  const save = async (rt: Awaited<ReturnType<typeof boot>>) => {
    await mortalJournal.save({
      version: 1,
      namespace: 'pink',
      strategyName: rt.strategy.name,
      savedAt: virtualNow,
      lastScan: rt.pipeline.lastScan,
      chainHash: rt.pipeline.chainHash,
      strategyState: rt.strategy.saveState(),
      trade: rt.pipeline.kernel.exportTrade(),
      account: rt.account.exportState(),
      venuePositions: rt.pipeline.kernel.exportVenuePositions(),
      seenFacts: rt.pipeline.appliedFactKeys(),
    });
  };

  /**
   * The runtime's checkpoint: ledger rows durable (inserted or spooled), then the journal. A
   * crash between the two leaves rows of facts the journal does not know: they are booked
   * again after the restart under the same venue ids, and readers deduplicate by them.
   */
  const checkpoint = async (rt: Awaited<ReturnType<typeof boot>>) => {
    await store.sink.flush();
    durable = events.length;
    await save(rt);
  };

  /** As Runtime.start: after recovery, the checkpoint (its rows durable, then the journal). */
  const start = async (now: number) => {
    const booted = await boot(now);
    await checkpoint(booted);
    return booted;
  };

  /** kill -9 at the effect that just happened: memory and unread wire gone; venue, journal, spool stay. */
  const crash = async () => {
    crashes += 1;
    events.length = durable;
    venue.dropConnection();
    store.ledger.abandon();
    store = await openLedger();
    fate.reborn();
  };

  /** Starts a process; recovery itself may die at one of its effects (then it starts again). */
  const startMortal = async (now: number) => {
    for (;;) {
      const booted = await Promise.race([start(now), fate.died.then(() => null)]);
      if (booted && !fate.dead) return booted;
      await crash();
    }
  };

  /** One scan and its checkpoint; false when the process died on the way. */
  const step = async (
    rt: Awaited<ReturnType<typeof boot>>,
    value: { scan: number; ts: number },
    i: number,
  ) => {
    await rt.pipeline.process(value, `seed ${o.seed} scan ${value.scan}`);
    await checkpoint(rt);
    // Published on every 4th scan (the live loop publishes on change and on a heartbeat).
    if (i % 4 === 0) await publish(rt);
    return true;
  };

  let rt = await startMortal(0);
  const liveness = new LivenessWatch();
  try {
    for (let i = 0; i < lines.length; i++) {
      const value = JSON.parse(lines[i]!) as { scan: number; ts: number };
      atScan = value.scan;
      virtualNow = value.ts;
      await weather();
      // The process will die at one of its next effects: a submit, a drain, a write-ahead, a
      // checkpoint, or during the recovery that follows.
      if (!fate.armed && rnd() < crashRate) fate.arm(CRASH_POINTS[Math.floor(rnd() * CRASH_POINTS.length)]!);
      const lived = await Promise.race([step(rt, value, i), fate.died.then(() => false)]);
      if (!lived || fate.dead) {
        await crash();
        // Down for a while; the venue keeps trading (fills, funding, external closes) meanwhile.
        const down = 1 + Math.floor(rnd() * 5);
        for (let k = 0; k < down && i + 1 < lines.length; k++) {
          i += 1;
          const skipped = JSON.parse(lines[i]!) as Scan;
          marks.update(skipped);
          virtualNow = skipped.ts;
          venue.advance(skipped.ts);
        }
        // Now and then the restart itself dies while it reads the venue's history.
        if (rnd() < 0.25) fate.arm('during recovery (history read)');
        rt = await startMortal(virtualNow);
        liveness.reset();
        continue;
      }
      fate.scanPassed();
      checkAccount(rt.account, events);
      checkBooks(rt.pipeline, rt.account, venue, `scan ${value.scan}`);
      liveness.observe(rt.pipeline, venue);
    }
    // End of segment: no flatten to hide anything; the venue answers what is in flight.
    fate.disarm();
    await rt.pipeline.finish();
    checkAccount(rt.account, events);
    checkBooks(rt.pipeline, rt.account, venue, 'at the end');
    checkFinalBooks(rt.pipeline, rt.account, venue, events);
    await checkFillsBooked(venue, events);
    // ClickHouse is back: the spool drains and every row is there exactly once.
    ch.down = false;
    await store.sink.flush();
    // Lost acknowledgements can interrupt a drain (the retry timer's job in production).
    for (let attempt = 0; attempt < 1000 && store.ledger.health().spoolDepth > 0; attempt++)
      await store.ledger.recoverSpool();
    checkLedger(ch, store.ledger.health().spoolDepth, events);
    // Hazelcast is back: the latest value of every surface is there, none older.
    hz.down = false;
    hzBus.setConnected(true);
    await settled(hzBus);
    await publish(rt);
    await checkStateMatches(hz, reference, pink.stateMap, pink.pnlMap);
    return result(true, null);
  } catch (err) {
    if (!(err instanceof InvariantViolation) && !(err instanceof Error)) throw err;
    return result(false, `${(err as Error).name}: ${(err as Error).message}`);
  } finally {
    // Pending timers would keep this seed's whole world (tables, buses) alive for an hour.
    store.ledger.abandon();
    for (const p of publishers) p.stopHeartbeat();
    await hzBus.close();
    await reference.close();
  }

  function result(ok: boolean, violation: string | null): SeedResult {
    return {
      seed: o.seed,
      ok,
      scans,
      trades: events.filter((e) => e.type === 'trade_closed').length,
      crashes,
      crashPoints: Object.fromEntries(fate.points),
      faults,
      ledgerFaults,
      ledgerRefused: ch.refused,
      ledgerLostAcks: ch.lostAcks,
      stateOutages: hzOutages,
      violation,
      atScan: ok ? null : atScan,
      events: events.length,
      ...(o.keepEvents ? { trace: events } : {}),
    };
  }
}

/** Lets the bus finish republishing what it buffered while disconnected. */
async function settled(bus: ReconnectingStateBus): Promise<void> {
  for (let i = 0; i < 1000 && bus.health().pendingKeys > 0; i++) await new Promise((r) => setImmediate(r));
  check(bus.health().pendingKeys === 0, `state bus still holds ${bus.health().pendingKeys} unpublished keys`);
}

/** After a reconnect, Hazelcast holds exactly what a never-failing store holds: the latest of each key. */
async function checkStateMatches(
  hz: SimHazelcast,
  reference: MemoryStateBus,
  ...maps: string[]
): Promise<void> {
  for (const map of maps) {
    const want = new Map(await reference.mapEntries(map));
    const got = hz.map(map);
    for (const [key, value] of want)
      check(got.get(key) === value, `after reconnect ${map}[${key}] is stale or missing`);
    check(got.size === want.size, `after reconnect ${map} has ${got.size} keys, expected ${want.size}`);
  }
}

/** Every row the events map to is in ClickHouse exactly once (outages, lost acks and crashes notwithstanding). */
function checkLedger(ch: SimClickHouse, spoolDepth: number, events: readonly CanonicalEvent[]): void {
  check(spoolDepth === 0, `the ledger spool still holds ${spoolDepth} batches after ClickHouse came back`);
  const expected = new Map<string, number>();
  for (const e of events)
    for (const m of rowsFromEvent(e, 'pink')) expected.set(m.table, (expected.get(m.table) ?? 0) + 1);
  for (const table of PER_EVENT_TABLES) {
    const want = expected.get(table) ?? 0;
    const got = ch.rows(table).length;
    check(got === want, `ledger ${table}: ${got} rows, the events made ${want}`);
  }
  // A trade closed again after a crash between the ledger flush and the journal has a second
  // row under the same trade_id (ReplacingMergeTree keeps one); its money must be identical.
  // (Equal up to float rounding: the same fills may have been summed in another order.)
  const byTrade = new Map<string, number[]>();
  for (const r of ch.rows('trade_events')) {
    const money = [r.pnl, r.fees, r.funding, r.size, r.entry_price, r.exit_price].map(Number);
    const before = byTrade.get(String(r.trade_id));
    check(
      before === undefined ||
        before.every((v, k) => Math.abs(v - money[k]!) <= 1e-9 * Math.max(1, Math.abs(v))),
      `trade_events: ${r.trade_id} booked twice with different money (${before}; ${money})`,
    );
    byTrade.set(String(r.trade_id), money);
  }
  const closed = new Set(events.flatMap((e) => (e.type === 'trade_closed' ? [e.trade.tradeId] : [])));
  check(
    byTrade.size === closed.size,
    `trade_events has ${byTrade.size} trades for ${closed.size} completed trades`,
  );
}

/**
 * The money each venue fact moved, once per fact id: a fact booked again after a crash
 * (same venue id) must carry the same money and counts once.
 */
function moneyOf(events: readonly CanonicalEvent[]): number {
  let total = 0;
  const seen = new Map<string, number>();
  const once = (key: string, amount: number) => {
    const before = seen.get(key);
    if (before === undefined) {
      seen.set(key, amount);
      total += amount;
    } else
      check(
        Math.abs(before - amount) < 1e-9,
        `${key} booked twice with different amounts (${before}, ${amount})`,
      );
  };
  for (const [i, e] of events.entries()) {
    if (e.type === 'fill') once(e.fillId ? `fill:${e.fillId}:${e.qty}` : `anon:${i}`, e.realizedPnl - e.fee);
    else if (e.type === 'funding') once(`funding:${e.id}`, -e.amount);
    else if (e.type === 'capital_adjusted') once(`adjust:${e.commandId || i}`, e.delta);
  }
  return total;
}

/** Capital = initial + confirmed realized PnL - fees - funding, recomputed from the event stream. */
function checkAccount(account: AccountProjection, events: readonly CanonicalEvent[]): void {
  const expected = CAPITAL + moneyOf(events);
  check(
    Math.abs(account.capital - expected) < 1e-6,
    `account capital ${account.capital} != event-derived ${expected}`,
  );
}

const ASSETS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];

/**
 * The books against the venue: each venue position owned by the slot's trade, with the
 * venue's size once no order is in flight; the account holds what the venue holds; PINK's
 * capital moved exactly as the venue wallet did.
 */
function checkBooks(pipeline: Pipeline, account: AccountProjection, venue: SimVenue, when: string): void {
  const view = pipeline.kernel.view();
  for (const asset of ASSETS) {
    const venueQty = venue.positionOf(asset);
    if (venueQty === 0) continue;
    check(view?.asset === asset, `${when}: the venue holds ${venueQty} ${asset} that no trade owns`);
    if (view && !view.pendingOrder)
      check(
        Math.abs(view.remainingQty - Math.abs(venueQty)) < 1e-9,
        `${when}: trade ${view.tradeId} holds ${view.remainingQty} ${asset}, the venue ${venueQty}`,
      );
  }
  const venueQty = view ? venue.positionOf(view.asset) : 0;
  check(
    Math.abs(account.positionQty - venueQty) < 1e-9,
    `${when}: the account holds ${account.positionQty}, the venue ${venueQty}`,
  );
  const pink = account.capital - CAPITAL;
  check(
    Math.abs(pink - venue.walletChange()) < 1e-6,
    `${when}: PINK's capital moved ${pink}, the venue wallet ${venue.walletChange()}`,
  );
}

/**
 * Liveness: no trade waits in a state the venue contradicts (flat on the venue while the
 * trade holds a position, with nothing in flight) for more than a few scans.
 */
class LivenessWatch {
  private stuck = 0;
  private last = '';
  reset(): void {
    this.stuck = 0;
  }
  /** Counts scans in which nothing moved while the venue contradicted the trade. */
  observe(pipeline: Pipeline, venue: SimVenue): void {
    const view = pipeline.kernel.view();
    const pending = view?.pendingOrder;
    // The venue says the order is over (or never had it) while the trade still waits on it.
    const orderOver = pending ? venue.orderStatus(pending.clientOrderId) !== 'OPEN' : false;
    const contradicted =
      view !== null &&
      ((view.remainingQty > 0 && venue.positionOf(view.asset) === 0 && !pending) || orderOver);
    const state = view ? `${view.tradeId}|${view.stage}|${pending?.clientOrderId}|${view.remainingQty}` : '';
    this.stuck = contradicted && state === this.last ? this.stuck + 1 : 0;
    this.last = state;
    check(
      this.stuck <= LIVENESS_SCANS,
      `trade ${view?.tradeId} (${view?.stage}, ${view?.remainingQty} held, order ${pending?.clientOrderId ?? 'none'}: ${pending ? (venue.orderStatus(pending.clientOrderId) ?? 'unknown to the venue') : ''}) has waited ${this.stuck} scans on something the venue contradicts`,
    );
  }
}

const LIVENESS_SCANS = 4;

/**
 * Every fill the venue made is booked (in what survived). A second row under the same venue id
 * is a re-emission after a crash between the ledger flush and the journal: moneyOf proves it
 * carries the same money and counts once, and capital = the venue wallet proves nothing moved twice.
 */
async function checkFillsBooked(venue: SimVenue, events: readonly CanonicalEvent[]): Promise<void> {
  const booked = new Map<string, number>();
  for (const e of events)
    if (e.type === 'fill' && e.fillId) booked.set(e.fillId, (booked.get(e.fillId) ?? 0) + 1);
  for (const f of await venue.history(0, ASSETS)) {
    if (f.kind !== 'fill') continue;
    const n = booked.get(f.fillId) ?? 0;
    check(n >= 1, `venue fill ${f.fillId} (${f.side} ${f.qty} ${f.asset}) was never booked`);
  }
}

function checkFinalBooks(
  pipeline: Pipeline,
  account: AccountProjection,
  venue: SimVenue,
  events: readonly CanonicalEvent[],
): void {
  const view = pipeline.kernel.view();
  for (const asset of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']) {
    if (view?.asset === asset) continue;
    check(
      venue.positionOf(asset) === 0,
      `after the run the venue still holds ${venue.positionOf(asset)} ${asset} with no local trade`,
    );
  }
  check(
    Math.abs(account.positionQty - (view ? venue.positionOf(view.asset) : 0)) < 1e-9,
    'account position differs from the venue',
  );
  // Exactly one terminal row per completed trade; every closed position has one.
  const terminal = new Map<string, number>();
  const closedPositions = new Set<string>();
  for (const e of events) {
    if (e.type === 'trade_closed') terminal.set(e.trade.tradeId, (terminal.get(e.trade.tradeId) ?? 0) + 1);
    if (e.type === 'lifecycle' && e.state === 'POSITION_CLOSED') closedPositions.add(e.tradeId);
  }
  // More than one only when a crash fell between the ledger flush and the journal (same money: see checkLedger).
  for (const [id, n] of terminal) check(n >= 1, `trade ${id} has ${n} terminal rows`);
  for (const id of closedPositions)
    check((terminal.get(id) ?? 0) >= 1, `trade ${id} closed without a terminal row`);
  // No intent opened twice: one entry order per trade reached the venue at most.
  const entries = new Map<string, Set<string>>();
  for (const e of events) {
    if (e.type === 'fill' && e.purpose === 'ENTRY') {
      const set = entries.get(e.tradeId) ?? new Set<string>();
      set.add(e.clientOrderId);
      entries.set(e.tradeId, set);
    }
  }
  for (const [id, ids] of entries)
    check(ids.size === 1, `trade ${id} filled ${ids.size} entry orders: ${[...ids].join(', ')}`);
  // Capital replay: the deduplicated terminal rows plus what no trade owns rebuild the capital.
  if (!view) {
    // Deduplicated as capital replay reads the ledger: terminal rows by trade_id, the rest by venue id.
    const terminalOnce = new Map<string, number>();
    const rest: CanonicalEvent[] = [];
    for (const e of events) {
      if (e.type === 'trade_closed')
        terminalOnce.set(e.trade.tradeId, e.trade.pnl - e.trade.fees - e.trade.funding);
      else if ((e.type === 'fill' || e.type === 'funding') && e.tradeId === '') rest.push(e);
      else if (e.type === 'capital_adjusted') rest.push(e);
    }
    let replay = CAPITAL + moneyOf(rest);
    for (const v of terminalOnce.values()) replay += v;
    const status = events.filter((e) => e.type === 'status').at(-1);
    check(
      Math.abs(replay - account.capital) < 1e-6,
      `capital replay ${replay} != account ${account.capital}`,
    );
    if (status?.type === 'status')
      check(
        Math.abs(status.capital - account.capital) < 1e-6,
        'last status snapshot differs from the account',
      );
  }
}

/** The command an operator runs to replay one failing seed. */
export function reproduction(seed: number, scans: number): string {
  return `pink simtest --seed ${seed} --scans ${scans}`;
}
