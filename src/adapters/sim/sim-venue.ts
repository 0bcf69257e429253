/**
 * The in-process `sim` venue: deterministic by seed, on the caller's (virtual)
 * clock. Orders fill after a configurable latency, optionally in pieces, at the
 * mark with a slippage model and a taker fee. Faults (rejects, duplicate and
 * reordered callbacks, lost acks, unknown submit outcomes, external closes,
 * liquidations, funding) are drawn from the seeded generator, so the same seed and
 * the same calls always produce the same facts.
 */
import type {
  OpenOrder,
  OrderLookup,
  OrderRequest,
  VenueFact,
  VenuePort,
  VenueSnapshot,
} from '../../domain/venue.js';
import { SubmitOutcomeUnknown } from '../../domain/venue.js';

export interface SimVenueConfig {
  readonly seed: number;
  /** Submit -> last fill, ms. */
  readonly latencyMs: number;
  /** Submit -> ack, ms. */
  readonly ackMs: number;
  /** Number of fills an order is split into. */
  readonly partialFills: number;
  /** Taker fee rate (0.0005 = 5 bps). */
  readonly feeRate: number;
  /** Fixed adverse slippage, bps. */
  readonly slippageBps: number;
  /** Extra adverse slippage, |N(0, jitter)| bps. */
  readonly slippageJitterBps: number;
  readonly rejectRate: number;
  readonly duplicateRate: number;
  readonly reorderRate: number;
  readonly dropAckRate: number;
  /** Submit throws SubmitOutcomeUnknown; half of those still reach the book. */
  readonly submitTimeoutRate: number;
  /** Per drain, per open position. */
  readonly externalCloseRate: number;
  /** Share of external closes that are liquidations. */
  readonly liquidationShare: number;
  readonly fundingIntervalMs: number;
  /** Funding rate magnitude per interval, bps of notional (sign drawn per interval). */
  readonly fundingRateBps: number;
}

export const DEFAULT_SIM_VENUE: SimVenueConfig = {
  seed: 1,
  latencyMs: 40,
  ackMs: 10,
  partialFills: 1,
  feeRate: 0.0005,
  slippageBps: 1,
  slippageJitterBps: 1,
  rejectRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  dropAckRate: 0,
  submitTimeoutRate: 0,
  externalCloseRate: 0,
  liquidationShare: 0.5,
  fundingIntervalMs: 8 * 3600_000,
  fundingRateBps: 1,
};

/** Where the venue reads marks (the pipeline feeds it scan prices). */
export interface MarkBoard {
  price(asset: string): number | undefined;
}

export type Random = () => number;

interface SimOrder {
  readonly req: OrderRequest;
  readonly exchangeOrderId: string;
  filledQty: number;
  status: 'OPEN' | 'FILLED' | 'CANCELLED' | 'REJECTED';
  piecesLeft: number;
  /** When the venue accepted it (its clock); absent in books saved before it was kept. */
  readonly placedTs?: number;
}

/** The order's acceptance time for its done fact, when the book knows it. */
function placed(order: SimOrder): { placedTs?: number } {
  return order.placedTs === undefined ? {} : { placedTs: order.placedTs };
}

interface Scheduled {
  readonly ts: number;
  readonly seq: number;
  readonly run: () => VenueFact[];
}

interface Position {
  qty: number;
  entry: number;
}

/** What survives a restart of the process that hosts the sim venue (orders in flight do not). */
export interface SimBook {
  readonly positions: Array<[string, { qty: number; entry: number }]>;
  readonly orderSeq: number;
  readonly fillSeq: number;
  readonly clock: number;
}

/**
 * Finished orders the venue remembers (for lookup and for recognising a client id sent
 * twice), newest kept; open orders are never forgotten. About four days of orders at the
 * soak's ~460 a day, far longer than any retry or recovery looks back: a process that runs
 * for months must not keep every order it ever saw (the soak found the JS heap growing
 * ~0.5 MB a day with all of them kept).
 */
export const SIM_FINISHED_ORDERS_KEPT = 2_000;

/**
 * The venue's history is kept for a day of its clock (recovery reads from its last
 * checkpoint: minutes), and never more than SIM_HISTORY_KEPT records (a week of a busy
 * single-slot runtime). A long replay holds a day's facts, not the cap's.
 */
export const SIM_HISTORY_MS = 24 * 3_600_000;
export const SIM_HISTORY_KEPT = 20_000;
const HISTORY_TRIM_STEP = 256;

