/**
 * TradeStoryCollector: accumulates each trade's events and turns them into
 *  - one trade story per trade (decisions, intents, lifecycle, orders, fills, funding,
 *    legs, corrections, latencies as JSON text), once the trade has ended (closed,
 *    rejected, expired or refused) and again, as an OPEN story, when drained on shutdown;
 *  - one execution-quality record per order once the order is done (reflected on the
 *    exchange, rejected, cancelled or expired), with the DESIGN.md §8 latency legs.
 * Pure bookkeeping over canonical events; no I/O. Field names are the columns of
 * `trade_reconstruction` and `execution_quality`; timestamps are epoch ms here and become
 * ClickHouse text in the ledger adapter (rows.ts). The metrics read the same records, so a
 * latency observation is exactly one `execution_quality` row.
 */
import type { DecisionRecord, Side } from '../domain/decision.js';
import { tradeIdFor } from '../domain/decision.js';
import {
  ARRIVAL_SOURCE,
  type CanonicalEvent,
  type FillEvent,
  MARKOUT_HORIZONS_S,
  type MarkoutEvent,
  type MarkoutHorizon,
  type OrderEvent,
} from '../domain/events.js';
import type { ExitLegRow } from '../domain/exit-legs.js';

/** One finished order (DESIGN.md §8): an `execution_quality` row with epoch-ms timestamps. */
export interface ExecutionQuality {
  readonly ts: number;
  readonly trade_id: string;
  readonly client_order_id: string;
  readonly exchange_order_id: string;
  readonly asset: string;
  readonly purpose: string;
  readonly order_side: 'BUY' | 'SELL' | '';
  readonly final_status: string;
  readonly qty: number;
  readonly filled_qty: number;
  readonly fills: number;
  readonly avg_fill_price: number;
  readonly reference_price: number;
  readonly arrival_price: number;
  readonly arrival_price_source: string;
  readonly slippage_vs_reference_bps: number | null;
  readonly slippage_vs_arrival_bps: number | null;
  readonly decision_to_submit_us: number | null;
  readonly submit_to_ack_us: number | null;
  readonly ack_to_first_fill_us: number | null;
  readonly first_fill_to_done_us: number | null;
  readonly requested_ts: number;
  readonly submit_ts: number | null;
  readonly ack_ts: number | null;
  readonly done_ts: number | null;
  readonly exchange_first_fill_ts: number | null;
  /** The venue's own acceptance time (its clock; compare with exchange_first_fill_ts, not with local times). */
  readonly exchange_ack_ts: number | null;
  readonly exchange_last_fill_ts: number | null;
  readonly fees: number;
  readonly funding: number;
  readonly submit_to_first_fill_us: number | null;
  readonly final_reason: string;
  /** 0 when the order is done; each later version adds the markouts whose horizon passed. */
  readonly row_version: number;
  readonly markout_5s_bps: number | null;
  readonly markout_60s_bps: number | null;
  readonly markout_300s_bps: number | null;
}

/** One version of a trade's story: a `trade_reconstruction` row with epoch-ms timestamps. */
export interface TradeStoryRecord {
  readonly ts: number;
  readonly story_version: number;
  readonly trade_id: string;
  readonly status: string;
  readonly asset: string;
  readonly side: Side | '';
  readonly entry_ts: number | null;
  readonly exit_ts: number | null;
  readonly exit_reason: string;
  readonly pnl: number;
  readonly fees: number;
  readonly funding: number;
  /** JSON text, as stored. */
  readonly decisions: string;
  readonly intents: string;
  readonly lifecycle: string;
  readonly orders: string;
  readonly fills: string;
  readonly funding_events: string;
  readonly legs: string;
  readonly corrections: string;
  readonly latencies: string;
}

/** What the collector completes, in the order it completes them. */
export type StoryOutput =
  | { readonly kind: 'execution_quality'; readonly record: ExecutionQuality }
  | { readonly kind: 'trade_story'; readonly record: TradeStoryRecord };

interface Mark {
  readonly mono: bigint;
  readonly ts: number;
}

