/**
 * The PINK path for one scan: validate -> venue facts up to the scan's time ->
 * decide -> intent -> kernel -> venue. Every outcome leaves as a canonical event.
 * Replay, live run, parity and simtest all drive this same class.
 */
import type { AccountProjection } from '../domain/account.js';
import { type Decision, type DecisionRecord, type Intent, intentFromDecision } from '../domain/decision.js';
import {
  ARRIVAL_SOURCE,
  type Arrival,
  type CanonicalEvent,
  type EventSink,
  type OverrideKind,
} from '../domain/events.js';
import { type AssetQuote, type Scan, validateScan } from '../domain/scan.js';
import type { VenueFact, VenuePort } from '../domain/venue.js';
import {
  DEFAULT_KERNEL_CONFIG,
  ExecutionKernel,
  type KernelConfig,
  type KernelHooks,
} from '../execution/kernel.js';
import { MarkoutTracker } from '../execution/markouts.js';
import { FactNormalizer } from '../execution/normalizer.js';
import { ChainHasher, decisionHash } from '../strategy/decision-log.js';
import type { Strategy } from '../strategy/strategy.js';

/** Latest scan prices: the mark board the sim venue and the account read. */
export class LatestPrices {
  // The quotes themselves, not their prices: a number stored in a Map is boxed, which
  // allocated one object per asset per scan.
  private readonly quotes = new Map<string, AssetQuote>();

  update(scan: Scan): void {
    for (const symbol in scan.assets) this.quotes.set(symbol, scan.assets[symbol]!);
  }

  price(asset: string): number | undefined {
    return this.quotes.get(asset)?.price;
  }
}

/** The scan's price as the arrival price (replays, the sim venue, a venue without a market stream). */
function scanArrival(price: number | undefined): Arrival | undefined {
  return price === undefined ? undefined : { price, source: ARRIVAL_SOURCE };
}

export interface PipelineOptions {
  readonly strategy: Strategy;
  readonly venue: VenuePort;
  readonly account: AccountProjection;
  readonly marks: LatestPrices;
  readonly sink: EventSink;
  readonly namespace: string;
  readonly kernel?: Partial<Omit<KernelConfig, 'strategy'>>;
  /** Emit a status event every this many accepted scans. */
  readonly statusEveryScans?: number;
  /** Write-ahead before each order leaves (the runtime's journal); see KernelHooks. */
  readonly beforeSubmit?: KernelHooks['beforeSubmit'];
  /**
   * Fail closed when the strategy cannot decide (its process failed or is down): no decision
   * for the scan, entries paused until setPaused(false), one strategy_health event per change,
   * and this is told the reason. Without it the failure propagates (replays stop on it).
   */
  readonly failClosed?: (reason: string) => void;
  readonly mono?: () => bigint;
}

export interface ProcessResult {
  readonly accepted: boolean;
  readonly reason?: string;
}

const ACCEPTED: ProcessResult = Object.freeze({ accepted: true });

export class Pipeline {
  readonly kernel: ExecutionKernel;
  private readonly normalizer = new FactNormalizer();
  private readonly chain = new ChainHasher();
  private readonly markouts: MarkoutTracker;
  private lastAccepted: number | null = null;
  private lastScanTs = 0;
  private scansSinceStatus = 0;
  /** The open trade's best move so far (bps), for the shadow exit rule. */
  private peak = { tradeId: '', moveBps: Number.NEGATIVE_INFINITY };
  private pausedFlag = false;
  /** The strategy failed and has not decided since (see failClosed). */
  private strategyOutage = false;
  /** Events raised while an order is being sent, waiting for that scan's decision event. */
  private held: CanonicalEvent[] | null = null;