export class SimVenue implements VenuePort {
  readonly name = 'sim';
  private readonly cfg: SimVenueConfig;
  private readonly queue: Scheduled[] = [];
  /** Facts made and not yet read by the connected process. */
  private readonly outbox: VenueFact[] = [];
  /** The venue's history (fills, terminal order states, funding), oldest first: SIM_HISTORY_MS of it. */
  private readonly log: Array<{ asset: string; fact: VenueFact }> = [];
  private readonly orders = new Map<string, SimOrder>();
  private readonly positions = new Map<string, Position>();
  private seq = 0;
  private placed = 0;
  private orderSeq = 0;
  private fillSeq = 0;
  private lastFundingSlot = -1;
  private clock = 0;
  /** Realized PnL less fees and funding since the venue opened (the wallet's change). */
  private walletBalance = 0;
  /** Submits lost on the way (never placed, outcome unknown to the sender). */
  private lostSubmits = 0;

  constructor(
    cfg: Partial<SimVenueConfig>,
    private readonly marks: MarkBoard,
    private readonly random: Random,
  ) {
    this.cfg = { ...DEFAULT_SIM_VENUE, ...cfg };
  }

  async submit(req: OrderRequest): Promise<void> {
    this.clock = Math.max(this.clock, req.ts);
    if (this.lostSubmits > 0) {
      this.lostSubmits -= 1;
      throw new SubmitOutcomeUnknown(`sim: submit of ${req.clientOrderId} lost on the way`);
    }
    if (this.cfg.submitTimeoutRate > 0 && this.random() < this.cfg.submitTimeoutRate) {
      const reached = this.random() < 0.5;
      if (reached) this.place(req);
      throw new SubmitOutcomeUnknown(`sim: submit of ${req.clientOrderId} timed out (reached book: hidden)`);
    }
    this.place(req);
  }

  private place(req: OrderRequest): void {
    const existing = this.orders.get(req.clientOrderId);
    if (existing) return; // same client id twice: the venue keeps the first (idempotent submit)
    const exchangeOrderId = `sim-${++this.orderSeq}`;
    const order: SimOrder = {
      req,
      exchangeOrderId,
      filledQty: 0,
      status: 'OPEN',
      piecesLeft: Math.max(1, this.cfg.partialFills),
      placedTs: req.ts + this.cfg.ackMs,
    };
    this.orders.set(req.clientOrderId, order);
    this.placed += 1;
    this.forgetOldFinished();
    const t0 = req.ts;
    const rejection = this.rejection(req);
    if (rejection) {
      order.status = 'REJECTED';
      this.schedule(t0 + this.cfg.ackMs, () => [
        {
          kind: 'reject',
          clientOrderId: req.clientOrderId,
          code: rejection.code,
          reason: rejection.reason,
          ts: t0 + this.cfg.ackMs,
        },
      ]);
      return;
    }
    if (!(this.cfg.dropAckRate > 0 && this.random() < this.cfg.dropAckRate)) {
      this.schedule(t0 + this.cfg.ackMs, () => [
        {
          kind: 'ack',
          clientOrderId: req.clientOrderId,
          exchangeOrderId,
          ts: t0 + this.cfg.ackMs,
          venueTs: order.placedTs,
        },
      ]);
    }
    const pieces = order.piecesLeft;
    const price = this.fillPrice(req);
    for (let i = 1; i <= pieces; i++) {
      const ts = t0 + Math.round((this.cfg.latencyMs * i) / pieces);
      this.schedule(ts, () => this.fillPiece(order, price, ts));
    }
  }

  private rejection(req: OrderRequest): { code: string; reason: string } | null {
    if (!Number.isFinite(req.qty) || req.qty <= 0)
      return { code: '100400', reason: `invalid quantity ${req.qty}` };
    if (this.marks.price(req.asset) === undefined)
      return { code: '80014', reason: `no market for ${req.asset}` };
    if (req.reduceOnly && (this.positions.get(req.asset)?.qty ?? 0) === 0)
      return { code: '101400', reason: 'no position to close' };
    if (this.cfg.rejectRate > 0 && this.random() < this.cfg.rejectRate)
      return { code: '101204', reason: 'insufficient margin (sim fault)' };
    return null;
  }

  private fillPrice(req: OrderRequest): number {
    const mark = this.marks.price(req.asset) ?? req.referencePrice;
    const jitter =
      this.cfg.slippageJitterBps > 0 ? Math.abs(gauss(this.random)) * this.cfg.slippageJitterBps : 0;
    const bps = this.cfg.slippageBps + jitter;
    return req.side === 'BUY' ? mark * (1 + bps / 10000) : mark * (1 - bps / 10000);
  }