interface OrderTrack {
  readonly tradeId: string;
  readonly clientOrderId: string;
  exchangeOrderId: string;
  asset: string;
  purpose: string;
  qty: number;
  filledQty: number;
  avgPrice: number;
  referencePrice: number;
  lastMilestone: string;
  /** Why it ended, from the final milestone (a reject's reason, a cancel's note). */
  finalReason: string;
  requested?: Mark;
  sent?: Mark;
  ack?: Mark;
  firstFill?: Mark;
  filled?: Mark;
  done?: Mark;
  fills: number;
  fees: number;
  exchangeFirstFillTs: number;
  exchangeLastFillTs: number;
  /** The venue's own acceptance time (its clock), 0 until an order event carries it. */
  exchangeAckTs: number;
  arrivalPrice: number;
  arrivalSource: string;
  emitted: boolean;
}

interface Story {
  readonly tradeId: string;
  asset: string;
  side: Side | '';
  status: string;
  entryTs: number | null;
  exitTs: number | null;
  exitReason: string;
  pnl: number;
  fees: number;
  funding: number;
  lastTs: number;
  dirty: boolean;
  terminal: boolean;
  /**
   * Each decision as its JSON text (decision record plus decision_hash): written once,
   * when it happens, instead of an object copy kept alive for the whole trade.
   */
  readonly decisions: string[];
  readonly intents: unknown[];
  readonly lifecycle: unknown[];
  readonly orders: unknown[];
  readonly fills: unknown[];
  readonly fundingEvents: unknown[];
  readonly legs: ExitLegRow[];
  readonly corrections: unknown[];
  readonly latencies: unknown[];
}

/** Filled orders kept for their markouts (a horizon of 300 s is a few hundred scans at most). */
const MAX_AWAITING_MARKOUTS = 10_000;

export type MarkoutColumn = `markout_${MarkoutHorizon}s_bps`;
export const markoutColumn = (horizonS: MarkoutHorizon): MarkoutColumn => `markout_${horizonS}s_bps`;

const ORDER_DONE = new Set(['REFLECTED', 'REJECTED', 'CANCELLED', 'EXPIRED']);
const FILL_MILESTONES = new Set(['PARTIALLY_FILLED', 'FILLED']);

function micros(from: Mark | undefined, to: Mark | undefined): number | null {
  return from && to ? Number((to.mono - from.mono) / 1000n) : null;
}

/** The order reached a milestone after which nothing more happens to it. */
export function isOrderDone(milestone: string): boolean {
  return ORDER_DONE.has(milestone);
}

/** Order side from the trade side and the order's purpose. */
export function orderSide(tradeSide: Side | '', purpose: string): 'BUY' | 'SELL' | '' {
  if (tradeSide === '') return '';
  const opening = purpose === 'ENTRY';
  return (tradeSide === 'SHORT') === opening ? 'SELL' : 'BUY';
}

/** Positive = cost: paid more on a buy, received less on a sell. */
export function slippageBps(side: 'BUY' | 'SELL' | '', fillPrice: number, benchmark: number): number | null {
  if (side === '' || !(fillPrice > 0) || !(benchmark > 0)) return null;
  const diff = side === 'BUY' ? fillPrice - benchmark : benchmark - fillPrice;
  return (diff / benchmark) * 10_000;
}

export interface CollectorOptions {
  /** Decisions kept per story (HOLDs of a long trade); the rest are counted, not stored. */
  readonly maxDecisionsPerTrade?: number;
  /** Ended stories kept for late events (re-emitted with a higher version). */
  readonly keepEnded?: number;
}

/** JSON of the record with `decision_hash` added last: what JSON.stringify({ ...r, decision_hash }) gives. */
export function decisionJson(r: DecisionRecord, hash: string): string {
  const record = JSON.stringify(r);
  return record === '{}'
    ? `{"decision_hash":${JSON.stringify(hash)}}`
    : `${record.slice(0, -1)},"decision_hash":${JSON.stringify(hash)}}`;
}

