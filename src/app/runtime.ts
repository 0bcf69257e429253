/**
 * The long-running runtime (`pink run`): recovery, then one serial loop that
 * interleaves scans, venue polling, operator commands and state publication, then a
 * graceful stop. One loop means no two things ever touch the kernel at once.
 */

import type { Journal, JournalState } from '../adapters/files/journal.js';
import { AccountProjection } from '../domain/account.js';
import type { CanonicalEvent, EventSink } from '../domain/events.js';
import type { VenuePort } from '../domain/venue.js';
import type { Strategy } from '../strategy/strategy.js';
import { LatestPrices, Pipeline } from './pipeline.js';
import { type RecoveryReport, recover } from './recovery.js';
import { fanOut } from './replay.js';

export interface ScanInput {
  readonly value: unknown;
  readonly where: string;
  /** Set when the input could not even be parsed: it is refused with this reason. */
  readonly parseError?: string;
}

export interface RuntimeOptions {
  readonly namespace: string;
  readonly strategy: Strategy;
  readonly capital: number;
  readonly journal: Journal;
  readonly makeVenue: (marks: LatestPrices) => Promise<VenuePort> | VenuePort;
  readonly source: AsyncIterable<ScanInput>;
  readonly sinks: readonly EventSink[];
  /** Work done between scans on the loop (operator commands, state publication). */
  readonly onIdle?: ReadonlyArray<(rt: Runtime) => Promise<void>>;
  /** How often the loop wakes up without a scan (venue polling, commands), ms. */
  readonly idleMs?: number;
  readonly unknownPosition?: 'manage' | 'flatten';
  /**
   * Makes everything emitted so far durable (ledger rows inserted or in the fsync'd
   * spool) before the journal records the scan as processed, so a crash can never leave
   * a processed scan whose rows existed only in memory.
   */
  readonly beforeCheckpoint?: () => Promise<void>;
  readonly log: (message: string) => void;
  readonly now?: () => number;
}

/** How many applied operator commands the journal keeps (the state map keeps older ids). */
export const COMMANDS_KEPT = 200;

export type Posture = 'STARTING' | 'RECOVERING' | 'RUNNING' | 'PAUSED' | 'STOPPING' | 'STOPPED';

export class Runtime {
  pipeline!: Pipeline;
  account!: AccountProjection;
  venue!: VenuePort;
  recovery: RecoveryReport | null = null;
  posture: Posture = 'STARTING';
  /** Whether entries were paused (operator or strategy failure) when stop() began. */
  private postureAtStop: boolean | null = null;
  lastEvent: CanonicalEvent | null = null;
  lastDecision: CanonicalEvent | null = null;
  private stopRequested = false;
  private flattenRequested: string | null = null;
  /** [command id, outcome JSON] of the newest operator commands applied, oldest first. */
  private settled: Array<[string, string]> = [];
  private wake: (() => void) | null = null;
  readonly marks = new LatestPrices();
  private emit: EventSink = () => {};
  private readonly now: () => number;

  constructor(private readonly o: RuntimeOptions) {
    this.now = o.now ?? Date.now;
  }

  get strategy(): Strategy {
    return this.o.strategy;
  }

