/**
 * A venue that outlives PINK, and PINK processes that die anywhere: the in-process model
 * of a kill -9 (the crash-point matrix and the recovery cases use it). The venue (the sim,
 * on a virtual clock) keeps acting while no process runs; the journal and its write-ahead
 * intents survive; whatever a process emitted after its last checkpoint is gone from its
 * memory (the ledger deduplicates the rows it may have written).
 */

import { MemoryJournal } from '../../src/adapters/files/journal.js';
import { SimVenue, type SimVenueConfig } from '../../src/adapters/sim/sim-venue.js';
import { LatestPrices, Pipeline } from '../../src/app/pipeline.js';
import { type RecoveryReport, recover } from '../../src/app/recovery.js';
import { AccountProjection } from '../../src/domain/account.js';
import type { ExitReason, Side } from '../../src/domain/decision.js';
import type { CanonicalEvent, FillEvent } from '../../src/domain/events.js';
import { seededRandom } from '../../src/domain/random.js';
import { BlueV7Ref } from '../../src/strategy/blue-v7-ref.js';

export const CAPITAL = 25_000;

export const CRASH_SIM: Partial<SimVenueConfig> = {
  seed: 3,
  latencyMs: 2_000,
  ackMs: 100,
  partialFills: 2,
  feeRate: 0.0005,
  slippageBps: 1,
  slippageJitterBps: 0,
  fundingIntervalMs: 1e12,
};

/** One PINK process: its pipeline, and the events it emitted (those up to `durable` survive it). */
export class PinkProcess {
  readonly events: CanonicalEvent[] = [];
  durable = 0;
  dead = false;
  report: RecoveryReport | null = null;
  /** Set to make the next write-ahead hang forever: the process dies with the order not yet sent. */
  dieAtWriteAhead = false;

  constructor(
    readonly world: CrashWorld,
    readonly pipeline: Pipeline,
    readonly account: AccountProjection,
    readonly strategy: BlueV7Ref,
  ) {}

  get kernel() {
    return this.pipeline.kernel;
  }

  async checkpoint(): Promise<void> {
    await this.world.journal.save({
      version: 1,
      namespace: 'pink',
      strategyName: this.strategy.name,
      savedAt: this.world.now,
      lastScan: this.pipeline.lastScan,
      chainHash: this.pipeline.chainHash,
      strategyState: this.strategy.saveState(),
      trade: this.kernel.exportTrade(),
      account: this.account.exportState(),
      venuePositions: this.kernel.exportVenuePositions(),
      seenFacts: this.pipeline.appliedFactKeys(),
    });
    this.durable = this.events.length;
  }

  /** Drains the venue at `world.now` (one poll). */
  async poll(): Promise<void> {
    await this.pipeline.syncVenue(this.world.now);
  }

  /** A kernel intent, as a scan's decision would make it (the order leaves inside). */
  enter(tradeId: string, asset: string, side: Side, qty: number): Promise<unknown> {
    return this.kernel.handleIntent(
      {
        kind: 'ENTER',
        tradeId,
        scan: 1,
        ts: this.world.now,
        asset,
        side,
        leverage: 2,
        targetSize: qty,
        referencePrice: this.world.marks.price(asset)!,
        legRatios: [0.5, 0.5],
      },
      this.world.now,
    );
  }

  /** A short entered and filled (the venue's latency passed), then checkpointed. */
  async openShort(tradeId: string, asset: string, qty: number): Promise<void> {
    await this.enter(tradeId, asset, 'SHORT', qty);
    this.world.advance(3_000);
    await this.poll();
    await this.checkpoint();
  }

  exit(fraction: number, final: boolean, reason: ExitReason): Promise<unknown> {
    const v = this.kernel.view()!;
    return this.kernel.handleIntent(
      {
        kind: 'EXIT',
        tradeId: v.tradeId,
        scan: 2,
        ts: this.world.now,
        asset: v.asset,
        reason,
        fraction,
        final,
        referencePrice: this.world.marks.price(v.asset)!,
      },
      this.world.now,
    );
  }
}

export class CrashWorld {
  readonly marks = new LatestPrices();
  readonly venue: SimVenue;
  readonly journal = new MemoryJournal();
  readonly processes: PinkProcess[] = [];
  now = 1_747_742_400_000;