export class TradeStoryCollector {
  private readonly stories = new Map<string, Story>();
  private readonly orders = new Map<string, OrderTrack>();
  /** The latest execution_quality version of each filled order whose markouts are still to come. */
  private readonly awaitingMarkouts = new Map<string, ExecutionQuality>();
  private strategyTrade = '';
  private version = 0;
  /** Some ended story has rows to write (emitEnded has work). */
  private endedDirty = false;
  private readonly maxDecisions: number;
  private readonly keepEnded: number;

  constructor(opts: CollectorOptions = {}) {
    this.maxDecisions = opts.maxDecisionsPerTrade ?? 1000;
    this.keepEnded = opts.keepEnded ?? 16;
  }

  /** Feeds one event; returns the records it completes. */
  observe(e: CanonicalEvent): StoryOutput[] {
    const out: StoryOutput[] = [];
    if (e.type === 'decision') out.push(...this.emitEnded());
    this.record(e, out);
    return out;
  }

  /** Records of every story not yet written: ended ones and, with `includeOpen`, open ones. */
  drain(includeOpen: boolean): StoryOutput[] {
    const out = this.emitEnded();
    if (!includeOpen) return out;
    for (const s of this.stories.values()) if (!s.terminal && s.dirty) out.push(this.storyRecord(s));
    return out;
  }

  private story(tradeId: string, ts: number): Story | null {
    if (tradeId === '') return null;
    let s = this.stories.get(tradeId);
    if (!s) {
      s = {
        tradeId,
        asset: '',
        side: '',
        status: 'OPEN',
        entryTs: null,
        exitTs: null,
        exitReason: '',
        pnl: 0,
        fees: 0,
        funding: 0,
        lastTs: ts,
        dirty: true,
        terminal: false,
        decisions: [],
        intents: [],
        lifecycle: [],
        orders: [],
        fills: [],
        fundingEvents: [],
        legs: [],
        corrections: [],
        latencies: [],
      };
      this.stories.set(tradeId, s);
    }
    s.lastTs = Math.max(s.lastTs, ts);
    s.dirty = true;
    if (s.terminal) this.endedDirty = true;
    return s;
  }

  private record(e: CanonicalEvent, out: StoryOutput[]): void {
    switch (e.type) {
      case 'decision':
        this.onDecision(e.record, e.decisionHash);
        return;
      case 'markout':
        this.onMarkout(e, out);
        return;
      case 'lifecycle': {
        const s = this.story(e.tradeId, e.ts)!;
        s.asset = e.asset;
        s.side = e.side;
        if (e.state === 'POSITION_OPENED' && s.entryTs === null) s.entryTs = e.ts;
        if (e.state === 'EMPTY' && !s.terminal) this.endStory(s, this.endStatus(s));
        s.lifecycle.push({
          ts: e.ts,
          state: e.state,
          size: e.size,
          client_order_id: e.clientOrderId,
          exchange_order_id: e.exchangeOrderId,
          detail: e.detail,
        });
        return;
      }
      case 'order':
        this.onOrder(e, out);
        return;
      case 'fill':
        this.onFill(e);
        return;
      case 'funding': {
        const s = this.story(e.tradeId, e.ts);
        if (!s) return;
        s.funding += e.amount;
        s.fundingEvents.push({ ts: e.ts, id: e.id, amount: e.amount });
        return;
      }
      case 'exit_leg':
        this.story(e.row.trade_id, e.ts)?.legs.push(e.row);
        return;
      case 'trade_closed': {
        const s = this.story(e.trade.tradeId, e.ts)!;
        const t = e.trade;
        Object.assign(s, { asset: t.asset, side: t.side, entryTs: t.entryTs, exitTs: t.exitTs });
        Object.assign(s, { exitReason: t.exitReason, pnl: t.pnl, fees: t.fees, funding: t.funding });
        this.endStory(s, 'CLOSED');
        out.push(...this.flushOrders(s));
        return;
      }
      case 'correction':
        this.correct(this.story(e.tradeId, e.ts), e.ts, 'correction', e.what, e.detail);
        return;
      case 'strategy_override':
        this.correct(this.story(e.tradeId, e.ts), e.ts, 'override', e.kind, e.venueFact);
        return;
      case 'intent_refused': {
        const s = this.story(e.tradeId, e.ts);
        if (!s) return;
        s.intents.push({ ts: e.ts, intent: e.intent, refused: e.reason });
        this.correct(s, e.ts, 'intent_refused', e.intent, e.reason);
        if (e.intent === 'ENTER' && s.lifecycle.length === 0) this.endStory(s, 'REFUSED');
        return;
      }
      default:
        return;
    }
  }

