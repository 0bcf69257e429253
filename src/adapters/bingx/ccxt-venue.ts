/**
 * The `bingx` venue: BingX USDT-M perpetual swaps through ccxt. ccxt does transport,
 * signing and rate limiting; orders go through ccxt's unified createOrder (market
 * metadata applied at the boundary), and the state the kernel consumes is polled from
 * the raw BingX endpoints and translated by `normalize.ts` (the one tested reader of
 * BingX payloads).
 *
 * Streams: unless `streams: false`, ccxt.pro's watchOrders / watchPositions / watchBalance
 * run over BingX's listenKey user stream in the background. A pushed update does not
 * become a fact by itself: it wakes the venue, so the next drain() polls orders, fills,
 * positions (and the balance; funding income after a FUNDING_FEE update) at once instead of
 * at the cadence; the facts still come from
 * the polled rows, deduplicated by exchange ids as before, so nothing is counted twice.
 * If the stream fails, polling at the configured cadence carries on (the fallback) while
 * the stream reconnects with capped exponential backoff; `streamHealth()` reports it.
 *
 * Safety: the environment and credentials come from `resolveBingxEnv` before the
 * first request; VST (demo) by default, MAINNET only with both flags.
 */

import type { MarketInterface as Market, pro } from 'ccxt';
import { BoundedSet } from '../../domain/bounded-set.js';
import type { Arrival } from '../../domain/events.js';
import type {
  AckFact,
  AnomalyFact,
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
import { baseUrlProblem, type Endpoint, endpointProblems, endpointsOf } from './hosts.js';
import {
  assetToCcxtSymbol,
  assetToSymbol,
  type BingxBalance,
  type BingxFill,
  type BingxOrder,
  BingxPayloadError,
  balancesIn,
  fillsWithQuarantine,
  incomeIn,
  normalizeWsAccountUpdate,
  normalizeWsOrderUpdate,
  ordersIn,
  positionsIn,
  type QuarantinedRow,
  toFillFact,
  toFundingFact,
  toOpenOrder,
  unwrapEnvelope,
  withFillIds,
} from './normalize.js';
import { TickerQuotes } from './quotes.js';
import { type BingxEnv, redact, resolveBingxEnv } from './safety.js';

/** ccxt's BingX class with the websocket (pro) methods; it extends the REST class. */
type BingxExchange = InstanceType<typeof pro.bingx>;

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
  /** Watch the private websocket streams (orders, positions, balance) to poll at once on updates. */
  readonly streams?: boolean;
  /** First reconnect delay after a stream error, ms; doubles per failure up to streamBackoffMaxMs. */
  readonly streamBackoffMs?: number;
  readonly streamBackoffMaxMs?: number;
  /** A stream-woken poll waits at least this long after the previous poll of the same kind, ms. */
  readonly streamWakeGapMs?: number;
  /** A ticker update older than this is not the market now (arrival falls back to the scan), ms. */
  readonly quoteMaxAgeMs?: number;
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
  streams: true,
  streamBackoffMs: 500,
  streamBackoffMaxMs: 30_000,
  streamWakeGapMs: 200,
  quoteMaxAgeMs: 5_000,
} as const;

/** What the user-stream side of the venue is doing (for status displays). */
export interface BingxStreamHealth {
  /** false when the venue was built with `streams: false` (polling only). */
  readonly enabled: boolean;
  /** A user-stream websocket is open now. */
  readonly connected: boolean;
  /** Pushed updates received, in total and per event (ORDER_TRADE_UPDATE, ACCOUNT_UPDATE). */
  readonly updates: number;
  readonly updatesBy: { readonly orders: number; readonly account: number };
  readonly lastUpdateAt: number | null;
  /** Stream failures (each followed by a backoff and a reconnect; polling goes on meanwhile). */
  readonly errors: number;
  readonly lastError: string | null;
  readonly lastErrorAt: number | null;
  /** The current reconnect delay, ms (0 while healthy). */
  readonly backoffMs: number;
  /** The market stream (arrival prices): assets watched, with a fresh quote, payloads refused. */
  readonly quotes: { readonly watched: number; readonly fresh: number; readonly rejected: number };
}

type StreamKind = 'orders' | 'positions' | 'balance' | 'ticker';

const streamName = (kind: StreamKind): string =>
  kind === 'ticker' ? 'market stream (ticker)' : `user stream (${kind})`;

type Settings = Required<
  Omit<BingxVenueConfig, 'environment' | 'baseUrl' | 'assets' | 'log' | 'rateLimitMs'>
>;