  constructor(private readonly o: PipelineOptions) {
    this.markouts = new MarkoutTracker({
      price: (asset) => o.marks.price(asset),
      now: () => this.lastScanTs,
    });
    this.kernel = new ExecutionKernel(
      o.venue,
      o.account,
      {
        emit: (e) => this.emit(e),
        override: (kind, tradeId, fact) => this.override(kind, tradeId, fact),
        mono: o.mono ?? (() => process.hrtime.bigint()),
        arrival: (asset) => o.venue.quote?.(asset) ?? scanArrival(o.marks.price(asset)),
        ...(o.beforeSubmit ? { beforeSubmit: o.beforeSubmit } : {}),
      },
      { ...DEFAULT_KERNEL_CONFIG, ...o.kernel, strategy: o.namespace },
    );
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  get chainHash(): string {
    return this.chain.value;
  }

  get lastScan(): number | null {
    return this.lastAccepted;
  }

  get lastTs(): number {
    return this.lastScanTs;
  }

  /** After a restart: continue the scan sequence and the decision chain where the journal left them. */
  resumeAfter(lastScan: number | null, chainHash: string): void {
    this.lastAccepted = lastScan;
    this.chain.resume(chainHash);
  }

  setPaused(paused: boolean): void {
    this.pausedFlag = paused;
  }

  /**
   * Validates and processes one scan; a bad scan is refused and never reaches the strategy.
   * Synchronous (no promise) when nothing on the way needs to wait: an in-process venue with
   * no facts, no open trade and no order; callers `await` it either way.
   */
  process(raw: unknown, where: string): ProcessResult | Promise<ProcessResult> {
    const check = validateScan(raw, this.lastAccepted);
    if (!check.ok) return this.refuse(where, check.reason);
    const stepping = this.step(check.scan);
    return stepping ? stepping.then(() => ACCEPTED) : ACCEPTED;
  }

  /** Records a scan refused before validation (e.g. a line that is not JSON). */
  refuse(where: string, reason: string): ProcessResult {
    this.emit({ type: 'scan_rejected', ts: this.lastScanTs, where, reason });
    return { accepted: false, reason };
  }

  // A scan's steps, each returning a promise only when it has to wait, so that the common
  // scan allocates no promise and takes no trip through the microtask queue.
  private step(scan: Scan): Promise<void> | undefined {
    const now = scan.ts;
    this.lastAccepted = scan.scan;
    this.lastScanTs = now;
    this.o.marks.update(scan);
    if (this.markouts.waiting > 0) for (const m of this.markouts.onScan(now)) this.emit(m);
    const syncing = this.syncVenue(now);
    return syncing ? syncing.then(() => this.decide(scan, now)) : this.decide(scan, now);
  }

  private decide(scan: Scan, now: number): Promise<void> | undefined {
    const asset = this.kernel.openAsset;
    if (asset) this.o.account.markToMarket(this.o.marks.price(asset) ?? 0, now);

    const decided = this.o.strategy.decide(scan, { capital: this.o.account.capital });
    // A strategy in another process answers later; the built-in one at once (no promise).
    if (!(decided instanceof Promise)) return this.act(scan, now, decided);
    if (!this.o.failClosed) return decided.then((d) => this.act(scan, now, d));
    return decided.then(
      (d) => {
        if (this.strategyOutage) this.strategyHealth(scan, now, 'RECOVERED', 'decides again');
        return this.act(scan, now, d);
      },
      (err: unknown) => this.withoutDecision(scan, now, err),
    );
  }

  /**
   * The strategy could not decide: fail closed. No decision is recorded and no order leaves;
   * entries pause (the operator's RESUME lifts it, not the strategy's recovery). The venue's
   * facts were applied before the decision, so its truth is still followed; exits wait for the
   * strategy to come back or for an operator FLATTEN.
   */
  private withoutDecision(scan: Scan, now: number, err: unknown): void {
    if (!this.strategyOutage) {
      const reason = err instanceof Error ? err.message : String(err);
      this.pausedFlag = true;
      this.strategyHealth(scan, now, 'FAILED', reason);
      this.o.failClosed?.(reason);
    }
    this.status(now);
  }

  private strategyHealth(scan: Scan, now: number, state: 'FAILED' | 'RECOVERED', reason: string): void {
    this.strategyOutage = state === 'FAILED';
    const snap = this.o.account.snapshot();
    this.emit({
      type: 'strategy_health',
      ts: now,
      scan: scan.scan,
      state,
      reason,
      capital: snap.capital,
      equity: snap.equity,
    });
  }

  private act(scan: Scan, now: number, decision: Decision): Promise<void> | undefined {
    const intent = intentFromDecision(decision);
    const refused = intent?.kind === 'ENTER' && this.pausedFlag;
    // The order goes out before its decision is hashed and recorded (the kernel calls the
    // venue before its first await); the kernel's events are held meanwhile, so every sink
    // still sees the decision first.
    let sending: Promise<unknown> | null = null;
    if (intent && !refused) {
      this.held = [];
      sending = this.kernel.handleIntent(intent, now);
    }
    try {
      this.recordDecision(now, decision.record);
    } catch (err) {
      sending?.catch(() => {}); // the sink's failure is the one to report
      throw err;
    }
    if (intent && refused) {
      const reason = 'runtime is PAUSED: no new entries';
      this.emit({ type: 'intent_refused', ts: now, tradeId: intent.tradeId, intent: 'ENTER', reason });
      this.override('ENTRY_REFUSED', intent.tradeId, reason);
    }
    if (sending) return sending.then(() => this.conclude(scan, now, decision.record, intent));
    return this.conclude(scan, now, decision.record, intent);
  }

  private conclude(
    scan: Scan,
    now: number,
    record: DecisionRecord,
    intent: Intent | null,
  ): Promise<void> | undefined {
    const tradeId = this.o.strategy.openTradeId();
    if (tradeId && record.action !== 'ENTER') this.kernel.noteBarsHeld(tradeId, record.bars_held);
    if (intent?.kind === 'EXIT') this.kernel.noteBarsHeld(intent.tradeId, record.bars_held);
    this.shadowExit(scan);
    // Fast venues answer within the same instant; fold those facts in now.
    const syncing = intent ? this.syncVenue(now) : undefined;
    if (syncing) return syncing.then(() => this.status(now));
    this.status(now);
    return undefined;
  }

  /** Emits the scan's decision with its hashes, then whatever was held behind it. */
  private recordDecision(now: number, record: DecisionRecord): void {
    const held = this.held;
    this.held = null;
    const hash = decisionHash(record);
    this.o.sink({ type: 'decision', ts: now, record, decisionHash: hash, chainHash: this.chain.push(hash) });
    if (held) for (const e of held) this.deliver(e);
  }

  /**
   * Pulls venue facts up to `now`, normalizes them and lets the kernel apply them.
   * Returns nothing (no await needed) when an in-process venue had no facts and no trade
   * is open: the common scan, on the way to its decision.
   */
  syncVenue(now: number): Promise<void> | undefined {
    const raw = this.o.venue.drain(now);
    if (Array.isArray(raw) && raw.length === 0 && !this.kernel.hasTrade) return undefined;
    return this.applyVenue(raw, now);
  }

  private async applyVenue(pending: VenueFact[] | Promise<VenueFact[]>, now: number): Promise<void> {
    const raw = await pending;
    if (raw.length) await this.kernel.applyFacts(this.normalizer.normalize(raw, now), now);
    if (this.kernel.hasTrade) await this.kernel.tick(now);
  }

  /**
   * Recovery: venue facts read outside the drain (the venue's history, its positions now),
   * through the same normalization as live ones. Returns how many were new.
   */
  async applyVenueFacts(facts: readonly VenueFact[], now: number): Promise<number> {
    const fresh = this.normalizer.normalize(facts, now);
    if (fresh.length === 0) return 0; // (nor move the kernel's clock)
    await this.kernel.applyFacts(fresh, now);
    return fresh.filter((f) => f.kind !== 'position').length;
  }

  /** Keys of the newest venue facts applied, for the journal (see FactNormalizer.recentKeys). */
  appliedFactKeys(): string[] {
    return this.normalizer.recentKeys();
  }

  /** A restarted process at `now`: these facts were applied before the journal was written. */
  rememberFacts(keys: readonly string[], now: number): void {
    this.normalizer.remember(keys, now);
  }

  /**
   * For venues that answer in wall-clock time (ccxt): poll until no order is in
   * flight, so a replay sees each order's facts before the next scan.
   */
  async settle(now: number, maxWaitMs = 15_000, pollMs = 20): Promise<boolean> {
    const deadline = Date.now() + maxWaitMs;
    while (this.kernel.view()?.pendingOrder || this.kernel.closingPending) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, pollMs));
      await this.syncVenue(now);
    }
    return true;
  }

  /** What a settle waits for, in words (for a warning when it does not come), or null. */
  inFlight(): string | null {
    const view = this.kernel.view();
    const o = view?.pendingOrder;
    if (o)
      return `order ${o.clientOrderId} (${o.purpose}, ${o.filledQty}/${o.qty} filled) of trade ${view!.tradeId}`;
    if (this.kernel.closingPending)
      return `the close of trade ${view?.tradeId ?? '?'} (position not yet flat at the venue)`;
    return null;
  }

  /** Operator FLATTEN: closes the open position through the normal exit path. */
  async flatten(now: number): Promise<{ accepted: boolean; reason: string }> {
    const view = this.kernel.view();
    if (!view) return { accepted: false, reason: 'no open position to flatten' };
    const outcome = await this.kernel.handleIntent(
      {
        kind: 'EXIT',
        tradeId: view.tradeId,
        scan: this.lastAccepted ?? 0,
        ts: now,
        asset: view.asset,
        reason: 'FLATTEN',
        fraction: 1,
        final: true,
        referencePrice: this.o.marks.price(view.asset) ?? view.entryPrice,
      },
      now,
    );
    if (outcome.accepted) this.override('FLATTENED', view.tradeId, 'operator FLATTEN');
    return outcome;
  }

  /** End of a replay: let every scheduled venue fact arrive. */
  async finish(): Promise<void> {
    await this.syncVenue(this.lastScanTs + 3_600_000);
    this.status(this.lastScanTs + 3_600_000, true);
  }

  private override(kind: OverrideKind, tradeId: string, venueFact: string): void {
    if (this.o.strategy.openTradeId() !== tradeId) return;
    this.o.strategy.override(kind, tradeId);
    this.emit({ type: 'strategy_override', ts: this.lastScanTs, kind, tradeId, venueFact });
  }

  private shadowExit(scan: Scan): void {
    if (!this.kernel.hasTrade) return;
    const view = this.kernel.view();
    if (!view || view.initialQty <= 0) return;
    const price = scan.assets[view.asset]?.price;
    if (price === undefined) return;
    const sign = view.side === 'SHORT' ? 1 : -1;
    const moveBps = ((view.entryPrice - price) / view.entryPrice) * 10000 * sign;
    if (this.peak.tradeId !== view.tradeId) this.peak = { tradeId: view.tradeId, moveBps: moveBps };
    const peak = Math.max(this.peak.moveBps, moveBps);
    this.peak.moveBps = peak;
    // Shadow rule: a 40 bps giveback from a peak of at least 60 bps would have exited.
    const trail = peak >= 60 && moveBps <= peak - 40;
    this.emit({
      type: 'shadow_exit',
      ts: scan.ts,
      tradeId: view.tradeId,
      scan: scan.scan,
      asset: view.asset,
      barsHeld: view.barsHeld,
      price,
      moveBps,
      peakMoveBps: peak,
      shadowAction: trail ? 'EXIT' : 'HOLD',
      shadowReason: trail ? 'TRAILING_GIVEBACK' : 'HOLD',
    });
  }

  private status(now: number, force = false): void {
    this.scansSinceStatus += 1;
    const every = this.o.statusEveryScans ?? 60;
    if (!force && this.scansSinceStatus < every) return;
    this.scansSinceStatus = 0;
    const snap = this.o.account.snapshot();
    this.emit({
      type: 'status',
      ts: now,
      capital: snap.capital,
      equity: snap.equity,
      posture: this.pausedFlag ? 'PAUSED' : 'RUNNING',
      tradesExecuted: this.kernel.tradesClosed(),
      openTradeId: this.kernel.view()?.tradeId ?? '',
      heartbeatAgeMs: 0,
      lastScan: this.lastAccepted ?? -1,
    });
  }

  private emit(event: CanonicalEvent): void {
    if (this.held) this.held.push(event);
    else this.deliver(event);
  }

  private deliver(event: CanonicalEvent): void {
    this.markouts.observe(event);
    this.o.sink(event);
  }
}