  /** Builds the pipeline from the journal and reconciles with the venue. */
  async start(): Promise<RecoveryReport> {
    this.posture = 'RECOVERING';
    const saved = await this.o.journal.load();
    if (saved && saved.namespace !== this.o.namespace)
      throw new Error(`journal belongs to namespace "${saved.namespace}", not "${this.o.namespace}"`);
    this.account = saved ? AccountProjection.fromState(saved.account) : new AccountProjection(this.o.capital);
    if (saved && saved.strategyName === this.o.strategy.name)
      this.o.strategy.restoreState(saved.strategyState);
    this.venue = await this.o.makeVenue(this.marks);
    const sink = fanOut([
      (e: CanonicalEvent) => {
        this.lastEvent = e;
        if (e.type === 'decision') this.lastDecision = e;
      },
      ...this.o.sinks,
    ]);
    this.emit = sink;
    this.pipeline = new Pipeline({
      strategy: this.o.strategy,
      venue: this.venue,
      account: this.account,
      marks: this.marks,
      namespace: this.o.namespace,
      sink,
      beforeSubmit: (intent) => this.o.journal.intend(intent),
      failClosed: (reason) => {
        if (this.posture === 'RUNNING') this.posture = 'PAUSED';
        this.o.log(
          `ALERT: the strategy failed; no new entries until RESUME (the journal keeps PAUSED): ${reason}`,
        );
      },
    });
    if (saved) this.pipeline.resumeAfter(saved.lastScan, saved.chainHash);
    this.recovery = await recover({
      venue: this.venue,
      pipeline: this.pipeline,
      strategy: this.o.strategy,
      account: this.account,
      journal: saved,
      intents: await this.o.journal.intents(),
      emit: sink,
      now: this.now(),
      unknownPosition: this.o.unknownPosition ?? 'manage',
    });
    // A paused runtime restarted (by its supervisor, after a crash) stays paused until RESUME.
    if (saved?.paused) this.pipeline.setPaused(true);
    this.settled = saved?.commands ? [...saved.commands] : [];
    // A FLATTEN accepted before the crash still applies to the position the venue still has.
    if (saved?.flattenRequested && this.pipeline.kernel.hasTrade)
      this.flattenRequested = saved.flattenRequested;
    await this.saveJournal();
    this.posture = this.pipeline.paused ? 'PAUSED' : 'RUNNING';
    return this.recovery;
  }

  /** Runs until the source ends or stop() is called. */
  async run(): Promise<void> {
    const it = this.o.source[Symbol.asyncIterator]();
    let pending: Promise<IteratorResult<ScanInput>> | null = null;
    const idleMs = this.o.idleMs ?? 250;
    while (!this.stopRequested) {
      pending ??= it.next();
      const next = await Promise.race([pending, this.sleep(this.idleFor(idleMs))]);
      if (this.stopRequested) break;
      if (next && typeof next === 'object' && 'done' in next) {
        pending = null;
        if (next.done) break;
        const input = next.value;
        if (input.parseError !== undefined) this.pipeline.refuse(input.where, input.parseError);
        else await this.pipeline.process(input.value, input.where);
        await this.saveJournal();
      } else {
        await this.pipeline.syncVenue(this.now());
      }
      for (const job of this.o.onIdle ?? []) await job(this);
      if (this.flattenRequested !== null) {
        const why = this.flattenRequested;
        this.flattenRequested = null;
        const r = await this.pipeline.flatten(this.now());
        this.o.log(`FLATTEN (${why}): ${r.accepted ? 'exit submitted' : r.reason}`);
      }
    }
    // A source still waiting for its next item (a live feed gone quiet) would hold return()
    // until that item comes, maybe never: it is closed without waiting, its owner aborts it.
    if (pending) void it.return?.().catch(() => undefined);
    else await it.return?.();
  }

  /** Graceful stop: no new entries, everything flushed, positions left to the venue's truth. */
  async stop(reason: string): Promise<void> {
    if (this.posture === 'STOPPING' || this.posture === 'STOPPED') return;
    this.posture = 'STOPPING';
    this.stopRequested = true;
    this.wake?.();
    // No entries while stopping; the journal keeps the operator's posture, not this pause
    // (else every graceful stop, a deploy's SIGTERM say, would restart paused).
    this.postureAtStop = this.pipeline?.paused ?? false;
    this.pipeline?.setPaused(true);
    if (this.pipeline) {
      await this.pipeline.syncVenue(this.now());
      await this.saveJournal();
    }
    const open = this.pipeline?.kernel.view();
    this.o.log(
      open
        ? `stopping (${reason}): trade ${open.tradeId} stays open on the venue (${open.remainingQty} ${open.asset}); the exchange is the truth and the next start recovers it`
        : `stopping (${reason}): no open position`,
    );
    await this.venue?.close();
    this.posture = 'STOPPED';
  }