const EPS = 1e-9;
/** An asset stays polled this long after its last submit or position change, ms. */
const ACTIVE_WINDOW_MS = 120_000;
/** filledTm has whole seconds, and clocks differ: how much before the start still counts as "before". */
const START_ALLOWANCE_MS = 2_000;
const CLOSE_WAIT_MS = 5_000;

/** Whether `p` settled within `ms` (its outcome ignored; the timer never holds the process). */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  const done = p.then(
    () => true as const,
    () => true as const,
  );
  const outcome = await Promise.race([done, late]);
  clearTimeout(timer);
  return outcome;
}

/** Builds the venue: resolves env + credentials (refusing unsafe MAINNET), loads markets once. */
export async function createBingxVenue(cfg: BingxVenueConfig = {}): Promise<BingxCcxtVenue> {
  const env = resolveBingxEnv(cfg.environment ?? process.env);
  const { environment: _e, baseUrl: _b, assets: _a, log: _l, rateLimitMs: _r, ...rest } = cfg;
  const settings: Settings = { ...BINGX_VENUE_DEFAULTS, ...definedOnly(rest) };
  const exchange = await bingxExchange(env.env, cfg.baseUrl, {
    apiKey: env.apiKey.reveal(),
    secret: env.apiSecret.reveal(),
    enableRateLimit: true,
    timeout: settings.requestTimeoutMs,
    options: { defaultType: 'swap' },
    ...(cfg.rateLimitMs !== undefined ? { rateLimit: cfg.rateLimitMs } : {}),
  });
  if (cfg.baseUrl !== undefined)
    // ccxt dials plain ws:// only with an http.Agent loaded (a plain one: no proxy, REST unaffected).
    await exchange.loadHttpProxyAgent();
  // The venue polls positions and balances itself: no REST snapshots behind the watches.
  const options = exchange.options as Record<string, Record<string, unknown> | undefined>;
  options.watchPositions = { ...options.watchPositions, fetchPositionsSnapshot: false };
  options.watchBalance = { ...options.watchBalance, fetchBalanceSnapshot: false };
  // The venue's stream loop owns the reconnect backoff; ccxt's own (1 s doubling to 60 s) would stack on it.
  options.ws = { ...options.ws, backoff: { base: 0, max: 0 } };
  const venue = new BingxCcxtVenue(exchange, env, settings, cfg);
  await venue.start();
  venue.startStreams();
  return venue;
}

/**
 * The ccxt exchange pointed where PINK may go: VST's hosts (sandbox mode), or a loopback
 * base URL (VST only). Refuses, before any network call, a base URL that is not loopback
 * and any endpoint (REST or websocket) that ends up anywhere else.
 */
async function bingxExchange(
  envName: 'VST' | 'MAINNET',
  baseUrl: string | undefined,
  options: Record<string, unknown>,
): Promise<BingxExchange> {
  if (baseUrl !== undefined) {
    if (envName !== 'VST')
      throw new BingxFatalError(
        'baseUrl (the loopback simulator) is only allowed with DOLPHIN_BINGX_ENV=VST',
      );
    const problem = baseUrlProblem(baseUrl);
    if (problem) throw new BingxFatalError(`bingx base URL refused: ${problem}`);
  }
  // Loaded on first use: ccxt takes about 2 s to import, which every other command would pay.
  const { default: ccxt } = await import('ccxt');
  const exchange = new ccxt.pro.bingx(options);
  markSendFailuresHandled(exchange);
  if (envName === 'VST') exchange.setSandboxMode(true);
  if (baseUrl !== undefined) pointAt(exchange, baseUrl);
  const problems = endpointProblems(exchangeEndpoints(exchange), { env: envName, baseUrl });
  if (problems.length) throw new BingxFatalError(`bingx endpoints refused: ${problems.join('; ')}`);
  return exchange;
}

/** The part of ccxt's websocket client the guard below touches. */
interface SendingClient {
  send(message: unknown): Promise<unknown>;
}

/**
 * ccxt's watch path sends a throttled subscription without holding the send's promise
 * (`client.throttle(cost).then(() => { client.send(message); })` in ccxt's Exchange.js):
 * a socket that starts closing at that moment rejects a promise nobody holds, and an
 * unhandled rejection ends a Node process (the runtime with it). Each client's sends are
 * marked handled here; a caller that holds the promise still sees the failure, and the
 * closing socket rejects the watchers' futures, which reconnect, as on any drop.
 */
export function markSendFailuresHandled(exchange: { client(url: string): unknown }): void {
  const client = exchange.client.bind(exchange);
  const guarded = new WeakSet<object>();
  exchange.client = (url: string) => {
    const c = client(url) as SendingClient;
    if (!guarded.has(c)) {
      guarded.add(c);
      const send = c.send.bind(c);
      c.send = (message: unknown) => {
        const sent = send(message);
        sent.catch(() => {});
        return sent;
      };
    }
    return c;
  };
}