  private onDecision(r: DecisionRecord, hash: string): void {
    if (r.action === 'ENTER') this.strategyTrade = tradeIdFor(r.asset, r.scan);
    if (r.action === 'NONE' || this.strategyTrade === '') return;
    const s = this.story(this.strategyTrade, r.ts)!;
    if (s.asset === '') s.asset = r.asset;
    if (s.side === '') s.side = r.side;
    if (s.decisions.length < this.maxDecisions) s.decisions.push(decisionJson(r, hash));
    if (r.action === 'ENTER' || r.action === 'EXIT')
      s.intents.push({ ts: r.ts, intent: r.action, scan: r.scan, reason: r.reason });
  }

  private correct(s: Story | null, ts: number, kind: string, what: string, detail: string): void {
    s?.corrections.push({ ts, kind, what, detail });
  }

  private endStatus(s: Story): string {
    const states = s.lifecycle.map((l) => (l as { state: string }).state);
    if (states.includes('ORDER_REJECTED')) return 'REJECTED';
    if (states.includes('ENTRY_EXPIRED')) return 'EXPIRED';
    return 'ENDED';
  }

  private endStory(s: Story, status: string): void {
    s.status = status;
    s.terminal = true;
    this.endedDirty = true;
  }

  private track(e: { tradeId: string; clientOrderId: string; asset: string; ts: number }): OrderTrack {
    let o = this.orders.get(e.clientOrderId);
    if (!o) {
      o = {
        tradeId: e.tradeId,
        clientOrderId: e.clientOrderId,
        exchangeOrderId: '',
        asset: e.asset,
        purpose: '',
        qty: 0,
        filledQty: 0,
        avgPrice: 0,
        referencePrice: 0,
        lastMilestone: '',
        finalReason: '',
        fills: 0,
        fees: 0,
        exchangeFirstFillTs: 0,
        exchangeAckTs: 0,
        exchangeLastFillTs: 0,
        arrivalPrice: 0,
        arrivalSource: '',
        emitted: false,
      };
      this.orders.set(e.clientOrderId, o);
    }
    return o;
  }

  private onOrder(e: OrderEvent, out: StoryOutput[]): void {
    const s = this.story(e.tradeId, e.ts);
    s?.orders.push({
      ts: e.ts,
      mono_ns: e.monoNs.toString(),
      milestone: e.milestone,
      client_order_id: e.clientOrderId,
      exchange_order_id: e.exchangeOrderId,
      purpose: e.purpose,
      qty: e.qty,
      filled_qty: e.filledQty,
      avg_price: e.avgPrice,
      reference_price: e.referencePrice,
      reason: e.reason,
    });
    if (e.clientOrderId === '') return;
    const o = this.track(e);
    Object.assign(o, { asset: e.asset, purpose: e.purpose, qty: e.qty, filledQty: e.filledQty });
    if (e.exchangeOrderId) o.exchangeOrderId = e.exchangeOrderId;
    if (e.avgPrice > 0) o.avgPrice = e.avgPrice;
    if (e.referencePrice > 0) o.referencePrice = e.referencePrice;
    o.lastMilestone = e.milestone;
    if (ORDER_DONE.has(e.milestone) && e.milestone !== 'REFLECTED') o.finalReason = e.reason;
    this.markMilestone(o, e);
    if (ORDER_DONE.has(e.milestone) && !o.emitted) out.push(this.qualityRecord(o, s));
  }