  constructor(sim: Partial<SimVenueConfig> = CRASH_SIM) {
    this.venue = new SimVenue(sim, this.marks, seededRandom(sim.seed ?? 1));
  }

  setPrice(asset: string, price: number): void {
    this.marks.update({ scan: 0, ts: this.now, assets: { [asset]: { price } } } as never);
  }

  /** Starts a process: journal, write-ahead intents, then recovery against the venue. */
  async boot(o: { checkpoint?: boolean } = {}): Promise<PinkProcess> {
    const saved = await this.journal.load();
    const account = saved ? AccountProjection.fromState(saved.account) : new AccountProjection(CAPITAL);
    const strategy = new BlueV7Ref();
    if (saved) strategy.restoreState(saved.strategyState);
    let proc: PinkProcess | null = null;
    const pipeline = new Pipeline({
      strategy,
      venue: this.venue,
      account,
      marks: this.marks,
      namespace: 'pink',
      sink: (e) => proc!.events.push(e),
      beforeSubmit: (intent) => {
        const write = this.journal.intend(intent);
        return proc!.dieAtWriteAhead ? write.then(() => new Promise<void>(() => {})) : write;
      },
    });
    proc = new PinkProcess(this, pipeline, account, strategy);
    if (saved) pipeline.resumeAfter(saved.lastScan, saved.chainHash);
    proc.report = await recover({
      venue: this.venue,
      pipeline,
      strategy,
      account,
      journal: saved,
      intents: await this.journal.intents(),
      emit: (e) => proc!.events.push(e),
      now: this.now,
      unknownPosition: 'manage',
    });
    if (o.checkpoint !== false) await proc.checkpoint();
    this.processes.push(proc);
    return proc;
  }

  /** kill -9: the process's memory is gone, so is what it had not read off the wire. */
  crash(proc: PinkProcess): void {
    proc.dead = true;
    this.venue.dropConnection();
  }

  /** Time passes; the venue acts whether or not anyone listens. */
  advance(ms: number): void {
    this.now += ms;
    this.venue.advance(this.now);
  }

  /** Every fill event that survived: each process's events up to its last checkpoint, the live one's all. */
  bookedFills(): FillEvent[] {
    const out: FillEvent[] = [];
    for (const p of this.processes) {
      const kept = p.dead ? p.events.slice(0, p.durable) : p.events;
      for (const e of kept) if (e.type === 'fill') out.push(e);
    }
    return out;
  }

  /** What an invariant check needs to say, or null when the books agree with the venue. */
  async violations(live: PinkProcess, assets: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    const view = live.kernel.view();
    for (const asset of assets) {
      const venueQty = this.venue.positionOf(asset);
      if (venueQty === 0) continue;
      if (view?.asset !== asset) out.push(`venue holds ${venueQty} ${asset}, owned by no trade`);
      else if (!view.pendingOrder && Math.abs(view.remainingQty - Math.abs(venueQty)) > 1e-9)
        out.push(`trade ${view.tradeId} holds ${view.remainingQty}, the venue ${venueQty}`);
    }
    const venueQty = view ? this.venue.positionOf(view.asset) : 0;
    if (Math.abs(live.account.positionQty - venueQty) > 1e-9)
      out.push(`account position ${live.account.positionQty} != venue ${venueQty}`);
    const pinkChange = live.account.capital - CAPITAL;
    if (Math.abs(pinkChange - this.venue.walletChange()) > 1e-6)
      out.push(`PINK's capital moved ${pinkChange}, the venue wallet ${this.venue.walletChange()}`);
    const venueFills = (await this.venue.history(0, assets)).filter((f) => f.kind === 'fill');
    const booked = new Map<string, number>();
    for (const f of this.bookedFills()) if (f.fillId) booked.set(f.fillId, (booked.get(f.fillId) ?? 0) + 1);
    for (const f of venueFills) {
      if (f.kind !== 'fill') continue;
      const n = booked.get(f.fillId) ?? 0;
      if (n !== 1) out.push(`venue fill ${f.fillId} (${f.side} ${f.qty} ${f.asset}) booked ${n} times`);
    }
    return out;
  }
}