function exchangeEndpoints(exchange: BingxExchange): Endpoint[] {
  return endpointsOf(exchange.urls as { api?: unknown }, String(exchange.hostname));
}

/**
 * Every endpoint (REST and websocket) the bingx venue would use with these settings, and
 * what is wrong with them; no credentials, no network (`pink ctl mode-verify`).
 */
export async function plannedBingxEndpoints(
  envName: 'VST' | 'MAINNET',
  baseUrl: string | undefined,
): Promise<{ endpoints: Endpoint[]; problems: string[] }> {
  try {
    const exchange = await bingxExchange(envName, baseUrl, {});
    return { endpoints: exchangeEndpoints(exchange), problems: [] };
  } catch (err) {
    return { endpoints: [], problems: [(err as Error).message] };
  }
}

/**
 * Every REST section (swap, spot, user, …) at `${baseUrl}/openApi`, as ccxt's `urls.api` keys
 * name them, and every websocket URL in `urls.api.ws` (an object keyed by market type) at the
 * same host and port over ws://, path kept (`/swap-market` for linear swaps).
 */
function pointAt(exchange: BingxExchange, baseUrl: string): void {
  const base = baseUrl.replace(/\/$/, '');
  const origin = new URL(base);
  const wsOrigin = `${origin.protocol === 'https:' ? 'wss:' : 'ws:'}//${origin.host}`;
  const api = exchange.urls.api as Record<string, unknown>;
  const ws = (typeof api.ws === 'object' && api.ws !== null ? api.ws : {}) as Record<string, unknown>;
  for (const key of Object.keys(api)) if (key !== 'ws') api[key] = `${base}/openApi`;
  const pointed: Record<string, string> = { linear: `${wsOrigin}/swap-market` };
  for (const [type, url] of Object.entries(ws))
    if (typeof url === 'string') pointed[type] = `${wsOrigin}${new URL(url).pathname}`;
  api.ws = pointed;
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
  userAuthPrivateDeleteUserDataStream(p: object): Promise<unknown>;
}

interface PollClock {
  last: number;
  since: number;
}

export class BingxCcxtVenue implements VenuePort {
  readonly name = 'bingx';
  private readonly raw: RawApi;
  private readonly pending: VenueFact[] = [];
  private readonly emitted = new BoundedSet(100_000);
  private readonly orders = new Map<string, BingxOrder>();
  private readonly emittedFillQty = new Map<string, number>();
  private readonly assets = new Set<string>();
  private readonly leverageSet = new Map<string, number>();
  private readonly marginSet = new Set<string>();
  private readonly positions = new Map<string, number>();
  private quarantinedRows = 0;
  private readonly clocks: Record<'orders' | 'positions' | 'account' | 'funding', PollClock>;
  private balances: BingxBalance[] = [];
  /** Last submit or position change per asset (keeps its history polled a while, see activeAssets). */
  private readonly activity = new Map<string, number>();
  /** Rows older than this were there before the start (see start()). */
  private historyCutoff = Number.NEGATIVE_INFINITY;
  private closed = false;
  /** Set by a pushed update: the next drain() polls this kind without waiting for its cadence. */
  private readonly woken = { orders: false, positions: false, account: false, funding: false };
  private readonly stream = {
    updatesBy: { orders: 0, account: 0 },
    lastUpdateAt: null as number | null,
    errors: 0,
    lastError: null as string | null,
    lastErrorAt: null as number | null,
    backoffMs: 0,
    failing: false,
  };
  private streamLoops: Promise<void>[] = [];
  private streamsStarted = false;
  /** The venue's market per asset (ticker pushes), for arrival prices. */
  private readonly quotes: TickerQuotes;
  /** Exchange symbol id (BTC-USDT) -> asset, of the tickers watched. */
  private readonly quoteSymbols = new Map<string, string>();
  /** Wakes the stream loops out of a backoff sleep (close()). */
  private readonly sleepers = new Set<() => void>();
  /** ccxt's delayed calls (listenKey keep-alive), one per method, cleared on close. */
  private readonly ccxtTimers = new Map<unknown, NodeJS.Timeout>();

