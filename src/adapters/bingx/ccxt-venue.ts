/**
 * The `bingx` venue: BingX USDT-M perpetual swaps through ccxt. ccxt does transport,
 * signing and rate limiting; orders go through ccxt's unified createOrder (market
 * metadata applied at the boundary), and the state the kernel consumes is polled from
 * the raw BingX endpoints and translated by `normalize.ts` (the one tested reader of
 * BingX payloads). Polling only — websocket user streams are not used.
 *
 * Safety: the environment and credentials come from `resolveBingxEnv` before the
 * first request; VST (demo) by default, MAINNET only with both flags.
 */
import type { bingx as BingxExchange, MarketInterface as Market } from 'ccxt';
import type {
  AckFact,
  FillFact,
  FundingFact,
  OpenOrder,
  OrderDoneFact,
  OrderLookup,
  OrderRequest,
  PositionFact,
  RejectFact,
  VenueFact,
  VenuePort,
  VenueSnapshot,
} from '../../domain/venue.js';
import { SubmitOutcomeUnknown } from '../../domain/venue.js';
import { type CanonicalError, classifyError } from './errors.js';
import {
  assetToCcxtSymbol,
  assetToSymbol,
  type BingxBalance,
  type BingxOrder,
  balancesIn,
  fillsIn,
  incomeIn,
  ordersIn,
  positionsIn,
  toFillFact,
  toFundingFact,
  toOpenOrder,
  unwrapEnvelope,
  withFillIds,
} from './normalize.js';
import { type BingxEnv, redact, resolveBingxEnv } from './safety.js';

/** Thrown when nothing will work until a human acts (bad key, signature, whitelist, ban). */
export class BingxFatalError extends Error {
  override name = 'BingxFatalError';
}

export interface BingxVenueConfig {
  /** Where env vars are read (DOLPHIN_BINGX_ENV, BINGX_API_KEY, …); default process.env. */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /** Loopback simulator URL: every REST host is pointed here (VST only). */
  readonly baseUrl?: string;
  /** Assets polled from the start (others are added as they are traded or seen in positions). */
  readonly assets?: readonly string[];
  readonly marginMode?: 'cross' | 'isolated';
  /** Per HTTP request (ccxt timeout), ms. */
  readonly requestTimeoutMs?: number;
  /** A submit still unanswered after this long throws SubmitOutcomeUnknown, ms. */
  readonly submitTimeoutMs?: number;
  readonly ordersPollMs?: number;
  readonly positionsPollMs?: number;
  readonly accountPollMs?: number;
  readonly fundingPollMs?: number;
  /** How far back order/fill/income history is read on the first poll, ms. */
  readonly historyLookbackMs?: number;
  /** Each poll re-reads this much before the previous one (late rows; ids dedupe), ms. */
  readonly pollOverlapMs?: number;
  /** A FILLED order waits this long for its fill rows before its done fact goes out anyway, ms. */
  readonly fillGraceMs?: number;
  /** false (default): history that exists at start is known, not replayed as new facts. */
  readonly replayHistoryOnStart?: boolean;
  /** ccxt's minimum spacing between requests, ms (default: ccxt's BingX setting, 100 ms × endpoint weight). */
  readonly rateLimitMs?: number;
  /** Diagnostic lines (never contain credentials). */
  readonly log?: (line: string) => void;
}

export const BINGX_VENUE_DEFAULTS = {
  marginMode: 'cross',
  requestTimeoutMs: 10_000,
  submitTimeoutMs: 10_000,
  ordersPollMs: 1_000,
  positionsPollMs: 1_000,
  accountPollMs: 2_000,
  fundingPollMs: 60_000,
  historyLookbackMs: 3_600_000,
  pollOverlapMs: 60_000,
  fillGraceMs: 5_000,
  replayHistoryOnStart: false,
} as const;

type Settings = Required<
  Omit<BingxVenueConfig, 'environment' | 'baseUrl' | 'assets' | 'log' | 'rateLimitMs'>
>;

const EPS = 1e-9;
/** An asset stays polled this long after its last submit or position change, ms. */
const ACTIVE_WINDOW_MS = 120_000;
/** filledTm has whole seconds, and clocks differ: how much before the start still counts as "before". */
const START_ALLOWANCE_MS = 2_000;

