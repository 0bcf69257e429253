/**
 * ClickHouseEventSink: canonical events -> rows -> the ledger. Stateless rows come from
 * rowsFromEvent; trade stories and per-order execution quality from the
 * TradeStoryCollector; account snapshots pass the volume control (DESIGN.md §7) first.
 * Every row is stamped with the strategy, the run id and the event's sequence number.
 */
import {
  type AccountVolumeConfig,
  AccountVolumeControl,
  type VolumeCounters,
} from '../../domain/account-volume.js';
import type { CanonicalEvent, EventSink } from '../../domain/events.js';
import { TradeStoryCollector } from '../../execution/trade-story.js';
import type { LedgerStore } from '../../ports/ledger.js';
import { accountRow, type MappedRow, rowsFromEvent, stamp, storyOutputRow } from './rows.js';

export interface ClickHouseEventSinkOptions {
  readonly ledger: LedgerStore;
  readonly strategy: string;
  /** Written into run_id (use the ledger's run id so rows and tokens agree). */
  readonly runId: string;
  readonly volume?: AccountVolumeControl | Partial<AccountVolumeConfig>;
  readonly collector?: TradeStoryCollector;
  /** Called when the account-event cap has been exceeded for too many windows. */
  readonly onAlert?: (message: string) => void;
}

export interface SinkCounters {
  readonly events: number;
  readonly rows: Readonly<Record<string, number>>;
  readonly volume: VolumeCounters;
}

export class ClickHouseEventSink {
  readonly volume: AccountVolumeControl;
  private readonly collector: TradeStoryCollector;
  private eventSeq = 0;
  private events = 0;
  private readonly rows: Record<string, number> = {};

  constructor(private readonly o: ClickHouseEventSinkOptions) {
    this.volume = o.volume instanceof AccountVolumeControl ? o.volume : new AccountVolumeControl(o.volume);
    this.collector = o.collector ?? new TradeStoryCollector();
  }

  /** The EventSink to hand to the runtime. */
  readonly sink: EventSink = (event) => this.accept(event);

  accept(event: CanonicalEvent): void {
    this.events += 1;
    this.eventSeq += 1;
    const ctx = { eventSeq: this.eventSeq, runId: this.o.runId };
    if (event.type === 'account') this.acceptAccount(event, ctx);
    else for (const m of rowsFromEvent(event, this.o.strategy, ctx)) this.write(m);
    for (const out of this.collector.observe(event))
      this.write(this.stamped(storyOutputRow(out), ctx.eventSeq));
  }

  /** Writes ended trade stories and everything queued. */
  async flush(): Promise<void> {
    this.drain(false);
    await this.o.ledger.flush();
  }

  /** On shutdown: also writes the stories of trades still open (status OPEN). */
  async close(): Promise<void> {
    this.drain(true);
    await this.o.ledger.flush();
  }

  counters(): SinkCounters {
    return { events: this.events, rows: { ...this.rows }, volume: this.volume.counters() };
  }

  private acceptAccount(
    event: Extract<CanonicalEvent, { type: 'account' }>,
    ctx: { eventSeq: number; runId: string },
  ): void {
    const d = this.volume.offer(event.snapshot, event.cause, event.ts);
    if (d.alert) this.o.onAlert?.(d.alert);
    const row = accountRow(event.snapshot, event.cause, event.ts, d.reason);
    for (const table of d.tables) this.write({ table, row: stamp(table, row, this.o.strategy, ctx) });
  }

  private drain(includeOpen: boolean): void {
    const pending = this.collector.drain(includeOpen);
    if (pending.length === 0) return;
    this.eventSeq += 1;
    for (const out of pending) this.write(this.stamped(storyOutputRow(out), this.eventSeq));
  }

  private stamped(m: MappedRow, eventSeq: number): MappedRow {
    return { table: m.table, row: stamp(m.table, m.row, this.o.strategy, { eventSeq, runId: this.o.runId }) };
  }

  private write(m: MappedRow): void {
    this.o.ledger.insert(m.table, [m.row]);
    this.rows[m.table] = (this.rows[m.table] ?? 0) + 1;
  }
}