  constructor(
    private readonly exchange: BingxExchange,
    private readonly env: BingxEnv,
    private readonly cfg: Settings,
    private readonly extra: Pick<BingxVenueConfig, 'assets' | 'log'>,
  ) {
    this.raw = exchange as unknown as RawApi;
    this.quotes = new TickerQuotes(cfg.quoteMaxAgeMs);
    this.trackCcxtTimers();
    this.hookMessages();
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

  /** Starts the background watches (after start(); a no-op with `streams: false`). */
  startStreams(): void {
    if (!this.cfg.streams || this.closed || this.streamLoops.length > 0) return;
    // The watches subscribe, keep the connection and report its failures; the frames
    // themselves are read by the handleMessage hook (see hookMessages), which sees every one.
    const loops = [
      this.streamLoop('orders', () => this.exchange.watchOrders()),
      this.streamLoop('positions', () => this.exchange.watchPositions()),
      this.streamLoop('balance', () => this.exchange.watchBalance()),
    ];
    // The loops catch everything themselves; this only keeps a bug from becoming an unhandled rejection.
    this.streamLoops = loops.map((l) => this.guarded(l));
    this.streamsStarted = true;
    for (const asset of this.assets) this.watchQuote(asset);
  }

  private guarded(loop: Promise<void>): Promise<void> {
    return loop.catch((err: unknown) =>
      this.extra.log?.(`bingx: stream loop ended: ${this.clean(String(err))}`),
    );
  }

  /** An asset PINK trades or holds: its history is polled and its market watched. */
  private track(asset: string): void {
    this.assets.add(asset);
    this.watchQuote(asset);
  }

  /** Subscribes the asset's ticker (once; after the streams started, never after close). */
  private watchQuote(asset: string): void {
    if (!this.streamsStarted || this.closed) return;
    let market: Market;
    try {
      market = this.market(asset);
    } catch {
      return; // not a BingX swap: nothing to watch (submit refuses it on its own)
    }
    const id = market.id ?? '';
    if (id === '' || this.quoteSymbols.has(id)) return;
    this.quoteSymbols.set(id, asset);
    this.streamLoops.push(
      this.guarded(this.streamLoop('ticker', () => this.exchange.watchTicker(market.symbol))),
    );
  }

  /** The venue's market for the asset now (a fresh ticker), for the order about to leave. */
  quote(asset: string): Arrival | undefined {
    return this.quotes.quote(asset);
  }

  /** Stream state: connected, updates received, the last error. */
  streamHealth(): BingxStreamHealth {
    const s = this.stream;
    const updatesBy = { ...s.updatesBy };
    return {
      enabled: this.cfg.streams,
      connected: this.cfg.streams && !this.closed && this.streamSocketOpen(),
      updates: updatesBy.orders + updatesBy.account,
      updatesBy,
      lastUpdateAt: s.lastUpdateAt,
      errors: s.errors,
      lastError: s.lastError,
      lastErrorAt: s.lastErrorAt,
      backoffMs: s.backoffMs,
      quotes: { watched: this.quoteSymbols.size, ...this.quotes.health() },
    };
  }

  // ---- VenuePort ------------------------------------------------------------------------------

  async submit(order: OrderRequest): Promise<void> {
    const ts = Date.now();
    const market = this.marketOrReject(order);
    if (!market) return;
    const amount = this.amountOrReject(order, market);
    if (amount === null) return;
    this.track(order.asset);
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
      (o) => ({ ok: true as const, id: String(o.id), venueTs: o.timestamp }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    const outcome = await Promise.race([settled, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      void settled.then(
        (late) => late.ok && this.ack(order.clientOrderId, late.id, Date.now(), late.venueTs),
      );
      throw new SubmitOutcomeUnknown(
        `bingx: submit of ${order.clientOrderId} unanswered after ${this.cfg.submitTimeoutMs} ms`,
      );
    }
    if (outcome.ok) {
      this.ack(order.clientOrderId, outcome.id, ts, outcome.venueTs);
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
    if (this.dueOrWoken('orders', wall))
      out.push(...(await this.safely('orders', () => this.pollOrders(wall, false))));
    if (this.dueOrWoken('positions', wall))
      out.push(...(await this.safely('positions', () => this.pollPositions(wall))));
    if (this.dueOrWoken('account', wall))
      await this.safely('account', async () => {
        await this.pollAccount();
        return [];
      });
    if (this.dueOrWoken('funding', wall))
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
    // Held positions become the baseline the position polls compare with, marked as not yet
    // reported (NaN): the next poll reports each once, and one that goes away in between (a
    // fill during recovery) is reported as 0.
    for (const p of positions) {
      this.track(p.asset);
      if (!this.positions.has(p.asset)) this.positions.set(p.asset, Number.NaN);
    }
    for (const o of openOrders) this.track(o.asset);
    return { positions, openOrders };
  }

  /**
   * The venue's record for `assets` from `since`: every fill (the venue's price, fee and id),
   * the terminal state of every order PINK sent, and funding, in time order. Read whole (not
   * through the poll windows), so what happened while PINK was down is booked from it.
   */
  async history(since: number, assets: readonly string[]): Promise<VenueFact[]> {
    const now = Date.now();
    const out: VenueFact[] = [];
    for (const asset of new Set(assets)) {
      this.track(asset);
      const symbol = assetToSymbol(asset);
      const orders = await this.readOrders(symbol, since, now);
      for (const o of orders) this.remember(o);
      const read = await this.readFills(symbol, since, now);
      out.push(...this.quarantine(read.quarantined, now));
      for (const f of withFillIds(read.fills)) {
        const fact = await this.fillFact(f, now, out, false);
        if (fact) out.push(fact);
      }
      for (const o of orders) {
        if (o.state === 'OPEN' || !o.clientOrderId) continue;
        this.emitted.add(`done:${o.exchangeOrderId}`);
        if (o.state !== 'REJECTED') out.push(doneFact(o, o.state));
      }
    }
    const wanted = new Set(assets);
    for (const row of await this.readIncome(since, now)) {
      const fact = toFundingFact(row);
      if (fact && wanted.has(fact.asset)) {
        this.emitted.add(`funding:${fact.id}`);
        out.push(fact);
      }
    }
    // Time order; at one instant an order's fills before its terminal state.
    const rank = (f: VenueFact) => (f.kind === 'order_done' ? 1 : 0);
    return out.sort((a, b) => a.ts - b.ts || rank(a) - rank(b));
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
    if (this.closed) return;
    this.closed = true;
    for (const wake of this.sleepers) wake();
    const listenKey = (this.exchange.options as { listenKey?: unknown }).listenKey;
    // Rejects the pending watches (ExchangeClosedByUser) and closes the websockets. Bounded:
    // a socket that never finishes closing must not keep a replay or a shutdown waiting.
    const closing = Promise.resolve(this.exchange.close?.()).then(() => Promise.allSettled(this.streamLoops));
    if (!(await settledWithin(closing, CLOSE_WAIT_MS)))
      this.extra.log?.(`bingx: the user streams did not close within ${CLOSE_WAIT_MS} ms; left behind`);
    for (const t of this.ccxtTimers.values()) clearTimeout(t);
    this.ccxtTimers.clear();
    // BingX keeps a listenKey for 60 minutes: give it back rather than leave one per restart.
    if (typeof listenKey === 'string' && listenKey !== '') await this.releaseListenKey(listenKey);
  }

  /** Deletes the user stream's listenKey; a failure is recorded in streamHealth, never thrown. */
  private async releaseListenKey(listenKey: string): Promise<void> {
    try {
      await this.raw.userAuthPrivateDeleteUserDataStream({ listenKey });
    } catch (err) {
      const message = this.clean(
        err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        listenKey,
      );
      this.stream.lastError = `listenKey release: ${message}`;
      this.stream.lastErrorAt = Date.now();
      this.extra.log?.(
        `bingx: could not release the user stream's listenKey (BingX expires it in 60 min): ${message}`,
      );
    }
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

  /** `venueTs`: BingX's time in its answer, when ccxt parsed one (a finite epoch ms). */
  private ack(clientOrderId: string, exchangeOrderId: string, ts: number, venueTs?: number): void {
    if (!clientOrderId || !this.emitted.add(`ack:${clientOrderId}`)) return;
    this.pending.push(ackFact(clientOrderId, exchangeOrderId, ts, venueTs));
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

  /**
   * Due at the cadence, or woken by a pushed update (at most every streamWakeGapMs). The flag
   * is cleared before the poll, so an update that lands during the poll wakes the next one.
   */
  private dueOrWoken(which: keyof BingxCcxtVenue['woken'], now: number): boolean {
    if (this.due(which, now)) {
      this.woken[which] = false;
      return true;
    }
    if (!this.woken[which] || now - this.clocks[which].last < this.cfg.streamWakeGapMs) return false;
    this.woken[which] = false;
    return true;
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
    const quarantined: QuarantinedRow[] = [];
    for (const symbol of symbols) {
      fresh.push(...(await this.readOrders(symbol, start, now)));
      const read = await this.readFills(symbol, start, now);
      fillRows.push(...read.fills);
      quarantined.push(...read.quarantined);
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
    const out: VenueFact[] = this.quarantine(quarantined, now);
    for (const o of fresh) {
      if (o.time < this.historyCutoff) continue;
      const ack = this.recordAck(o);
      if (ack) out.push(ack);
    }
    for (const f of fills) {
      if (this.emitted.has(`fill:${f.fillId}`)) continue;
      if (f.ts < this.historyCutoff) {
        this.markFillSeen(f.fillId, f.exchangeOrderId, f.qty);
        continue;
      }
      const fact = await this.fillFact(f, now, out);
      if (fact) out.push(fact);
    }
    out.push(...this.doneFacts(now));
    return out;
  }

  private async readOrders(symbol: string, since: number, now: number): Promise<BingxOrder[]> {
    return ordersIn(
      await this.get(() =>
        this.raw.swapV2PrivateGetTradeAllOrders({ symbol, startTime: since, endTime: now + 1, limit: 1000 }),
      ),
    );
  }

  private async readFills(symbol: string, since: number, now: number) {
    return fillsWithQuarantine(
      await this.get(() =>
        this.raw.swapV2PrivateGetTradeAllFillOrders({
          symbol,
          startTs: since,
          endTs: now + 1,
          tradingUnit: 'CONT',
        }),
      ),
    );
  }

  /**
   * The first sight of one of PINK's order records acks the order, or, when createOrder's
   * answer (which has no time) acked it already, gives BingX's own acceptance time; once.
   */
  private recordAck(o: BingxOrder): AckFact | null {
    if (!o.clientOrderId) return null;
    const first = this.emitted.add(`ack:${o.clientOrderId}`);
    const venueTime = o.time > 0 && this.emitted.add(`venue-ack:${o.clientOrderId}`);
    if (!first && !venueTime) return null;
    return ackFact(o.clientOrderId, o.exchangeOrderId, o.time, o.time);
  }

  /** One fill as a fact (its order looked up for the side and client id), marked seen; unreadable: quarantined into `out`. */
  private async fillFact(
    f: BingxFill & { fillId: string },
    now: number,
    out: VenueFact[],
    live = true,
  ): Promise<FillFact | null> {
    const order =
      this.orders.get(f.exchangeOrderId) ?? (await this.fetchOrderById(f.symbol, f.exchangeOrderId));
    // Live: the order's record, however it was found, gives its acceptance time before its
    // first fill. (Recovery's history books fills and terminal states only.)
    const ack = live && order && order.time >= this.historyCutoff ? this.recordAck(order) : null;
    if (ack) out.push(ack);
    let fact: FillFact;
    try {
      fact = toFillFact(
        { ...f, clientOrderId: f.clientOrderId || order?.clientOrderId || '' },
        order?.side ?? null,
      );
    } catch (err) {
      if (!(err instanceof BingxPayloadError)) throw err;
      out.push(...this.quarantine([{ key: `fill:${f.fillId}`, error: err.message, excerpt: f.fillId }], now));
      return null;
    }
    // A new fill moved the position: the next poll reports it whatever it then is. A
    // position opened and closed between two polls was never seen non-zero, so its flat
    // state was never reported and the trade waited for it forever.
    if (this.markFillSeen(f.fillId, f.exchangeOrderId, f.qty)) this.positions.set(fact.asset, Number.NaN);
    return fact;
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

  /** Unreadable rows: each reported once as an anomaly fact (a correction event downstream). */
  private quarantine(rows: readonly QuarantinedRow[], now: number): AnomalyFact[] {
    const out: AnomalyFact[] = [];
    for (const row of rows) {
      if (!this.emitted.add(row.key)) continue;
      this.quarantinedRows += 1;
      this.extra.log?.(
        `bingx: quarantined an unreadable fill row (${row.error}): ${this.clean(row.excerpt)}`,
      );
      out.push({
        kind: 'anomaly',
        key: row.key,
        what: 'VENUE_ROW_QUARANTINED',
        detail: `allFillOrders row ${this.clean(row.excerpt)} cannot be read (${this.clean(row.error)}); set aside, the other rows were processed`,
        ts: now,
      });
    }
    return out;
  }

  /** Venue rows set aside as unreadable since start. */
  quarantinedCount(): number {
    return this.quarantinedRows;
  }

  /** True when the fill is new. */
  private markFillSeen(fillId: string, orderId: string, qty: number): boolean {
    if (!this.emitted.add(`fill:${fillId}`)) return false;
    this.emittedFillQty.set(orderId, (this.emittedFillQty.get(orderId) ?? 0) + qty);
    return true;
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
      out.push(doneFact(o, o.state));
    }
    this.forgetOldOrders(now);
    return out;
  }

  /**
   * Forgets finished orders older than the history lookback once they are reported: the
   * history poll no longer returns them, and kept they would make the map (and every drain,
   * which walks it) grow with each order for as long as the process runs.
   */
  private forgetOldOrders(now: number): void {
    for (const [id, o] of this.orders) {
      if (o.state === 'OPEN' || now - o.updateTime <= this.cfg.historyLookbackMs) continue;
      const reported = !o.clientOrderId || o.state === 'REJECTED' || this.emitted.has(`done:${id}`);
      if (!reported) continue;
      this.orders.delete(id);
      this.emittedFillQty.delete(id);
    }
  }

  /** Orders the venue keeps track of (open, and finished ones within the history lookback). */
  trackedOrders(): number {
    return this.orders.size;
  }

  /** Positions that changed since the last poll; one that disappeared is reported as 0. */
  private async pollPositions(now: number): Promise<PositionFact[]> {
    const data = await this.get(() => this.raw.swapV2PrivateGetUserPositions({}));
    this.clocks.positions.last = now;
    const current = new Map(positionsIn(data, now).map((p) => [p.asset, p]));
    const out: PositionFact[] = [];
    for (const [asset, p] of current) {
      this.track(asset);
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
    const rows = await this.readIncome(start, now);
    commit();
    const out: FundingFact[] = [];
    for (const row of rows.sort((a, b) => a.ts - b.ts)) {
      const fact = toFundingFact(row);
      if (!fact || !this.emitted.add(`funding:${fact.id}`)) continue;
      if (!prime) out.push(fact);
    }
    return out;
  }

  /** Funding payments (income FUNDING_FEE) from `since` to `now`. */
  private async readIncome(since: number, now: number) {
    return incomeIn(
      await this.get(() =>
        this.raw.swapV2PrivateGetUserIncome({
          incomeType: 'FUNDING_FEE',
          startTime: since,
          endTime: now + 1,
          limit: 1000,
        }),
      ),
    );
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

  // ---- user streams -----------------------------------------------------------------------------

  /**
   * One watch in a loop: each resolution is an update. On an error: record it, back off
   * (capped exponential; polling carries on at its cadence meanwhile), then watch again,
   * which reconnects. After 3 failures in a row (then every 20th) the listenKey is dropped so
   * the next watch asks for a fresh one (an expired or deleted key would be refused forever).
   * The first failure of a streak is logged, then every 10th.
   */
  private async streamLoop(kind: StreamKind, watchOnce: () => Promise<unknown>): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      try {
        await watchOnce();
        if (this.closed) return;
        failures = 0;
        this.stream.backoffMs = 0;
        if (this.stream.failing) {
          this.stream.failing = false;
          this.extra.log?.(`bingx: ${streamName(kind)} receiving again`);
        }
      } catch (err) {
        if (this.closed) return;
        failures += 1;
        const delay = Math.min(
          this.cfg.streamBackoffMaxMs,
          this.cfg.streamBackoffMs * 2 ** Math.min(failures - 1, 20),
        );
        const message = this.clean(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
        this.stream.errors += 1;
        this.stream.lastError = `${kind}: ${message}`;
        this.stream.lastErrorAt = Date.now();
        this.stream.backoffMs = delay;
        this.stream.failing = true;
        if (failures === 1 || failures % 10 === 0)
          this.extra.log?.(
            `bingx: ${streamName(kind)} failed ${failures}x, polling continues; reconnecting in ${delay} ms: ${message}`,
          );
        if (kind === 'orders' && (failures === 3 || failures % 20 === 0)) this.forgetListenKey();
        await this.sleep(delay);
      }
    }
  }

  /**
   * Every decoded frame of every ccxt websocket passes here before ccxt's own handler. A
   * watch future resolves once per wait, so two frames back to back can resolve it once;
   * this sees each frame, and the full event, which normalize.ts reads directly.
   */
  private hookMessages(): void {
    const ex = this.exchange as unknown as { handleMessage: (client: unknown, message: unknown) => unknown };
    const ccxtHandler = ex.handleMessage.bind(this.exchange);
    ex.handleMessage = (client, message) => {
      this.onPush(message);
      return ccxtHandler(client, message);
    };
  }

  /**
   * ORDER_TRADE_UPDATE: poll orders, positions and the balance now; ACCOUNT_UPDATE: positions
   * and the balance, and the funding income when its reason is FUNDING_FEE. The asset of an order or position nobody polls yet (placed on the web
   * UI, say) becomes active, so its history is read. Facts come from the polls only.
   */
  private onPush(message: unknown): void {
    if (typeof message !== 'object' || message === null) return; // "Ping" and the like
    if (this.onTicker(message)) return;
    const event = (message as { e?: unknown }).e;
    if (event !== 'ORDER_TRADE_UPDATE' && event !== 'ACCOUNT_UPDATE') return;
    const now = Date.now();
    this.stream.lastUpdateAt = now;
    this.woken.positions = true;
    this.woken.account = true;
    const touched: string[] = [];
    try {
      if (event === 'ORDER_TRADE_UPDATE') {
        this.stream.updatesBy.orders += 1;
        this.woken.orders = true;
        touched.push(normalizeWsOrderUpdate(message).order.asset);
      } else {
        this.stream.updatesBy.account += 1;
        const update = normalizeWsAccountUpdate(message);
        // A funding payment: read the income now rather than at the next funding cadence.
        if (update.reason === 'FUNDING_FEE') this.woken.funding = true;
        for (const p of update.positions) touched.push(p.asset);
      }
    } catch (err) {
      this.extra.log?.(
        `bingx: unreadable ${event} push (polls still run): ${this.clean((err as Error).message)}`,
      );
    }
    for (const asset of touched) {
      this.track(asset);
      this.activity.set(asset, now);
    }
  }

  /** A `<symbol>@ticker` push: the asset's market now. True when the frame was one. */
  private onTicker(message: object): boolean {
    const dataType = (message as { dataType?: unknown }).dataType;
    if (typeof dataType !== 'string' || !dataType.endsWith('@ticker')) return false;
    const asset = this.quoteSymbols.get(dataType.slice(0, -'@ticker'.length));
    if (asset) this.quotes.update(asset, (message as { data?: unknown }).data);
    return true;
  }

  /** Makes ccxt's next watch authenticate again (a new listenKey). */
  private forgetListenKey(): void {
    const options = this.exchange.options as Record<string, unknown>;
    options.listenKey = undefined;
    options.lastAuthenticatedTime = 0;
  }

  /** Whether one of ccxt's websocket clients for the listenKey stream is open. */
  private streamSocketOpen(): boolean {
    const clients = (
      this.exchange as unknown as { clients?: Record<string, { url?: string; isOpen?: () => boolean }> }
    ).clients;
    for (const c of Object.values(clients ?? {})) {
      if (!c.url?.includes('listenKey=')) continue;
      try {
        if (c.isOpen?.()) return true;
      } catch {
        // a client that never dialled has no connection yet
      }
    }
    return false;
  }

  /**
   * ccxt schedules the listenKey keep-alive (every 59 min) with a bare setTimeout that
   * close() cannot reach; these are tracked, unref'd and cleared on close, so a closed
   * venue never keeps the process alive or extends a key afterwards. One timer per method:
   * each re-authentication starts another keep-alive chain, and one is enough (it extends
   * whichever key is current when it fires).
   */
  private trackCcxtTimers(): void {
    const ex = this.exchange as unknown as {
      delay: (timeout: number, method: unknown, ...args: unknown[]) => void;
      spawn: (method: unknown, ...args: unknown[]) => unknown;
    };
    ex.delay = (timeout, method, ...args) => {
      if (this.closed) return;
      clearTimeout(this.ccxtTimers.get(method));
      const t = setTimeout(() => {
        this.ccxtTimers.delete(method);
        if (!this.closed) ex.spawn(method, ...args);
      }, timeout);
      t.unref();
      this.ccxtTimers.set(method, t);
    };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.sleepers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.sleepers.add(done);
    });
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

  /**
   * Text fit for logs and health: the credentials and the user stream's listenKey (which
   * opens the account stream until BingX expires it) redacted. `extra`: a key already
   * dropped from ccxt's options.
   */
  private clean(text: string, ...extra: string[]): string {
    const listenKey = (this.exchange.options as { listenKey?: unknown }).listenKey;
    const keys = typeof listenKey === 'string' ? [listenKey, ...extra] : extra;
    return redact(text, [this.env.apiKey, this.env.apiSecret, ...keys]);
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

/** An ack; `venueTs` (BingX's own time) only when it is a real epoch ms. */
function ackFact(clientOrderId: string, exchangeOrderId: string, ts: number, venueTs: unknown): AckFact {
  const known = typeof venueTs === 'number' && Number.isFinite(venueTs) && venueTs > 0;
  return { kind: 'ack', clientOrderId, exchangeOrderId, ts, ...(known ? { venueTs } : {}) };
}

/** The terminal state of one of PINK's orders as a fact (status already known not OPEN or REJECTED). */
function doneFact(o: BingxOrder, status: OrderDoneFact['status']): OrderDoneFact {
  return {
    kind: 'order_done',
    clientOrderId: o.clientOrderId,
    exchangeOrderId: o.exchangeOrderId,
    status,
    filledQty: o.filledQty,
    ts: o.updateTime,
    // The order record's creation time: BingX's own acceptance time (createOrder's answer has none).
    ...(o.time > 0 ? { placedTs: o.time } : {}),
  };
}
