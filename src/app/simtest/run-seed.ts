/**
 * One seed of the deterministic fault simulation (`pink simtest`), in the spirit of
 * TigerBeetle's VOPR: everything random is drawn from the seed (market, venue
 * faults, crash points), the whole runtime runs on a virtual clock, and the
 * invariants are checked after every scan. Same seed, same run.
 */

import { MemoryJournal } from '../../adapters/files/journal.js';
import { SimVenue, type SimVenueConfig } from '../../adapters/sim/sim-venue.js';
import { AccountProjection } from '../../domain/account.js';
import type { CanonicalEvent } from '../../domain/events.js';
import { seededRandom } from '../../domain/random.js';
import { BlueV7Ref } from '../../strategy/blue-v7-ref.js';
import { LatestPrices, Pipeline } from '../pipeline.js';
import { recover } from '../recovery.js';
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
  readonly faults: Partial<SimVenueConfig>;
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

  const sink = (e: CanonicalEvent) => {
    if (e.type === 'trade_closed')
      check(
        venue.positionOf(e.trade.asset) === 0,
        `ghost close: ${e.trade.tradeId} closed while the venue holds ${venue.positionOf(e.trade.asset)}`,
      );
    if (e.type === 'lifecycle') check(e.size >= 0, `negative size ${e.size} on ${e.tradeId}`);
    events.push(e);
  };

  const boot = async (now: number) => {
    const saved = await journal.load();
    const account = saved ? AccountProjection.fromState(saved.account) : new AccountProjection(CAPITAL);
    const strategy = new BlueV7Ref();
    if (saved) strategy.restoreState(saved.strategyState);
    const pipeline = new Pipeline({
      strategy,
      venue,
      account,
      marks,
      sink,
      namespace: 'pink',
      statusEveryScans: 25,
    });
    if (saved) {
      pipeline.resumeAfter(saved.lastScan, saved.chainHash);
      await recover({
        venue,
        pipeline,
        strategy,
        account,
        journal: saved,
        emit: sink,
        now,
        unknownPosition: 'manage',
      });
      checkSlotMatchesVenue(pipeline, venue);
    }
    return { pipeline, strategy, account };
  };

  const save = async (rt: Awaited<ReturnType<typeof boot>>) =>
    journal.save({
      version: 1,
      namespace: 'pink',
      strategyName: rt.strategy.name,
      savedAt: 0,
      lastScan: rt.pipeline.lastScan,
      chainHash: rt.pipeline.chainHash,
      strategyState: rt.strategy.saveState(),
      trade: rt.pipeline.kernel.exportTrade(),
      account: rt.account.exportState(),
      venuePositions: rt.pipeline.kernel.exportVenuePositions(),
    });

  let rt = await boot(0);
  try {
    for (let i = 0; i < lines.length; i++) {
      const value = JSON.parse(lines[i]!) as { scan: number; ts: number };
      atScan = value.scan;
      if (rnd() < crashRate) {
        // Crash: the process's memory is gone; the venue and the journal survive. Down for a while.
        crashes += 1;
        i += Math.floor(rnd() * 5);
        rt = await boot(value.ts);
        continue;
      }
      await rt.pipeline.process(value, `seed ${o.seed} scan ${value.scan}`);
      await save(rt);
      checkAccount(rt.account, events);
    }
    // End of segment: flatten whatever is open, let the venue answer, and check the books.
    const end = (JSON.parse(lines.at(-1)!) as { ts: number }).ts;
    for (let k = 1; k <= 4; k++) {
      await rt.pipeline.flatten(end + k * 60_000);
      await rt.pipeline.syncVenue(end + k * 60_000 + 30_000);
    }
    await rt.pipeline.finish();
    checkAccount(rt.account, events);
    checkFinalBooks(rt.pipeline, rt.account, venue, events);
    return result(true, null);
  } catch (err) {
    if (!(err instanceof InvariantViolation) && !(err instanceof Error)) throw err;
    return result(false, `${(err as Error).name}: ${(err as Error).message}`);
  }

  function result(ok: boolean, violation: string | null): SeedResult {
    return {
      seed: o.seed,
      ok,
      scans,
      trades: events.filter((e) => e.type === 'trade_closed').length,
      crashes,
      faults,
      violation,
      atScan: ok ? null : atScan,
      events: events.length,
      ...(o.keepEvents ? { trace: events } : {}),
    };
  }
}

/** Capital = initial + confirmed realized PnL - fees - funding, recomputed from the event stream. */
function checkAccount(account: AccountProjection, events: readonly CanonicalEvent[]): void {
  let expected = CAPITAL;
  for (const e of events) {
    if (e.type === 'fill') expected += e.realizedPnl - e.fee;
    else if (e.type === 'funding') expected -= e.amount;
    else if (e.type === 'capital_adjusted') expected += e.delta;
  }
  check(
    Math.abs(account.capital - expected) < 1e-6,
    `account capital ${account.capital} != event-derived ${expected}`,
  );
}

function checkSlotMatchesVenue(pipeline: Pipeline, venue: SimVenue): void {
  const view = pipeline.kernel.view();
  if (!view) return;
  const venueQty = venue.positionOf(view.asset);
  const entryInFlight = view.pendingOrder?.purpose === 'ENTRY';
  check(
    entryInFlight || Math.abs(Math.abs(venueQty) - view.remainingQty) < 1e-9 || view.pendingOrder !== null,
    `after recovery the slot holds ${view.remainingQty} ${view.asset} but the venue holds ${venueQty}`,
  );
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
  for (const [id, n] of terminal) check(n === 1, `trade ${id} has ${n} terminal rows`);
  for (const id of closedPositions)
    check(terminal.get(id) === 1, `trade ${id} closed without a terminal row`);
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
    let replay = CAPITAL;
    for (const e of events) {
      if (e.type === 'trade_closed') replay += e.trade.pnl - e.trade.fees - e.trade.funding;
      else if (e.type === 'fill' && e.tradeId === '') replay += e.realizedPnl - e.fee;
      else if (e.type === 'funding' && e.tradeId === '') replay -= e.amount;
      else if (e.type === 'capital_adjusted') replay += e.delta;
    }
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