/** Builds the venue: resolves env + credentials (refusing unsafe MAINNET), loads markets once. */
export async function createBingxVenue(cfg: BingxVenueConfig = {}): Promise<BingxCcxtVenue> {
  const env = resolveBingxEnv(cfg.environment ?? process.env);
  if (cfg.baseUrl !== undefined && env.env !== 'VST')
    throw new BingxFatalError('baseUrl (the loopback simulator) is only allowed with DOLPHIN_BINGX_ENV=VST');
  const { environment: _e, baseUrl: _b, assets: _a, log: _l, rateLimitMs: _r, ...rest } = cfg;
  const settings: Settings = { ...BINGX_VENUE_DEFAULTS, ...definedOnly(rest) };
  // Loaded on first use: ccxt takes about 2 s to import, which every other command would pay.
  const { default: ccxt } = await import('ccxt');
  const exchange = new ccxt.bingx({
    apiKey: env.apiKey.reveal(),
    secret: env.apiSecret.reveal(),
    enableRateLimit: true,
    timeout: settings.requestTimeoutMs,
    options: { defaultType: 'swap' },
    ...(cfg.rateLimitMs !== undefined ? { rateLimit: cfg.rateLimitMs } : {}),
  });
  if (env.env === 'VST') exchange.setSandboxMode(true);
  if (cfg.baseUrl !== undefined) pointAt(exchange, cfg.baseUrl);
  const venue = new BingxCcxtVenue(exchange, env, settings, cfg);
  await venue.start();
  return venue;
}