  private markMilestone(o: OrderTrack, e: OrderEvent): void {
    const at: Mark = { mono: e.monoNs, ts: e.ts };
    if (e.venueAckTs > 0 && o.exchangeAckTs === 0) o.exchangeAckTs = e.venueAckTs;
    if (e.milestone === 'REQUESTED') o.requested ??= at;
    if (e.milestone === 'SENT') {
      o.sent ??= at;
      if (o.arrivalSource === '') this.takeArrival(o, e);
    }
    if (e.milestone === 'ACKNOWLEDGED') o.ack ??= at;
    if (FILL_MILESTONES.has(e.milestone)) o.firstFill ??= at;
    if (e.milestone === 'FILLED') o.filled ??= at;
    if (ORDER_DONE.has(e.milestone)) o.done = o.filled ?? at;
  }

  /**
   * Arrival price: the market when the order left, as the kernel took it; never a price from
   * another order or an earlier scan. Without one (no price for the asset), the decision's
   * reference, and the source says so.
   */
  private takeArrival(o: OrderTrack, e: OrderEvent): void {
    if (e.arrivalPrice > 0) {
      o.arrivalPrice = e.arrivalPrice;
      o.arrivalSource = e.arrivalSource || ARRIVAL_SOURCE;
    } else {
      o.arrivalPrice = o.referencePrice;
      o.arrivalSource = 'decision_reference';
    }
  }

  private onFill(e: FillEvent): void {
    const s = this.story(e.tradeId, e.ts);
    if (s) {
      s.fills.push({
        ts: e.ts,
        fill_id: e.fillId,
        client_order_id: e.clientOrderId,
        exchange_order_id: e.exchangeOrderId,
        purpose: e.purpose,
        qty: e.qty,
        price: e.price,
        fee: e.fee,
        realized_pnl: e.realizedPnl,
      });
      s.fees += s.terminal ? 0 : e.fee;
    }
    if (e.clientOrderId === '') return;
    const o = this.track(e);
    o.fills += 1;
    o.fees += e.fee;
    if (o.exchangeFirstFillTs === 0) o.exchangeFirstFillTs = e.ts;
    o.exchangeLastFillTs = Math.max(o.exchangeLastFillTs, e.ts);
  }

  /** Orders of an ended trade that never reached a done milestone: written as they stand. */
  private flushOrders(s: Story): StoryOutput[] {
    return [...this.orders.values()]
      .filter((o) => o.tradeId === s.tradeId && !o.emitted)
      .map((o) => this.qualityRecord(o, s));
  }

  private qualityRecord(o: OrderTrack, s: Story | null): StoryOutput {
    o.emitted = true;
    const side = orderSide(s?.side ?? '', o.purpose);
    const latency = {
      decision_to_submit_us: micros(o.requested, o.sent),
      submit_to_ack_us: micros(o.sent, o.ack),
      ack_to_first_fill_us: micros(o.ack, o.firstFill),
      first_fill_to_done_us: micros(o.firstFill, o.done),
    };
    s?.latencies.push({ client_order_id: o.clientOrderId, ...latency });
    const record: ExecutionQuality = {
      ts: o.done?.ts ?? s?.lastTs ?? o.requested?.ts ?? 0,
      trade_id: o.tradeId,
      client_order_id: o.clientOrderId,
      exchange_order_id: o.exchangeOrderId,
      asset: o.asset,
      purpose: o.purpose,
      order_side: side,
      final_status: o.lastMilestone,
      qty: o.qty,
      filled_qty: o.filledQty,
      fills: o.fills,
      avg_fill_price: o.avgPrice,
      reference_price: o.referencePrice,
      arrival_price: o.arrivalPrice,
      arrival_price_source: o.arrivalSource,
      slippage_vs_reference_bps: o.filledQty > 0 ? slippageBps(side, o.avgPrice, o.referencePrice) : null,
      slippage_vs_arrival_bps: o.filledQty > 0 ? slippageBps(side, o.avgPrice, o.arrivalPrice) : null,
      decision_to_submit_us: latency.decision_to_submit_us,
      submit_to_ack_us: latency.submit_to_ack_us,
      ack_to_first_fill_us: latency.ack_to_first_fill_us,
      first_fill_to_done_us: latency.first_fill_to_done_us,
      requested_ts: o.requested?.ts ?? o.sent?.ts ?? o.done?.ts ?? 0,
      submit_ts: o.sent?.ts ?? null,
      ack_ts: o.ack?.ts ?? null,
      done_ts: o.done?.ts ?? null,
      exchange_first_fill_ts: o.exchangeFirstFillTs > 0 ? o.exchangeFirstFillTs : null,
      exchange_last_fill_ts: o.exchangeLastFillTs > 0 ? o.exchangeLastFillTs : null,
      exchange_ack_ts: o.exchangeAckTs > 0 ? o.exchangeAckTs : null,
      fees: o.fees,
      funding: s?.funding ?? 0,
      submit_to_first_fill_us: micros(o.sent, o.firstFill),
      final_reason: o.finalReason,
      row_version: 0,
      markout_5s_bps: null,
      markout_60s_bps: null,
      markout_300s_bps: null,
    };
    if (record.filled_qty > 0) this.rememberForMarkouts(record);
    return { kind: 'execution_quality', record };
  }