  /** Operator FLATTEN: runs on the loop right after the current job (never concurrently). */
  requestFlatten(reason: string): { accepted: boolean; reason: string } {
    if (!this.pipeline.kernel.hasTrade) return { accepted: false, reason: 'no open position to flatten' };
    this.flattenRequested = reason;
    this.wake?.();
    return { accepted: true, reason: 'exit through the normal path, reason FLATTEN' };
  }

  /** Operator capital change: an explicit adjustment, emitted as an event. */
  adjustCapital(
    amount: number,
    kind: 'SET_CAPITAL' | 'CAPITAL_UPDATE',
    commandId: string,
  ): { accepted: boolean; reason: string } {
    if (!(Number.isFinite(amount) && amount > 0))
      return { accepted: false, reason: `amount ${amount} must be > 0` };
    const ts = this.now();
    const delta = this.account.setCapital(amount, ts);
    this.emit({ type: 'capital_adjusted', ts, kind, commandId, delta, capital: this.account.capital });
    this.emit({ type: 'account', ts, snapshot: this.account.snapshot(), cause: kind });
    return { accepted: true, reason: `capital ${this.account.capital} (delta ${delta})` };
  }

  /**
   * Records an operator command's outcome in the same journal checkpoint as its effect
   * (posture, capital, a pending FLATTEN): after a crash, either both hold or neither does.
   */
  async settleCommand(id: string, outcome: string): Promise<void> {
    this.settled.push([id, outcome]);
    if (this.settled.length > COMMANDS_KEPT) this.settled.splice(0, this.settled.length - COMMANDS_KEPT);
    await this.saveJournal();
  }

  /** The applied commands the journal holds, [id, outcome JSON], oldest first. */
  settledCommands(): ReadonlyArray<readonly [string, string]> {
    return this.settled;
  }

  setPaused(paused: boolean): void {
    this.pipeline.setPaused(paused);
    if (this.posture === 'RUNNING' || this.posture === 'PAUSED') this.posture = paused ? 'PAUSED' : 'RUNNING';
  }

  async saveJournal(): Promise<void> {
    await this.o.beforeCheckpoint?.();
    const state: JournalState = {
      version: 1,
      namespace: this.o.namespace,
      strategyName: this.o.strategy.name,
      savedAt: this.now(),
      lastScan: this.pipeline.lastScan,
      chainHash: this.pipeline.chainHash,
      strategyState: this.o.strategy.saveState(),
      trade: this.pipeline.kernel.exportTrade(),
      account: this.account.exportState(),
      venuePositions: this.pipeline.kernel.exportVenuePositions(),
      seenFacts: this.pipeline.appliedFactKeys(),
      paused: this.postureAtStop ?? this.pipeline.paused,
      commands: [...this.settled],
      ...(this.flattenRequested !== null ? { flattenRequested: this.flattenRequested } : {}),
    };
    await this.o.journal.save(state);
  }

  /** Until the venue's next fact is due, at most idleMs: its answers are seen when they happen. */
  private idleFor(idleMs: number): number {
    const due = this.venue?.nextFactAt?.();
    if (due === null || due === undefined) return idleMs;
    return Math.min(idleMs, Math.max(1, due - this.now()));
  }

  private sleep(ms: number): Promise<null> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve(null);
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve(null);
      };
    });
  }
}

/**
 * Paces scans from a generator in real time, restamped with the wall clock. Scans a
 * restarted runtime already processed (`skipThrough`) pass without waiting.
 */
export async function* pacedScans(
  scans: Iterable<{ ts: number; scan: number }>,
  intervalMs: number,
  skipThrough: () => number | null = () => null,
  now: () => number = Date.now,
): AsyncGenerator<ScanInput> {
  for (const scan of scans) {
    const done = skipThrough();
    if (done !== null && scan.scan <= done) continue;
    await new Promise((r) => setTimeout(r, intervalMs));
    yield { value: { ...scan, ts: now() }, where: `live scan ${scan.scan}` };
  }
}