  private fillPiece(order: SimOrder, price: number, ts: number): VenueFact[] {
    if (order.status !== 'OPEN') return [];
    const { req } = order;
    const pos = this.position(req.asset);
    let qty =
      order.piecesLeft === 1 ? req.qty - order.filledQty : req.qty / Math.max(1, this.cfg.partialFills);
    // Reduce-only never flips or grows a position.
    if (req.reduceOnly) qty = Math.min(qty, Math.abs(pos.qty));
    order.piecesLeft -= 1;
    const facts: VenueFact[] = [];
    if (qty > 1e-12) {
      order.filledQty += qty;
      facts.push(
        ...this.execute(req.asset, req.side, qty, price, ts, req.clientOrderId, order.exchangeOrderId, false),
      );
    }
    if (order.piecesLeft === 0 || (req.reduceOnly && pos.qty === 0)) {
      order.status = order.filledQty > 0 ? 'FILLED' : 'CANCELLED';
      facts.push({
        kind: 'order_done',
        clientOrderId: req.clientOrderId,
        exchangeOrderId: order.exchangeOrderId,
        status: order.status === 'FILLED' ? 'FILLED' : 'CANCELLED',
        filledQty: order.filledQty,
        ts,
        ...placed(order),
      });
    }
    return facts;
  }

  private execute(
    asset: string,
    side: 'BUY' | 'SELL',
    qty: number,
    price: number,
    ts: number,
    clientOrderId: string,
    exchangeOrderId: string,
    liquidation: boolean,
  ): VenueFact[] {
    const pos = this.position(asset);
    const signed = side === 'BUY' ? qty : -qty;
    const fee = liquidation ? 0 : qty * price * this.cfg.feeRate;
    if (pos.qty === 0 || Math.sign(pos.qty) === Math.sign(signed)) {
      pos.entry = (pos.entry * Math.abs(pos.qty) + price * qty) / (Math.abs(pos.qty) + qty);
    } else {
      // Reducing: the wallet realizes the move against the average entry on what closed.
      const closed = Math.min(qty, Math.abs(pos.qty));
      this.walletBalance += (price - pos.entry) * closed * Math.sign(pos.qty);
      if (qty > closed) pos.entry = price; // flipped: the rest opens at this price
    }
    this.walletBalance -= fee;
    pos.qty += signed;
    if (Math.abs(pos.qty) < 1e-12) {
      pos.qty = 0;
      pos.entry = 0;
    }
    return [
      {
        kind: 'fill',
        clientOrderId,
        exchangeOrderId,
        fillId: `simfill-${++this.fillSeq}`,
        asset,
        side,
        qty,
        price,
        fee,
        liquidation,
        ts,
      },
      { kind: 'position', asset, qty: pos.qty, entryPrice: pos.entry, ts },
    ];
  }

  async cancel(clientOrderId: string, _asset?: string): Promise<void> {
    const order = this.orders.get(clientOrderId);
    if (order?.status !== 'OPEN') return;
    order.status = 'CANCELLED';
    const ts = this.clock;
    this.schedule(ts, () => [
      {
        kind: 'order_done',
        clientOrderId,
        exchangeOrderId: order.exchangeOrderId,
        status: 'CANCELLED',
        filledQty: order.filledQty,
        ts,
        ...placed(order),
      },
    ]);
  }

  /**
   * The venue acts on its own clock, whether or not anyone listens: scheduled fills,
   * funding and external closes up to `now` happen, are recorded in the history and wait
   * in the connection's outbox.
   */
  advance(now: number): void {
    this.clock = Math.max(this.clock, Number.isFinite(now) ? now : this.clock);
    const made: VenueFact[] = [];
    while (this.queue.length > 0 && this.queue[0]!.ts <= now) made.push(...this.queue.shift()!.run());
    if (Number.isFinite(now)) {
      made.push(...this.funding(now));
      made.push(...this.externalCloses(now));
    }
    for (const fact of made) {
      this.outbox.push(fact);
      if (fact.kind !== 'position' && fact.kind !== 'ack') this.record(fact);
    }
  }

  /** The listening process died: what it had not read yet is gone from the wire (the history keeps it). */
  dropConnection(): void {
    this.outbox.length = 0;
  }

  drain(now: number): VenueFact[] {
    this.advance(now);
    const out: VenueFact[] = [];
    for (const fact of this.outbox.splice(0)) {
      out.push(fact);
      if (this.cfg.duplicateRate > 0 && this.random() < this.cfg.duplicateRate) out.push(fact);
    }
    if (this.cfg.reorderRate > 0) {
      for (let i = 0; i + 1 < out.length; i++) {
        if (this.random() < this.cfg.reorderRate) [out[i], out[i + 1]] = [out[i + 1]!, out[i]!];
      }
    }
    return out;
  }