/** Every REST section (swap, spot, user, …) at `${baseUrl}/openApi`, as ccxt's `urls.api` keys name them. */
function pointAt(exchange: BingxExchange, baseUrl: string): void {
  const api = exchange.urls.api as Record<string, string>;
  for (const key of Object.keys(api)) api[key] = `${baseUrl.replace(/\/$/, '')}/openApi`;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Raw BingX endpoints reached through ccxt's implicit API (signed, rate limited). */
interface RawApi {
  swapV2PrivateGetTradeOrder(p: object): Promise<unknown>;
  swapV2PrivateDeleteTradeOrder(p: object): Promise<unknown>;
  swapV2PrivateGetTradeOpenOrders(p: object): Promise<unknown>;
  swapV2PrivateGetTradeAllOrders(p: object): Promise<unknown>;
  swapV2PrivateGetTradeAllFillOrders(p: object): Promise<unknown>;
  swapV2PrivateGetUserPositions(p: object): Promise<unknown>;
  swapV3PrivateGetUserBalance(p: object): Promise<unknown>;
  swapV2PrivateGetUserIncome(p: object): Promise<unknown>;
}

/** A set that forgets its oldest members beyond `limit`. */
class BoundedSet {
  private readonly items = new Set<string>();
  constructor(private readonly limit = 100_000) {}
  has(key: string): boolean {
    return this.items.has(key);
  }
  add(key: string): boolean {
    if (this.items.has(key)) return false;
    this.items.add(key);
    if (this.items.size > this.limit) this.items.delete(this.items.values().next().value as string);
    return true;
  }
}

interface PollClock {
  last: number;
  since: number;
}

export class BingxCcxtVenue implements VenuePort {
  readonly name = 'bingx';
  private readonly raw: RawApi;
  private readonly pending: VenueFact[] = [];
  private readonly emitted = new BoundedSet();
  private readonly orders = new Map<string, BingxOrder>();
  private readonly emittedFillQty = new Map<string, number>();
  private readonly assets = new Set<string>();
  private readonly leverageSet = new Map<string, number>();
  private readonly marginSet = new Set<string>();
  private readonly positions = new Map<string, number>();
  private readonly clocks: Record<'orders' | 'positions' | 'account' | 'funding', PollClock>;
  private balances: BingxBalance[] = [];
  /** Last submit or position change per asset (keeps its history polled a while, see activeAssets). */
  private readonly activity = new Map<string, number>();
  /** Rows older than this were there before the start (see start()). */
  private historyCutoff = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(
    private readonly exchange: BingxExchange,
    private readonly env: BingxEnv,
    private readonly cfg: Settings,
    private readonly extra: Pick<BingxVenueConfig, 'assets' | 'log'>,
  ) {
    this.raw = exchange as unknown as RawApi;
    for (const a of extra.assets ?? []) this.assets.add(a);
    const since = Date.now() - cfg.historyLookbackMs;
    const clock = (): PollClock => ({ last: Number.NEGATIVE_INFINITY, since });
    this.clocks = { orders: clock(), positions: clock(), account: clock(), funding: clock() };
  }

  /**
   * Loads markets once and finds the assets that hold positions or open orders. Unless
   * replaying, history that exists now is known, not new: its ids are marked seen, and
   * rows older than the start (less a 2 s clock allowance) are never emitted later either.
   */
  async start(): Promise<void> {
    await this.call(() => this.exchange.loadMarkets());
    for (const a of this.assets) this.market(a);
    await this.snapshot();
    if (this.cfg.replayHistoryOnStart) return;
    const now = Date.now();
    this.historyCutoff = now - START_ALLOWANCE_MS;
    await this.pollOrders(now, true);
    await this.pollFunding(now, true);
  }

  // ---- VenuePort ------------------------------------------------------------------------------

  async submit(order: OrderRequest): Promise<void> {
    const ts = Date.now();
    const market = this.marketOrReject(order);
    if (!market) return;
    const amount = this.amountOrReject(order, market);
    if (amount === null) return;
    this.assets.add(order.asset);
    this.activity.set(order.asset, ts);
    if (!order.reduceOnly) await this.ensureSetup(market, order);
    const placing = this.call(() =>
      this.exchange.createOrder(
        market.symbol,
        'market',
        order.side === 'BUY' ? 'buy' : 'sell',
        amount,
        undefined,
        {
          clientOrderId: order.clientOrderId,
          ...(order.reduceOnly ? { reduceOnly: true } : {}),
        },
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.cfg.submitTimeoutMs);
    });
    // A late answer after the timeout still becomes an ack (or is dropped if it failed).
    const settled = placing.then(
      (o) => ({ ok: true as const, id: String(o.id) }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    const outcome = await Promise.race([settled, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      void settled.then((late) => late.ok && this.ack(order.clientOrderId, late.id, Date.now()));
      throw new SubmitOutcomeUnknown(
        `bingx: submit of ${order.clientOrderId} unanswered after ${this.cfg.submitTimeoutMs} ms`,
      );
    }
    if (outcome.ok) {
      this.ack(order.clientOrderId, outcome.id, ts);
      return;
    }
    await this.onSubmitError(order, outcome.err, ts);
  }

  async cancel(clientOrderId: string, asset: string): Promise<void> {
    try {
      await this.call(() =>
        this.raw.swapV2PrivateDeleteTradeOrder({ symbol: assetToSymbol(asset), clientOrderId }),
      );
    } catch (err) {
      const e = classifyError(err);
      // Already filled or gone: its terminal state arrives through polling.
      if (e.code === '80016' || e.code === '80018') return;
      throw this.asError(e);
    }
  }

  async drain(now: number): Promise<VenueFact[]> {
    void now; // facts carry exchange time; polls run on the wall clock
    const wall = Date.now();
    const out: VenueFact[] = this.pending.splice(0);
    if (this.due('orders', wall))
      out.push(...(await this.safely('orders', () => this.pollOrders(wall, false))));
    if (this.due('positions', wall))
      out.push(...(await this.safely('positions', () => this.pollPositions(wall))));
    if (this.due('account', wall))
      await this.safely('account', async () => {
        await this.pollAccount();
        return [];
      });
    if (this.due('funding', wall))
      out.push(...(await this.safely('funding', () => this.pollFunding(wall, false))));
    return out;
  }

  /** A failed poll is retried at its next turn (its window was not advanced); fatal errors stop. */
  private async safely<T>(what: string, poll: () => Promise<T[]>): Promise<T[]> {
    try {
      return await poll();
    } catch (err) {
      if (err instanceof BingxFatalError) throw err;
      this.extra.log?.(
        `bingx: ${what} poll failed, retrying next turn: ${this.clean((err as Error).message)}`,
      );
      return [];
    }
  }

  async snapshot(): Promise<VenueSnapshot> {
    const now = Date.now();
    const positionsData = await this.get(() => this.raw.swapV2PrivateGetUserPositions({}));
    const positions = positionsIn(positionsData, now)
      .filter((p) => Math.abs(p.qty) > EPS)
      .map((p) => ({ ...p, ts: now }));
    const openData = await this.get(() => this.raw.swapV2PrivateGetTradeOpenOrders({}));
    const openOrders: OpenOrder[] = ordersIn(openData)
      .filter((o) => o.state === 'OPEN')
      .map(toOpenOrder);
    for (const p of positions) this.assets.add(p.asset);
    for (const o of openOrders) this.assets.add(o.asset);
    return { positions, openOrders };
  }

  async lookup(clientOrderId: string, asset: string): Promise<OrderLookup> {
    const symbol = assetToSymbol(asset);
    let order: BingxOrder | undefined;
    try {
      order = ordersIn(
        await this.get(() => this.raw.swapV2PrivateGetTradeOrder({ symbol, clientOrderId })),
      )[0];
    } catch (err) {
      if (!(err instanceof BingxRequestError) || err.canonical.code !== '80016') throw err;
      order = await this.scanHistoryFor(symbol, clientOrderId);
    }
    if (!order) return { found: false };
    this.remember(order);
    return {
      found: true,
      exchangeOrderId: order.exchangeOrderId,
      status: order.state,
      filledQty: order.filledQty,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.exchange.close?.();
  }

  /** Latest balances from the account poll (USDT first); empty before the first poll. */
  lastBalances(): readonly BingxBalance[] {
    return this.balances;
  }

  // ---- submit helpers ---------------------------------------------------------------------------

  private marketOrReject(order: OrderRequest): Market | null {
    try {
      return this.market(order.asset);
    } catch (err) {
      this.reject(order.clientOrderId, 'BadSymbol', (err as Error).message);
      return null;
    }
  }

  private market(asset: string): Market {
    const symbol = assetToCcxtSymbol(asset);
    const m = this.exchange.markets?.[symbol];
    if (!m) throw new Error(`no BingX swap market ${symbol} for asset ${asset}`);
    return m;
  }

  /** Rounds to the contract's step (contracts = qty / contractSize); refuses below the minimums. */
  private amountOrReject(order: OrderRequest, market: Market): number | null {
    const contractSize = market.contractSize ?? 1;
    const minQty = market.limits.amount?.min ?? 0;
    const minCost = market.limits.cost?.min ?? 0;
    // ccxt truncates to the step; an exit (reduce-only, never flips) rounds to the nearest step instead,
    // so float noise in "what remains" (0.0370609999) cannot leave a dust position behind.
    const step = typeof market.precision?.amount === 'number' ? market.precision.amount : 0;
    const raw = order.qty / contractSize + (order.reduceOnly ? step / 2 : 0);
    let amount = 0;
    try {
      amount = Number(this.exchange.amountToPrecision(market.symbol, raw));
    } catch {
      amount = 0; // ccxt refuses amounts that round to nothing
    }
    if (!(amount > 0) || amount < minQty - EPS) {
      this.reject(
        order.clientOrderId,
        'MIN_QTY',
        `quantity ${order.qty} rounds to ${amount}, below the minimum ${minQty} for ${market.id}`,
      );
      return null;
    }
    const notional = amount * contractSize * order.referencePrice;
    if (!order.reduceOnly && minCost > 0 && notional < minCost - EPS) {
      this.reject(
        order.clientOrderId,
        'MIN_NOTIONAL',
        `notional ${notional.toFixed(4)} USDT is below the minimum ${minCost} USDT for ${market.id}`,
      );
      return null;
    }
    return amount;
  }

  /** Margin mode once per symbol; leverage whenever it changes (BingX wants whole numbers). */
  private async ensureSetup(market: Market, order: OrderRequest): Promise<void> {
    const max = market.limits.leverage?.max ?? Number.POSITIVE_INFINITY;
    const leverage = Math.min(max, Math.max(1, Math.ceil(order.leverage - EPS)));
    try {
      if (!this.marginSet.has(market.symbol)) {
        await this.call(() => this.exchange.setMarginMode(this.cfg.marginMode, market.symbol));
        this.marginSet.add(market.symbol);
      }
      if (this.leverageSet.get(market.symbol) !== leverage) {
        await this.call(() => this.exchange.setLeverage(leverage, market.symbol, { side: 'BOTH' }));
        this.leverageSet.set(market.symbol, leverage);
      }
    } catch (err) {
      const e = classifyError(err);
      if (e.outcome === 'fatal') throw this.asError(e);
      // Nothing was placed: an unknown outcome makes the kernel look up, then resubmit.
      throw new SubmitOutcomeUnknown(
        `bingx: leverage/margin setup for ${market.id} failed: ${this.clean(e.reason)}`,
      );
    }
  }

  private async onSubmitError(order: OrderRequest, err: unknown, ts: number): Promise<void> {
    const e = classifyError(err);
    if (e.code === '109201') {
      // The client id is already on the book: this is a retry of an order that landed.
      const found = await this.lookup(order.clientOrderId, order.asset).catch(() => null);
      if (found?.found) return this.ack(order.clientOrderId, found.exchangeOrderId, ts);
      throw new SubmitOutcomeUnknown(`bingx: ${order.clientOrderId} reported as duplicate but not found yet`);
    }
    if (e.outcome === 'rejected') return this.reject(order.clientOrderId, e.code, e.reason, ts);
    if (e.outcome === 'fatal') throw this.asError(e);
    throw new SubmitOutcomeUnknown(`bingx: submit of ${order.clientOrderId}: ${this.clean(e.reason)}`);
  }

  private ack(clientOrderId: string, exchangeOrderId: string, ts: number): void {
    if (!clientOrderId || !this.emitted.add(`ack:${clientOrderId}`)) return;
    const fact: AckFact = { kind: 'ack', clientOrderId, exchangeOrderId, ts };
    this.pending.push(fact);
  }

  private reject(clientOrderId: string, code: string, reason: string, ts = Date.now()): void {
    const fact: RejectFact = { kind: 'reject', clientOrderId, code, reason: this.clean(reason), ts };
    this.pending.push(fact);
  }

  // ---- polling ----------------------------------------------------------------------------------

  private due(which: keyof BingxCcxtVenue['clocks'], now: number): boolean {
    const cadence = {
      orders: this.cfg.ordersPollMs,
      positions: this.cfg.positionsPollMs,
      account: this.cfg.accountPollMs,
      funding: this.cfg.fundingPollMs,
    }[which];
    return now - this.clocks[which].last >= cadence;
  }

  /** Reads a window [since - overlap, now] and advances the clock after a successful read. */
  private window(which: keyof BingxCcxtVenue['clocks'], now: number): { start: number; commit: () => void } {
    const c = this.clocks[which];
    const start = c.last === Number.NEGATIVE_INFINITY ? c.since : c.since - this.cfg.pollOverlapMs;
    return {
      start,
      commit: () => {
        c.last = now;
        c.since = now;
      },
    };
  }

  /** Orders and fills: acks for orders found by client id, new fills, then terminal states. */
  private async pollOrders(now: number, prime: boolean): Promise<VenueFact[]> {
    const { start, commit } = this.window('orders', now);
    const symbols = this.activeAssets(now, prime).map(assetToSymbol);
    const fresh: BingxOrder[] = [];
    const fillRows = [];
    for (const symbol of symbols) {
      fresh.push(
        ...ordersIn(
          await this.get(() =>
            this.raw.swapV2PrivateGetTradeAllOrders({
              symbol,
              startTime: start,
              endTime: now + 1,
              limit: 1000,
            }),
          ),
        ),
      );
      fillRows.push(
        ...fillsIn(
          await this.get(() =>
            this.raw.swapV2PrivateGetTradeAllFillOrders({
              symbol,
              startTs: start,
              endTs: now + 1,
              tradingUnit: 'CONT',
            }),
          ),
        ),
      );
    }
    fresh.push(...ordersIn(await this.get(() => this.raw.swapV2PrivateGetTradeOpenOrders({}))));
    commit();
    for (const o of fresh) this.remember(o);
    const fills = withFillIds(fillRows).sort((a, b) => a.ts - b.ts);
    if (prime) {
      for (const f of fills) this.markFillSeen(f.fillId, f.exchangeOrderId, f.qty);
      for (const o of this.orders.values()) {
        if (o.clientOrderId) this.emitted.add(`ack:${o.clientOrderId}`);
        if (o.state !== 'OPEN') this.emitted.add(`done:${o.exchangeOrderId}`);
      }
      return [];
    }
    const out: VenueFact[] = [];
    for (const o of fresh) {
      if (o.time < this.historyCutoff) continue;
      if (o.clientOrderId && this.emitted.add(`ack:${o.clientOrderId}`))
        out.push({
          kind: 'ack',
          clientOrderId: o.clientOrderId,
          exchangeOrderId: o.exchangeOrderId,
          ts: o.time,
        });
    }
    for (const f of fills) {
      if (this.emitted.has(`fill:${f.fillId}`)) continue;
      if (f.ts < this.historyCutoff) {
        this.markFillSeen(f.fillId, f.exchangeOrderId, f.qty);
        continue;
      }
      const order =
        this.orders.get(f.exchangeOrderId) ?? (await this.fetchOrderById(f.symbol, f.exchangeOrderId));
      const fact: FillFact = toFillFact(
        { ...f, clientOrderId: f.clientOrderId || order?.clientOrderId || '' },
        order?.side ?? null,
      );
      this.markFillSeen(f.fillId, f.exchangeOrderId, f.qty);
      out.push(fact);
    }
    out.push(...this.doneFacts(now));
    return out;
  }

  /**
   * Assets whose order and fill history is worth a request: an open position, an order
   * not yet reported done, or activity in the last ACTIVE_WINDOW_MS. Idle assets cost
   * nothing (rate limits: BingX allows ~5 requests/s per endpoint).
   */
  private activeAssets(now: number, all: boolean): string[] {
    if (all) return [...this.assets];
    const active = new Set<string>();
    for (const [asset, qty] of this.positions) if (qty !== 0) active.add(asset);
    for (const o of this.orders.values()) {
      const reported = this.emitted.has(`done:${o.exchangeOrderId}`) || !o.clientOrderId;
      if (o.state === 'OPEN' || !reported) active.add(o.asset);
    }
    for (const [asset, at] of this.activity) if (now - at <= ACTIVE_WINDOW_MS) active.add(asset);
    return [...active];
  }

  private markFillSeen(fillId: string, orderId: string, qty: number): void {
    if (this.emitted.add(`fill:${fillId}`))
      this.emittedFillQty.set(orderId, (this.emittedFillQty.get(orderId) ?? 0) + qty);
  }

  /** Terminal states of our orders, each once, after their fills (or after the grace period). */
  private doneFacts(now: number): OrderDoneFact[] {
    const out: OrderDoneFact[] = [];
    for (const o of this.orders.values()) {
      if (o.state === 'OPEN' || o.state === 'REJECTED' || !o.clientOrderId) continue;
      if (this.emitted.has(`done:${o.exchangeOrderId}`)) continue;
      if (o.updateTime < this.historyCutoff) {
        this.emitted.add(`done:${o.exchangeOrderId}`);
        continue;
      }
      const seenQty = this.emittedFillQty.get(o.exchangeOrderId) ?? 0;
      const waiting = seenQty < o.filledQty - EPS && now - o.updateTime < this.cfg.fillGraceMs;
      if (waiting) continue;
      this.emitted.add(`done:${o.exchangeOrderId}`);
      out.push({
        kind: 'order_done',
        clientOrderId: o.clientOrderId,
        exchangeOrderId: o.exchangeOrderId,
        status: o.state,
        filledQty: o.filledQty,
        ts: o.updateTime,
      });
      if (now - o.updateTime > this.cfg.historyLookbackMs) this.orders.delete(o.exchangeOrderId);
    }
    return out;
  }

  /** Positions that changed since the last poll; one that disappeared is reported as 0. */
  private async pollPositions(now: number): Promise<PositionFact[]> {
    const data = await this.get(() => this.raw.swapV2PrivateGetUserPositions({}));
    this.clocks.positions.last = now;
    const current = new Map(positionsIn(data, now).map((p) => [p.asset, p]));
    const out: PositionFact[] = [];
    for (const [asset, p] of current) {
      this.assets.add(asset);
      if (this.positions.get(asset) === p.qty) continue;
      this.positions.set(asset, p.qty);
      this.activity.set(asset, now);
      out.push({ ...p, ts: now });
    }
    for (const [asset, qty] of this.positions) {
      if (current.has(asset) || qty === 0) continue;
      this.positions.set(asset, 0);
      this.activity.set(asset, now); // the closing fill may not be listed yet
      out.push({ kind: 'position', asset, qty: 0, entryPrice: 0, ts: now });
    }
    return out;
  }

  private async pollAccount(): Promise<void> {
    this.balances = balancesIn(await this.get(() => this.raw.swapV3PrivateGetUserBalance({})));
    this.clocks.account.last = Date.now();
  }

  private async pollFunding(now: number, prime: boolean): Promise<FundingFact[]> {
    const { start, commit } = this.window('funding', now);
    const rows = incomeIn(
      await this.get(() =>
        this.raw.swapV2PrivateGetUserIncome({
          incomeType: 'FUNDING_FEE',
          startTime: start,
          endTime: now + 1,
          limit: 1000,
        }),
      ),
    );
    commit();
    const out: FundingFact[] = [];
    for (const row of rows.sort((a, b) => a.ts - b.ts)) {
      const fact = toFundingFact(row);
      if (!fact || !this.emitted.add(`funding:${fact.id}`)) continue;
      if (!prime) out.push(fact);
    }
    return out;
  }

  private async fetchOrderById(symbol: string, orderId: string): Promise<BingxOrder | undefined> {
    const order = ordersIn(await this.get(() => this.raw.swapV2PrivateGetTradeOrder({ symbol, orderId })))[0];
    if (order) this.remember(order);
    return order;
  }

  private async scanHistoryFor(symbol: string, clientOrderId: string): Promise<BingxOrder | undefined> {
    const now = Date.now();
    const start = now - this.cfg.historyLookbackMs;
    const history = ordersIn(
      await this.get(() =>
        this.raw.swapV2PrivateGetTradeAllOrders({ symbol, startTime: start, endTime: now + 1, limit: 1000 }),
      ),
    );
    const open = ordersIn(await this.get(() => this.raw.swapV2PrivateGetTradeOpenOrders({ symbol })));
    return [...open, ...history].find((o) => o.clientOrderId.toLowerCase() === clientOrderId.toLowerCase());
  }

  private remember(o: BingxOrder): void {
    const before = this.orders.get(o.exchangeOrderId);
    // Never let an older view (a lagging list) roll a newer state back.
    if (before && before.updateTime > o.updateTime) return;
    if (before && before.state !== 'OPEN' && o.state === 'OPEN') return;
    this.orders.set(o.exchangeOrderId, o);
  }

  // ---- transport --------------------------------------------------------------------------------

  /** A ccxt call with errors classified; fatal ones become BingxFatalError. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('bingx venue is closed');
    try {
      return await fn();
    } catch (err) {
      if (err instanceof SubmitOutcomeUnknown || err instanceof BingxFatalError) throw err;
      const e = classifyError(err);
      if (e.outcome === 'fatal') throw this.asError(e);
      throw err;
    }
  }

  /** A raw endpoint call, envelope checked; returns `data`. */
  private async get(fn: () => Promise<unknown>): Promise<unknown> {
    let payload: unknown;
    try {
      payload = await this.call(fn);
    } catch (err) {
      if (err instanceof BingxFatalError) throw err;
      throw new BingxRequestError(classifyError(err), this.clean(classifyError(err).reason));
    }
    const env = unwrapEnvelope(payload);
    if (!env.ok) throw new BingxRequestError(env.error, this.clean(env.error.reason));
    return env.data;
  }

  private asError(e: CanonicalError): Error {
    const msg = `bingx ${e.code}: ${this.clean(e.reason)}`;
    return e.outcome === 'fatal' ? new BingxFatalError(msg) : new BingxRequestError(e, msg);
  }

  private clean(text: string): string {
    return redact(text, [this.env.apiKey, this.env.apiSecret]);
  }
}

/** A classified failure of one BingX request (not fatal). */
export class BingxRequestError extends Error {
  override name = 'BingxRequestError';
  constructor(
    readonly canonical: CanonicalError,
    message: string,
  ) {
    super(message);
  }
}