  private rememberForMarkouts(record: ExecutionQuality): void {
    this.awaitingMarkouts.set(record.client_order_id, record);
    if (this.awaitingMarkouts.size > MAX_AWAITING_MARKOUTS)
      this.awaitingMarkouts.delete(this.awaitingMarkouts.keys().next().value!);
  }

  /** Horizons passed for a filled order: its row again, as the next version, never an edit. */
  private onMarkout(e: MarkoutEvent, out: StoryOutput[]): void {
    const base = this.awaitingMarkouts.get(e.clientOrderId);
    if (!base) return;
    const columns: Partial<Record<MarkoutColumn, number>> = {};
    for (const m of e.markouts) columns[markoutColumn(m.horizonS)] = m.bps;
    const record: ExecutionQuality = { ...base, ...columns, row_version: base.row_version + 1 };
    if (e.markouts.some((m) => m.horizonS === MARKOUT_HORIZONS_S.at(-1)))
      this.awaitingMarkouts.delete(e.clientOrderId);
    else this.awaitingMarkouts.set(e.clientOrderId, record);
    out.push({ kind: 'execution_quality', record });
  }

  private emitEnded(): StoryOutput[] {
    // Runs on every decision; most scans end nothing and should not walk the stories.
    if (!this.endedDirty) return [];
    this.endedDirty = false;
    const out: StoryOutput[] = [];
    for (const s of this.stories.values()) if (s.terminal && s.dirty) out.push(this.storyRecord(s));
    this.forgetOldEnded();
    return out;
  }

  private storyRecord(s: Story): StoryOutput {
    s.dirty = false;
    this.version += 1;
    const json = (v: unknown) => JSON.stringify(v);
    return {
      kind: 'trade_story',
      record: {
        ts: s.exitTs ?? s.lastTs,
        story_version: this.version,
        trade_id: s.tradeId,
        status: s.status,
        asset: s.asset,
        side: s.side,
        entry_ts: s.entryTs,
        exit_ts: s.exitTs,
        exit_reason: s.exitReason,
        pnl: s.pnl,
        fees: s.fees,
        funding: s.funding,
        decisions: `[${s.decisions.join(',')}]`,
        intents: json(s.intents),
        lifecycle: json(s.lifecycle),
        orders: json(s.orders),
        fills: json(s.fills),
        funding_events: json(s.fundingEvents),
        legs: json(s.legs),
        corrections: json(s.corrections),
        latencies: json(s.latencies),
      },
    };
  }

  private forgetOldEnded(): void {
    const ended = [...this.stories.values()].filter((s) => s.terminal && !s.dirty);
    for (const s of ended.slice(0, Math.max(0, ended.length - this.keepEnded))) {
      this.stories.delete(s.tradeId);
      for (const [id, o] of this.orders) if (o.tradeId === s.tradeId) this.orders.delete(id);
    }
  }
}