  private funding(now: number): VenueFact[] {
    const slot = Math.floor(now / this.cfg.fundingIntervalMs);
    if (this.lastFundingSlot < 0 || slot <= this.lastFundingSlot) {
      this.lastFundingSlot = Math.max(this.lastFundingSlot, slot);
      return [];
    }
    this.lastFundingSlot = slot;
    const facts: VenueFact[] = [];
    for (const [asset, pos] of this.positions) {
      if (pos.qty === 0) continue;
      const mark = this.marks.price(asset) ?? pos.entry;
      const rate = ((this.random() < 0.5 ? -1 : 1) * this.cfg.fundingRateBps) / 10000;
      // Longs pay positive funding, shorts receive it.
      const amount = Math.sign(pos.qty) * Math.abs(pos.qty) * mark * rate;
      this.walletBalance -= amount;
      facts.push({
        kind: 'funding',
        id: `simfund-${asset}-${slot}`,
        asset,
        amount,
        ts: slot * this.cfg.fundingIntervalMs,
      });
    }
    return facts;
  }

  private externalCloses(now: number): VenueFact[] {
    if (this.cfg.externalCloseRate <= 0) return [];
    const facts: VenueFact[] = [];
    for (const [asset, pos] of this.positions) {
      if (pos.qty === 0 || this.random() >= this.cfg.externalCloseRate) continue;
      const liquidation = this.random() < this.cfg.liquidationShare;
      facts.push(...this.closeNow(asset, now, liquidation));
    }
    return facts;
  }

  /** Schedules a close the way a web-UI close or a liquidation does: no client order id. */
  injectExternalClose(asset: string, ts: number, liquidation: boolean): void {
    this.schedule(ts, () => this.closeNow(asset, ts, liquidation));
  }

  /** Schedules a manual add on the web UI: a fill on the position's own side without a client order id. */
  injectExternalAdd(asset: string, qty: number, ts: number): void {
    this.schedule(ts, () => {
      const pos = this.position(asset);
      if (pos.qty === 0) return [];
      const side = pos.qty < 0 ? 'SELL' : 'BUY';
      const price = this.marks.price(asset) ?? pos.entry;
      return this.execute(asset, side, qty, price, ts, '', `sim-ext-${++this.orderSeq}`, false);
    });
  }

  private closeNow(asset: string, ts: number, liquidation: boolean): VenueFact[] {
    const pos = this.position(asset);
    if (pos.qty === 0) return [];
    const mark = this.marks.price(asset) ?? pos.entry;
    const side = pos.qty < 0 ? 'BUY' : 'SELL';
    const facts = this.execute(
      asset,
      side,
      Math.abs(pos.qty),
      mark,
      ts,
      '',
      `sim-ext-${++this.orderSeq}`,
      liquidation,
    );
    for (const order of this.orders.values()) {
      if (order.status === 'OPEN' && order.req.asset === asset && order.req.reduceOnly) {
        order.status = 'CANCELLED';
        facts.push({
          kind: 'order_done',
          clientOrderId: order.req.clientOrderId,
          exchangeOrderId: order.exchangeOrderId,
          status: 'CANCELLED',
          filledQty: order.filledQty,
          ts,
          ...placed(order),
        });
      }
    }
    return facts;
  }

  async history(since: number, assets: readonly string[]): Promise<VenueFact[]> {
    const wanted = new Set(assets);
    return this.log.filter((r) => r.fact.ts >= since && wanted.has(r.asset)).map((r) => r.fact);
  }

  private record(fact: VenueFact): void {
    const asset =
      fact.kind === 'fill' || fact.kind === 'funding'
        ? fact.asset
        : fact.kind === 'order_done' || fact.kind === 'reject'
          ? (this.orders.get(fact.clientOrderId)?.req.asset ?? '')
          : '';
    this.log.push({ asset, fact });
    // Trimmed in steps (a splice moves the whole array), once a step's worth has aged out.
    const cutoff = fact.ts - SIM_HISTORY_MS;
    const aged = (this.log[HISTORY_TRIM_STEP]?.fact.ts ?? Number.POSITIVE_INFINITY) < cutoff;
    if (!aged && this.log.length <= SIM_HISTORY_KEPT * 1.25) return;
    let drop = Math.max(0, this.log.length - SIM_HISTORY_KEPT);
    while (drop < this.log.length && this.log[drop]!.fact.ts < cutoff) drop += 1;
    this.log.splice(0, drop);
  }

  async snapshot(): Promise<VenueSnapshot> {
    const positions = [...this.positions]
      .filter(([, p]) => p.qty !== 0)
      .map(([asset, p]) => ({
        kind: 'position' as const,
        asset,
        qty: p.qty,
        entryPrice: p.entry,
        ts: this.clock,
      }));
    const openOrders: OpenOrder[] = [...this.orders.values()]
      .filter((o) => o.status === 'OPEN')
      .map((o) => ({
        clientOrderId: o.req.clientOrderId,
        exchangeOrderId: o.exchangeOrderId,
        asset: o.req.asset,
        side: o.req.side,
        qty: o.req.qty,
        filledQty: o.filledQty,
        reduceOnly: o.req.reduceOnly,
      }));
    return { positions, openOrders };
  }

  async lookup(clientOrderId: string, _asset?: string): Promise<OrderLookup> {
    const o = this.orders.get(clientOrderId);
    if (!o) return { found: false };
    return { found: true, exchangeOrderId: o.exchangeOrderId, status: o.status, filledQty: o.filledQty };
  }

  async close(): Promise<void> {}

  /** The book (positions and counters), so a simulated exchange outlives a runtime restart. */
  exportBook(): SimBook {
    return {
      positions: [...this.positions].filter(([, p]) => p.qty !== 0),
      orderSeq: this.orderSeq,
      fillSeq: this.fillSeq,
      clock: this.clock,
    };
  }

  importBook(book: SimBook): void {
    for (const [asset, p] of book.positions) this.positions.set(asset, { qty: p.qty, entry: p.entry });
    this.orderSeq = book.orderSeq;
    this.fillSeq = book.fillSeq;
    this.clock = book.clock;
  }

  /** The venue's status of an order by client id (invariant checks); undefined = never placed or forgotten. */
  orderStatus(clientOrderId: string): SimOrder['status'] | undefined {
    return this.orders.get(clientOrderId)?.status;
  }

  /** The next `n` submits are lost on the way: never placed, and the sender cannot know. */
  loseNextSubmits(n: number): void {
    this.lostSubmits = n;
  }

  /** The wallet's change since the venue opened: realized PnL - fees - funding (invariant checks). */
  walletChange(): number {
    return this.walletBalance;
  }

  /** A funding payment on an open position now (rate > 0: longs pay). */
  injectFunding(asset: string, rate: number, ts: number): void {
    this.schedule(ts, () => {
      const pos = this.position(asset);
      if (pos.qty === 0) return [];
      const amount = pos.qty * (this.marks.price(asset) ?? pos.entry) * rate;
      this.walletBalance -= amount;
      return [{ kind: 'funding', id: `simfund-${asset}-x${++this.fillSeq}`, asset, amount, ts }];
    });
  }

  /** The venue's own position for an asset, signed (tests and invariant checks). */
  positionOf(asset: string): number {
    return this.positions.get(asset)?.qty ?? 0;
  }

  /** How many orders reached the book in this venue's life. */
  ordersPlaced(): number {
    return this.placed;
  }

  /** Orders the venue still remembers (open ones and the newest finished ones). */
  ordersRemembered(): number {
    return this.orders.size;
  }

  /** Drops the oldest finished orders beyond SIM_FINISHED_ORDERS_KEPT (Map order is placement order). */
  private forgetOldFinished(): void {
    if (this.orders.size <= SIM_FINISHED_ORDERS_KEPT) return;
    for (const [id, o] of this.orders) {
      if (this.orders.size <= SIM_FINISHED_ORDERS_KEPT) return;
      if (o.status !== 'OPEN') this.orders.delete(id);
    }
  }

  nextFactAt(): number | null {
    return this.queue[0]?.ts ?? null;
  }

  /** Facts still scheduled (for end-of-run draining and tests). */
  pending(): number {
    return this.queue.length;
  }

  private position(asset: string): Position {
    let pos = this.positions.get(asset);
    if (!pos) {
      pos = { qty: 0, entry: 0 };
      this.positions.set(asset, pos);
    }
    return pos;
  }

  private schedule(ts: number, run: () => VenueFact[]): void {
    const item = { ts, seq: ++this.seq, run };
    let i = this.queue.length;
    while (
      i > 0 &&
      (this.queue[i - 1]!.ts > ts || (this.queue[i - 1]!.ts === ts && this.queue[i - 1]!.seq > item.seq))
    )
      i--;
    this.queue.splice(i, 0, item);
  }
}

function gauss(random: Random): number {
  const u = Math.max(random(), 1e-12);
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
