/**
 * A BingX-protocol simulator: a node:http server on 127.0.0.1 that speaks the BingX
 * USDT-M perpetual swap REST endpoints ccxt's `bingx` uses, with the real signing
 * scheme (X-BX-APIKEY, HMAC-SHA256 hex of the parameter string, timestamp inside
 * recvWindow) and the real envelopes (`{code, msg, data}`, business errors on HTTP 200).
 * Response shapes follow the recorded payloads in shared/data/bingx.
 *
 * Matching model: MARKET orders fill at the mark set by `control.setMark` with the
 * contract's taker fee (optionally in several fills over time); LIMIT orders rest until
 * the mark crosses them. One-way (positionSide BOTH) and hedge (LONG/SHORT) modes.
 * Reduce-only never grows or flips a position. A clientOrderID used once in a session
 * is refused on reuse with code 109201 (stricter than BingX's documented 1-second
 * rule, so a retried submit can never open twice; the adapter treats it as "exists").
 *
 * User data stream: `POST|PUT|DELETE /openApi/user/auth/userDataStream` hand out, extend
 * and close listenKeys; a websocket on the same port (`/swap-market?listenKey=…`) pushes
 * gzip-compressed ORDER_TRADE_UPDATE frames on every order state change and fill and
 * ACCOUNT_UPDATE frames on position / balance changes, sends "Ping" (gzip) and answers
 * "Pong", as BingX's swap user stream does. The same path without a listenKey is the public
 * market stream: `{"reqType":"sub","dataType":"BTC-USDT@ticker"}` subscribes the symbol's
 * 24h ticker, pushed (gzip) on every change of its mark, with bid = ask = last = the mark.
 *
 * Faults on `control`: latency, rejects, lost order responses, partial fills, external
 * closes, liquidations, funding, streams down. `control.books()` exposes the whole state for tests.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { type WebSocket, WebSocketServer } from 'ws';

export interface SimContract {
  readonly symbol: string;
  readonly quantityPrecision: number;
  readonly pricePrecision: number;
  readonly tradeMinQuantity: number;
  readonly tradeMinUSDT: number;
  readonly takerFeeRate: number;
  readonly makerFeeRate: number;
  readonly maxLeverage: number;
}

/** BTC and ETH as in the recorded contracts payload (JKorf), plus SOL. */
export const DEFAULT_SIM_CONTRACTS: readonly SimContract[] = [
  contract('BTC-USDT', 4, 1, 0.0001),
  contract('ETH-USDT', 2, 2, 0.01),
  contract('SOL-USDT', 1, 3, 0.1),
];

const DEFAULT_MARKS: Readonly<Record<string, number>> = {
  'BTC-USDT': 68000,
  'ETH-USDT': 3500,
  'SOL-USDT': 150,
};

function contract(
  symbol: string,
  quantityPrecision: number,
  pricePrecision: number,
  minQty: number,
): SimContract {
  return {
    symbol,
    quantityPrecision,
    pricePrecision,
    tradeMinQuantity: minQty,
    tradeMinUSDT: 2,
    takerFeeRate: 0.0005,
    makerFeeRate: 0.0002,
    maxLeverage: 125,
  };
}

export interface SimFaults {
  /** Added before every response, ms. */
  readonly latencyMs: number;
  /** Market orders fill in this many pieces (1 = at once)… */
  readonly fillPieces: number;
  /** …this far apart, ms (the first piece fills on placement). */
  readonly fillIntervalMs: number;
}

export interface BingxSimOptions {
  /** 0 = a free port. */
  readonly port?: number;
  readonly apiKey: string;
  readonly apiSecret: string;
  /** Offsets the id sequences, so two simulators never share ids (there is no other randomness). */
  readonly seed?: number;
  readonly latencyMs?: number;
  readonly faults?: Partial<SimFaults>;
  readonly contracts?: readonly SimContract[];
  /** Mark prices by BingX symbol ("BTC-USDT"). */
  readonly marks?: Readonly<Record<string, number>>;
  /** Starting USDT wallet balance (default 10 000). */
  readonly balance?: number;
  /** Default leverage per symbol (default 5). */
  readonly leverage?: number;
  /** Hedge mode (dualSidePosition) at start; default one-way. */
  readonly hedgeMode?: boolean;
  /** Order ids as JSON strings (default, like current BingX) or unquoted numbers above 2^53. */
  readonly idStyle?: 'string' | 'number';
  /** How often the user stream sends "Ping", ms (BingX: about every 5 s). */
  readonly streamPingMs?: number;
  /**
   * Finished orders, fills and income older than this are forgotten, as an exchange's
   * history queries only reach so far back (default 7 days); open orders never are. Keeps a
   * long `pink run --venue bingx-sim` from growing, and every history query from slowing.
   */
  readonly historyRetentionMs?: number;
}

export const DEFAULT_SIM_HISTORY_RETENTION_MS = 7 * 86_400_000;

export interface SimStreamStats {
  /** Websocket connections open now. */
  readonly open: number;
  /** Connections accepted / refused since the start. */
  readonly accepted: number;
  readonly refused: number;
  /** Event frames (ORDER_TRADE_UPDATE, ACCOUNT_UPDATE) sent, counted per connection. */
  readonly events: number;
  readonly pings: number;
  /** "Pong" answers received from clients. */
  readonly pongs: number;
  /** Ticker frames sent to market-stream subscribers, counted per connection. */
  readonly tickers: number;
  /** listenKeys alive. */
  readonly listenKeys: number;
}

export interface SimOrderView {
  readonly orderId: string;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: 'BUY' | 'SELL';
  readonly positionSide: string;
  readonly type: string;
  readonly status: string;
  readonly origQty: number;
  readonly executedQty: number;
  readonly avgPrice: number;
  readonly reduceOnly: boolean;
  readonly time: number;
}

export interface SimFillView {
  readonly tradeId: string;
  readonly orderId: string;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: 'BUY' | 'SELL';
  readonly qty: number;
  readonly price: number;
  readonly commission: number;
  readonly liquidation: boolean;
  readonly time: number;
}

export interface SimBooks {
  readonly positions: ReadonlyArray<{
    symbol: string;
    positionSide: string;
    qty: number;
    entryPrice: number;
  }>;
  readonly orders: readonly SimOrderView[];
  readonly fills: readonly SimFillView[];
  readonly income: ReadonlyArray<{
    tranId: string;
    symbol: string;
    incomeType: string;
    income: number;
    time: number;
  }>;
  readonly balance: number;
  /** Requests served per "METHOD /path". */
  readonly requests: Readonly<Record<string, number>>;
}

export interface SimControl {
  setMark(symbol: string, price: number): void;
  setLatency(ms: number): void;
  /** The next `n` order placements are refused with this BingX code and message. */
  rejectNextOrders(n: number, code?: number, msg?: string): void;
  /**
   * The next `n` order placements ARE placed, but their HTTP response is lost:
   * 'hang' never answers (the client times out), 'reset' destroys the connection.
   */
  dropNextOrderResponses(n: number, mode?: 'hang' | 'reset'): void;
  /** Market orders fill in `pieces` fills, `intervalMs` apart (1 = at once). */
  setPartialFills(pieces: number, intervalMs: number): void;
  /** Someone closes the position on the web UI: a fill without our client order id. */
  externalClose(symbol: string, qty?: number): void;
  /** The venue liquidates the whole position at the mark. */
  liquidate(symbol: string): void;
  /** Someone adds to the position on the web UI: a same-side market fill without our client order id. */
  externalAdd(symbol: string, qty: number): void;
  /**
   * The next `n` successful answers of `route` ("METHOD /path") carry `data` replaced by
   * `tamper(data)` (a malformed or ambiguous payload the venue really sent); `n` = 0 clears them.
   */
  tamperNextResponses(route: string, n: number, tamper: (data: unknown) => unknown): void;
  /** A funding payment on the open position: rate > 0 means longs pay shorts. */
  fund(symbol: string, rate: number): void;
  setBalance(usdt: number): void;
  /** List endpoints (orders, fills, income) answer newest first instead of oldest first. */
  setReverseLists(on: boolean): void;
  /** false: open user-stream sockets are dropped and new ones refused (HTTP 503); true: accepted again. */
  setStreams(on: boolean): void;
  streamStats(): SimStreamStats;
  books(): SimBooks;
}

export interface BingxSim {
  readonly url: string;
  readonly control: SimControl;
  close(): Promise<void>;
}

type Params = Record<string, string>;
type Side = 'BUY' | 'SELL';

interface Order {
  orderId: string;
  clientOrderId: string;
  symbol: string;
  side: Side;
  positionSide: 'BOTH' | 'LONG' | 'SHORT';
  type: 'MARKET' | 'LIMIT';
  price: number;
  origQty: number;
  executedQty: number;
  cumQuote: number;
  commission: number;
  status: 'NEW' | 'PENDING' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELLED';
  reduceOnly: boolean;
  leverage: number;
  time: number;
  updateTime: number;
  piecesLeft: number;
}

interface Fill {
  tradeId: string;
  orderId: string;
  clientOrderId: string;
  symbol: string;
  side: Side;
  positionSide: string;
  qty: number;
  price: number;
  commission: number;
  realisedPnl: number;
  liquidatedPrice: number;
  time: number;
}

interface Position {
  positionId: string;
  symbol: string;
  /** Signed (short < 0) in both modes; hedge mode keeps LONG and SHORT under separate keys. */
  qty: number;
  entry: number;
  side: 'BOTH' | 'LONG' | 'SHORT';
  realised: number;
  updateTime: number;
}

interface Income {
  tranId: string;
  symbol: string;
  incomeType: string;
  income: number;
  time: number;
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    msg: string,
    readonly httpStatus = 200,
  ) {
    super(msg);
  }
}

const EPS = 1e-12;

/** Starts the simulator; resolves once it listens. */
export async function startBingxSim(opts: BingxSimOptions): Promise<BingxSim> {
  const sim = new BingxSimState(opts);
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    sim.handle(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        sim.send(res, 500, { code: 100500, msg: String((err as Error).message), data: {} });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket, head) => sim.upgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('bingx sim: no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    control: sim.control(),
    close: async () => {
      sim.stop();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Ticker pushes repeat this often while a symbol is subscribed, ms. */
const TICKER_REPEAT_MS = 1_000;

/** The listenKey of a public (market data) socket: none. */
const PUBLIC = '';

type Subscriber = WebSocket & { listenKey?: string; tickers?: Set<string> };

/** listenKeys live this long unless extended (BingX: 60 minutes). */
const LISTEN_KEY_TTL_MS = 3_600_000;

/**
 * The user data stream: listenKeys, the websocket endpoint and the pushes. Every frame
 * is gzip-compressed (BingX sends binary gzip frames, "Ping" included).
 */
class UserStreams {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly keys = new Map<string, number>();
  private readonly open = new Set<WebSocket>();
  private readonly pingTimer: NodeJS.Timeout;
  private enabled = true;
  private keySeq = 0;
  private stats = { accepted: 0, refused: 0, events: 0, pings: 0, pongs: 0, tickers: 0 };

  private readonly tickerTimer: NodeJS.Timeout;

  constructor(
    private readonly secret: string,
    pingMs: number,
    private readonly idStyle: 'string' | 'number',
    /** The current mark of a symbol (undefined: none yet). */
    private readonly markOf: (symbol: string) => number | undefined,
  ) {
    this.pingTimer = setInterval(() => this.ping(), pingMs);
    this.pingTimer.unref();
    // BingX repeats a live market's ticker about every second; so does the simulator.
    this.tickerTimer = setInterval(() => this.repeatTickers(), TICKER_REPEAT_MS);
    this.tickerTimer.unref();
  }

  private repeatTickers(): void {
    const symbols = new Set<string>();
    for (const ws of this.open)
      for (const t of (ws as Subscriber).tickers ?? []) symbols.add(t.slice(0, -'@ticker'.length));
    for (const symbol of symbols) {
      const mark = this.markOf(symbol);
      if (mark !== undefined) this.pushTicker(symbol, mark);
    }
  }

  /** POST: a new listenKey (BingX's is 64 hex chars). */
  create(): string {
    this.keySeq += 1;
    const key = hmacHex(this.secret, `listenKey:${this.keySeq}:${Date.now()}`);
    this.keys.set(key, Date.now() + LISTEN_KEY_TTL_MS);
    return key;
  }

  /** PUT: extends the key; false when it is unknown or expired. */
  extend(key: string): boolean {
    if (!this.valid(key)) return false;
    this.keys.set(key, Date.now() + LISTEN_KEY_TTL_MS);
    return true;
  }

  /** DELETE: forgets the key and closes its sockets. */
  remove(key: string): boolean {
    if (!this.valid(key)) return false;
    this.keys.delete(key);
    for (const ws of this.open)
      if ((ws as WebSocket & { listenKey?: string }).listenKey === key) ws.close(1000, 'listenKey deleted');
    return true;
  }

  private valid(key: string): boolean {
    const until = this.keys.get(key);
    if (until === undefined) return false;
    if (until < Date.now()) {
      this.keys.delete(key);
      return false;
    }
    return true;
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node's HTTP server drops its own error listener from an upgraded socket: without this,
    // a client that resets the connection after a refusal is an uncaught ECONNRESET here.
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const key = url.searchParams.get('listenKey') ?? '';
    const refuse = (status: number, text: string) => {
      this.stats.refused += 1;
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== '/swap-market') refuse(404, 'Not Found');
    else if (!this.enabled) refuse(503, 'Service Unavailable');
    else if (!url.searchParams.has('listenKey')) this.accept(req, socket, head, PUBLIC);
    else if (!this.valid(key)) refuse(401, 'Unauthorized');
    else this.accept(req, socket, head, key);
  }

  private accept(req: IncomingMessage, socket: Duplex, head: Buffer, key: string): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.stats.accepted += 1;
      (ws as WebSocket & { listenKey?: string }).listenKey = key;
      this.open.add(ws);
      ws.on('close', () => this.open.delete(ws));
      ws.on('error', () => ws.terminate());
      ws.on('message', (data, isBinary) => {
        const text = isBinary ? gunzipText(data as Buffer) : String(data);
        if (text === 'Pong') this.stats.pongs += 1;
        else if (text === 'Ping') ws.send(gzipSync('Pong'));
        else if (key === PUBLIC) this.subscribe(ws, text);
      });
    });
  }

  /** false: drops every socket (no close frame, like a lost connection) and refuses new ones. */
  setEnabled(on: boolean): void {
    this.enabled = on;
    if (!on) for (const ws of this.open) ws.terminate();
  }

  /** A public `sub` request: the ticker of a symbol (the only market data the simulator has). */
  private subscribe(ws: WebSocket, text: string): void {
    let req: { id?: unknown; reqType?: unknown; dataType?: unknown };
    try {
      req = JSON.parse(text) as typeof req;
    } catch {
      return;
    }
    const dataType = typeof req.dataType === 'string' ? req.dataType : '';
    const ok = req.reqType === 'sub' && /^[A-Z0-9]+-[A-Z]+@ticker$/.test(dataType);
    if (ok) {
      const sub = ws as Subscriber;
      sub.tickers ??= new Set();
      sub.tickers.add(dataType);
    }
    const answer = ok
      ? { id: req.id, code: 0, msg: '', dataType: '', data: null }
      : { id: req.id, code: 80015, msg: `dataType not supported: ${dataType}`, dataType: '', data: null };
    ws.send(gzipSync(JSON.stringify(answer)));
    // The current ticker at once, as BingX sends the first update right after a subscription.
    const mark = ok ? this.markOf(dataType.slice(0, -'@ticker'.length)) : undefined;
    if (mark !== undefined) this.pushTicker(dataType.slice(0, -'@ticker'.length), mark, ws);
  }

  /** The symbol's ticker to its subscribers: the simulator's book is its mark on both sides. */
  pushTicker(symbol: string, mark: number, only?: WebSocket): void {
    const dataType = `${symbol}@ticker`;
    const now = Date.now();
    const p = String(mark);
    const data = {
      e: '24hTicker',
      E: now,
      s: symbol,
      p: '0',
      P: '0',
      c: p,
      L: '0',
      h: p,
      l: p,
      v: '0',
      q: '0',
    };
    const frame = gzipSync(
      JSON.stringify({
        code: 0,
        dataType,
        data: { ...data, o: p, O: now, C: now, A: p, a: '1', B: p, b: '1' },
      }),
    );
    for (const ws of only ? [only] : this.open)
      if (ws.readyState === ws.OPEN && (ws as Subscriber).tickers?.has(dataType)) {
        ws.send(frame);
        this.stats.tickers += 1;
      }
  }

  push(event: unknown): void {
    if (this.open.size === 0) return;
    let text = JSON.stringify(event);
    if (this.idStyle === 'number') text = text.replace(/"i":"(\d+)"/g, '"i":$1');
    const frame = gzipSync(text);
    for (const ws of this.open) {
      if (ws.readyState !== ws.OPEN || (ws as Subscriber).listenKey === PUBLIC) continue;
      ws.send(frame);
      this.stats.events += 1;
    }
  }

  private ping(): void {
    const frame = gzipSync('Ping');
    for (const ws of this.open) {
      if (ws.readyState !== ws.OPEN) continue;
      ws.send(frame);
      this.stats.pings += 1;
    }
  }

  snapshot(): SimStreamStats {
    let live = 0;
    for (const key of [...this.keys.keys()]) if (this.valid(key)) live += 1;
    return { open: this.open.size, listenKeys: live, ...this.stats };
  }

  stop(): void {
    clearInterval(this.pingTimer);
    clearInterval(this.tickerTimer);
    for (const ws of this.open) ws.terminate();
    this.wss.close();
  }
}

function gunzipText(data: Buffer): string {
  try {
    return gunzipSync(data).toString('utf8');
  } catch {
    return data.toString('utf8');
  }
}

class BingxSimState {
  private readonly contracts = new Map<string, SimContract>();
  private readonly marks = new Map<string, number>();
  private readonly orders = new Map<string, Order>();
  private readonly byClientId = new Map<string, string>();
  private readonly fills: Fill[] = [];
  private readonly positions = new Map<string, Position>();
  private readonly income: Income[] = [];
  private readonly leverage = new Map<string, number>();
  private readonly marginType = new Map<string, string>();
  private readonly requests: Record<string, number> = {};
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly retentionMs: number;
  private lastForget = 0;
  private readonly idBase: bigint;
  private seq = 0;
  private balance: number;
  private hedge: boolean;
  private latencyMs: number;
  private pieces: number;
  private intervalMs: number;
  private rejects: Array<{ code: number; msg: string }> = [];
  private drops: Array<'hang' | 'reset'> = [];
  private reverseLists = false;
  private tampers: Array<{ route: string; tamper: (data: unknown) => unknown }> = [];
  private readonly streams: UserStreams;

  constructor(private readonly opts: BingxSimOptions) {
    for (const c of opts.contracts ?? DEFAULT_SIM_CONTRACTS) this.contracts.set(c.symbol, c);
    for (const [s, p] of Object.entries({ ...DEFAULT_MARKS, ...opts.marks })) this.marks.set(s, p);
    this.idBase =
      1_900_000_000_000_000_000n + BigInt(Math.abs(Math.trunc(opts.seed ?? 0)) % 1000) * 1_000_000_000n;
    this.balance = opts.balance ?? 10_000;
    this.hedge = opts.hedgeMode ?? false;
    this.retentionMs = opts.historyRetentionMs ?? DEFAULT_SIM_HISTORY_RETENTION_MS;
    this.latencyMs = opts.faults?.latencyMs ?? opts.latencyMs ?? 0;
    this.pieces = Math.max(1, opts.faults?.fillPieces ?? 1);
    this.intervalMs = opts.faults?.fillIntervalMs ?? 100;
    this.streams = new UserStreams(
      opts.apiSecret,
      opts.streamPingMs ?? 5000,
      opts.idStyle ?? 'string',
      (symbol) => this.marks.get(symbol),
    );
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.streams.stop();
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.streams.upgrade(req, socket, head);
  }

  control(): SimControl {
    return {
      setMark: (symbol, price) => {
        const s = this.symbolOf(symbol);
        const changed = this.marks.get(s) !== price;
        this.marks.set(s, price);
        this.matchLimits(s);
        if (changed) this.streams.pushTicker(s, price);
      },
      setLatency: (ms) => {
        this.latencyMs = ms;
      },
      rejectNextOrders: (n, code = 101204, msg = 'Insufficient margin') => {
        for (let i = 0; i < n; i++) this.rejects.push({ code, msg });
      },
      dropNextOrderResponses: (n, mode = 'hang') => {
        for (let i = 0; i < n; i++) this.drops.push(mode);
      },
      setPartialFills: (pieces, intervalMs) => {
        this.pieces = Math.max(1, Math.trunc(pieces));
        this.intervalMs = intervalMs;
      },
      externalClose: (symbol, qty) => this.closeFromOutside(this.symbolOf(symbol), qty, false),
      liquidate: (symbol) => this.closeFromOutside(this.symbolOf(symbol), undefined, true),
      externalAdd: (symbol, qty) => this.addFromOutside(this.symbolOf(symbol), qty),
      tamperNextResponses: (route, n, tamper) => {
        if (n === 0) this.tampers = this.tampers.filter((t) => t.route !== route);
        for (let i = 0; i < n; i++) this.tampers.push({ route, tamper });
      },
      fund: (symbol, rate) => this.fund(this.symbolOf(symbol), rate),
      setBalance: (usdt) => {
        const before = this.balance;
        this.balance = usdt;
        this.pushAccount('DEPOSIT', usdt - before, []);
      },
      setReverseLists: (on) => {
        this.reverseLists = on;
      },
      setStreams: (on) => this.streams.setEnabled(on),
      streamStats: () => this.streams.snapshot(),
      books: () => this.books(),
    };
  }

  // ---- HTTP -------------------------------------------------------------------------------------

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    this.requests[route] = (this.requests[route] ?? 0) + 1;
    if (this.latencyMs > 0) await this.sleep(this.latencyMs);
    try {
      if (url.pathname === '/openApi/user/auth/userDataStream')
        return this.userDataStream(req, url, body, res);
      const handler = this.route(route);
      if (!handler) throw new ApiError(100400, `this api is not exist: ${route}`, 404);
      const params = handler.signed
        ? this.authenticate(req, url, body)
        : Object.fromEntries(url.searchParams);
      if (route === 'POST /openApi/swap/v2/trade/order') return await this.placeOrderRoute(params, req, res);
      this.send(res, 200, {
        code: 0,
        msg: '',
        data: this.tampered(route, this.ordered(handler.run(params))),
      });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      this.send(res, err.httpStatus, { code: err.code, msg: err.message, data: {} });
    }
  }

  private tampered(route: string, data: unknown): unknown {
    const i = this.tampers.findIndex((t) => t.route === route);
    if (i < 0) return data;
    const [t] = this.tampers.splice(i, 1);
    return t!.tamper(data);
  }

  /** Applies the newest-first fault to lists (top-level or under orders / fill_orders). */
  private ordered(data: unknown): unknown {
    if (!this.reverseLists) return data;
    if (Array.isArray(data)) return [...data].reverse();
    if (typeof data !== 'object' || data === null) return data;
    const out: Record<string, unknown> = { ...(data as Record<string, unknown>) };
    for (const k of ['orders', 'fill_orders', 'fill_history_orders'])
      if (Array.isArray(out[k])) out[k] = [...(out[k] as unknown[])].reverse();
    return out;
  }

  send(res: ServerResponse, status: number, payload: unknown): void {
    let text = JSON.stringify(payload);
    // Big ids as unquoted numbers, the way older BingX responses carry them.
    if (this.opts.idStyle === 'number') text = text.replace(/"(orderId|positionId)":"(\d+)"/g, '"$1":$2');
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(text);
  }

  private route(route: string): { signed: boolean; run: (p: Params) => unknown } | undefined {
    const R: Record<string, { signed: boolean; run: (p: Params) => unknown }> = {
      'GET /openApi/swap/v2/server/time': { signed: false, run: () => ({ serverTime: Date.now() }) },
      'GET /openApi/swap/v2/quote/contracts': { signed: false, run: () => this.contractRows() },
      'GET /openApi/swap/v2/trade/order': {
        signed: true,
        run: (p) => ({ order: this.orderRow(this.findOrder(p)) }),
      },
      'DELETE /openApi/swap/v2/trade/order': { signed: true, run: (p) => ({ order: this.cancel(p) }) },
      'GET /openApi/swap/v2/trade/openOrders': { signed: true, run: (p) => ({ orders: this.openOrders(p) }) },
      'GET /openApi/swap/v2/trade/allOrders': { signed: true, run: (p) => ({ orders: this.allOrders(p) }) },
      'GET /openApi/swap/v2/trade/allFillOrders': {
        signed: true,
        run: (p) => ({ fill_orders: this.fillRows(p) }),
      },
      'GET /openApi/swap/v2/trade/fillHistory': { signed: true, run: (p) => this.fillHistory(p) },
      'GET /openApi/swap/v2/user/positions': { signed: true, run: (p) => this.positionRows(p) },
      'GET /openApi/swap/v3/user/balance': { signed: true, run: () => [this.balanceRow()] },
      'GET /openApi/swap/v2/user/balance': { signed: true, run: () => ({ balance: this.balanceRow() }) },
      'GET /openApi/swap/v2/user/income': { signed: true, run: (p) => this.incomeRows(p) },
      'GET /openApi/swap/v2/trade/leverage': { signed: true, run: (p) => this.getLeverage(p) },
      'POST /openApi/swap/v2/trade/leverage': { signed: true, run: (p) => this.setLeverage(p) },
      'GET /openApi/swap/v2/trade/marginType': { signed: true, run: (p) => this.getMarginType(p) },
      'POST /openApi/swap/v2/trade/marginType': { signed: true, run: (p) => this.setMarginType(p) },
      'GET /openApi/swap/v1/positionSide/dual': {
        signed: true,
        run: () => ({ dualSidePosition: String(this.hedge) }),
      },
      'POST /openApi/swap/v1/positionSide/dual': { signed: true, run: (p) => this.setDual(p) },
      'POST /openApi/swap/v2/trade/order': { signed: true, run: () => null },
    };
    return R[route];
  }

  /**
   * listenKeys: POST answers a bare `{"listenKey": "…"}` (no envelope, as recorded); PUT
   * (extend) and DELETE answer only a status: 200, or 404 for an unknown key. BingX asks only
   * for X-BX-APIKEY here; a signature, when sent (ccxt signs it), must be right.
   */
  private userDataStream(req: IncomingMessage, url: URL, body: string, res: ServerResponse): void {
    const hasSignature = /(^|&)signature=/.test(
      `${url.search.replace(/^\?/, '')}&${isForm(req) ? body : ''}`,
    );
    let params: Params;
    if (hasSignature) params = this.authenticate(req, url, body);
    else {
      const key = req.headers['x-bx-apikey'];
      if (typeof key !== 'string' || !safeEqual(key, this.opts.apiKey))
        throw new ApiError(100413, 'Incorrect apiKey');
      params = Object.fromEntries(url.searchParams);
    }
    const method = req.method ?? 'GET';
    if (method === 'POST') {
      this.send(res, 200, { listenKey: this.streams.create() });
      return;
    }
    if (method !== 'PUT' && method !== 'DELETE')
      throw new ApiError(100400, `this api is not exist: ${method} ${url.pathname}`, 404);
    const key = params.listenKey ?? '';
    const ok = method === 'PUT' ? this.streams.extend(key) : this.streams.remove(key);
    res.writeHead(ok ? 200 : 404);
    res.end();
  }

  /** BingX signing: X-BX-APIKEY, `timestamp` within recvWindow, hex HMAC-SHA256 of the parameter string. */
  private authenticate(req: IncomingMessage, url: URL, body: string): Params {
    const key = req.headers['x-bx-apikey'];
    if (typeof key !== 'string' || key === '') throw new ApiError(100413, 'Incorrect apiKey');
    if (!safeEqual(key, this.opts.apiKey)) throw new ApiError(100413, 'Incorrect apiKey');
    const form = isForm(req) ? body : '';
    const raw = [url.search.replace(/^\?/, ''), form].filter((s) => s !== '').join('&');
    const { signed, signature } = splitSignature(raw);
    if (!signature) throw new ApiError(100412, 'Null signature');
    const expected = [signed, decodeParams(signed)].map((s) => hmacHex(this.opts.apiSecret, s));
    if (!expected.some((e) => safeEqual(e, signature.toLowerCase())))
      throw new ApiError(100001, 'Signature verification failed');
    const params = Object.fromEntries(new URLSearchParams(signed));
    const ts = Number(params.timestamp);
    if (!params.timestamp || !Number.isFinite(ts))
      throw new ApiError(100421, 'Null timestamp or timestamp mismatch');
    const window = params.recvWindow ? Number(params.recvWindow) : 5000;
    if (Math.abs(Date.now() - ts) > window)
      throw new ApiError(100421, 'Null timestamp or timestamp mismatch');
    return params;
  }

  // ---- orders -----------------------------------------------------------------------------------

  private async placeOrderRoute(p: Params, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reject = this.rejects.shift();
    if (reject) throw new ApiError(reject.code, reject.msg);
    const order = this.place(p);
    const drop = this.drops.shift();
    if (drop === 'reset') {
      req.socket.destroy();
      return;
    }
    if (drop === 'hang') return; // placed; the answer never comes (the socket dies on close())
    this.send(res, 200, { code: 0, msg: '', data: { order: this.createRow(order) } });
  }

  /** Drops history beyond the retention; runs at most once per retention period (or minute). */
  private forgetOldHistory(now: number): void {
    if (now - this.lastForget < Math.min(this.retentionMs, 60_000)) return;
    this.lastForget = now;
    const cutoff = now - this.retentionMs;
    for (const [id, o] of this.orders) {
      if (isOpen(o) || o.updateTime >= cutoff) continue;
      this.orders.delete(id);
      if (this.byClientId.get(o.clientOrderId) === id) this.byClientId.delete(o.clientOrderId);
    }
    dropOlderThan(this.fills, cutoff);
    dropOlderThan(this.income, cutoff);
  }

  private place(p: Params): Order {
    this.forgetOldHistory(Date.now());
    const symbol = this.requireSymbol(p);
    const c = this.contracts.get(symbol)!;
    const side = upper(p.side);
    if (side !== 'BUY' && side !== 'SELL')
      throw new ApiError(109400, `side must be BUY or SELL, got ${p.side}`);
    const type = upper(p.type);
    if (type !== 'MARKET' && type !== 'LIMIT')
      throw new ApiError(109400, `order type ${p.type} is not simulated`);
    const positionSide = this.positionSideOf(p);
    const qty = Number(p.quantity);
    if (!Number.isFinite(qty) || qty <= 0)
      throw new ApiError(109400, `quantity must be > 0, got ${p.quantity}`);
    if (!onStep(qty, c.quantityPrecision))
      throw new ApiError(80014, `Invalid parameters, quantity precision is ${c.quantityPrecision}`);
    if (qty < c.tradeMinQuantity - EPS)
      throw new ApiError(101400, `order size error: minimum quantity is ${c.tradeMinQuantity}`);
    const mark = this.mark(symbol);
    const price = type === 'LIMIT' ? Number(p.price) : 0;
    if (type === 'LIMIT' && !(price > 0)) throw new ApiError(109400, `price must be > 0, got ${p.price}`);
    if (qty * mark < c.tradeMinUSDT - EPS)
      throw new ApiError(
        110425,
        `Please ensure that the minimum nominal value of the order placed must be greater than ${c.tradeMinUSDT}u`,
      );
    const clientOrderId = (p.clientOrderID ?? p.clientOrderId ?? '').toLowerCase();
    if (clientOrderId.length > 40) throw new ApiError(109400, 'clientOrderID must be 1-40 characters');
    if (clientOrderId && this.byClientId.has(clientOrderId))
      throw new ApiError(109201, `duplicate clientOrderID ${clientOrderId}`);
    const closing = this.isClosing(symbol, side, positionSide, p.reduceOnly === 'true');
    if (closing && this.closableQty(symbol, side, positionSide) <= EPS)
      throw new ApiError(101400, 'No position to close');
    if (!closing) this.checkMargin(symbol, qty, mark);
    const now = Date.now();
    const order: Order = {
      orderId: this.nextId(),
      clientOrderId,
      symbol,
      side,
      positionSide,
      type,
      price,
      origQty: qty,
      executedQty: 0,
      cumQuote: 0,
      commission: 0,
      status: type === 'LIMIT' ? 'PENDING' : 'NEW',
      reduceOnly: p.reduceOnly === 'true',
      leverage: this.leverageOf(symbol),
      time: now,
      updateTime: now,
      piecesLeft: type === 'MARKET' ? this.pieces : 1,
    };
    this.orders.set(order.orderId, order);
    if (clientOrderId) this.byClientId.set(clientOrderId, order.orderId);
    this.pushOrder(order, 'NEW');
    if (type === 'MARKET') this.fillMarket(order);
    else this.matchLimits(symbol);
    return order;
  }

  private fillMarket(order: Order): void {
    const piece = order.piecesLeft <= 1 ? order.origQty - order.executedQty : order.origQty / this.pieces;
    order.piecesLeft -= 1;
    this.execute(order, roundTo(piece, 12), this.mark(order.symbol), 0);
    if (order.status === 'FILLED' || order.status === 'CANCELLED') return;
    if (order.piecesLeft > 0) this.later(this.intervalMs, () => this.fillMarket(order));
  }

  private matchLimits(symbol: string): void {
    const mark = this.marks.get(symbol);
    if (mark === undefined) return;
    for (const o of this.orders.values()) {
      if (o.symbol !== symbol || o.type !== 'LIMIT' || !isOpen(o)) continue;
      const crosses = o.side === 'BUY' ? mark <= o.price : mark >= o.price;
      if (crosses) this.execute(o, o.origQty - o.executedQty, o.price, 0);
    }
  }

  /** Fills `qty` of `order` (clamped for closing orders), moves the position and the wallet. */
  private execute(order: Order, qty: number, price: number, liquidatedPrice: number): void {
    const closing = this.isClosing(order.symbol, order.side, order.positionSide, order.reduceOnly);
    const fillQty = closing
      ? Math.min(qty, this.closableQty(order.symbol, order.side, order.positionSide))
      : qty;
    let trade: { qty: number; price: number; fee: number; pnl: number; time: number } | null = null;
    const statusBefore = order.status;
    if (fillQty > EPS) {
      const fee = liquidatedPrice > 0 ? 0 : fillQty * price * this.contracts.get(order.symbol)!.takerFeeRate;
      const pnl = this.movePosition(order, fillQty, price);
      this.balance += pnl - fee;
      order.executedQty = roundTo(order.executedQty + fillQty, 12);
      order.cumQuote += fillQty * price;
      order.commission -= fee;
      this.fills.push({
        tradeId: this.nextId(),
        orderId: order.orderId,
        clientOrderId: order.clientOrderId,
        symbol: order.symbol,
        side: order.side,
        positionSide: order.positionSide,
        qty: fillQty,
        price,
        commission: -fee,
        realisedPnl: pnl,
        liquidatedPrice,
        time: Date.now(),
      });
      trade = { qty: fillQty, price, fee, pnl, time: Date.now() };
    }
    order.updateTime = Date.now();
    const done = order.executedQty >= order.origQty - EPS;
    // A reduce-only remainder with nothing left to reduce is cancelled, never flipped.
    if (done) order.status = 'FILLED';
    else if (closing && this.closableQty(order.symbol, order.side, order.positionSide) <= EPS)
      order.status = order.executedQty > 0 ? 'FILLED' : 'CANCELLED';
    else order.status = order.executedQty > 0 ? 'PARTIALLY_FILLED' : order.status;
    if (trade) {
      this.pushOrder(order, liquidatedPrice > 0 ? 'CALCULATED' : 'TRADE', trade);
      this.pushAccount('ORDER', trade.pnl - trade.fee, [order.symbol]);
    } else if (order.status !== statusBefore) this.pushOrder(order, 'CANCELED');
    if (fillQty > EPS) this.cancelOrphanedExits(order.symbol);
  }

  /** Applies a fill to the position (stored signed in both modes); returns the realised PnL. */
  private movePosition(order: Order, qty: number, price: number): number {
    const key = this.positionKey(order.symbol, order.positionSide);
    const pos = this.positions.get(key) ?? this.newPosition(order.symbol, key);
    const signed = order.side === 'BUY' ? qty : -qty;
    const before = pos.qty;
    let pnl = 0;
    if (before !== 0 && Math.sign(before) !== Math.sign(signed)) {
      pnl = (price - pos.entry) * Math.min(qty, Math.abs(before)) * Math.sign(before);
    } else {
      pos.entry = (pos.entry * Math.abs(before) + price * qty) / (Math.abs(before) + qty);
    }
    const after = roundTo(before + signed, 12);
    if (Math.abs(after) <= EPS) {
      this.positions.delete(key);
      return pnl;
    }
    if (before !== 0 && Math.sign(after) !== Math.sign(before)) pos.entry = price; // one-way flip
    pos.qty = after;
    pos.realised += pnl;
    pos.updateTime = Date.now();
    this.positions.set(key, pos);
    return pnl;
  }

  private closeFromOutside(symbol: string, qty: number | undefined, liquidation: boolean): void {
    for (const pos of [...this.positions.values()].filter((p) => p.symbol === symbol)) {
      const size = Math.abs(pos.qty);
      const side = pos.qty > 0 ? 'SELL' : 'BUY';
      const order = this.outsideOrder(symbol, side, pos.side, Math.min(qty ?? size, size), true);
      const mark = this.mark(symbol);
      this.execute(order, order.origQty, mark, liquidation ? mark : 0);
    }
  }

  private addFromOutside(symbol: string, qty: number): void {
    for (const pos of [...this.positions.values()].filter((p) => p.symbol === symbol)) {
      const order = this.outsideOrder(symbol, pos.qty > 0 ? 'BUY' : 'SELL', pos.side, qty, false);
      this.execute(order, qty, this.mark(symbol), 0);
    }
  }

  /** A market order placed outside PINK (web UI, the venue itself): no client order id. */
  private outsideOrder(
    symbol: string,
    side: Side,
    positionSide: Order['positionSide'],
    qty: number,
    reduceOnly: boolean,
  ): Order {
    const now = Date.now();
    const order: Order = {
      orderId: this.nextId(),
      clientOrderId: '',
      symbol,
      side,
      positionSide,
      type: 'MARKET',
      price: 0,
      origQty: qty,
      executedQty: 0,
      cumQuote: 0,
      commission: 0,
      status: 'NEW',
      reduceOnly,
      leverage: this.leverageOf(symbol),
      time: now,
      updateTime: now,
      piecesLeft: 1,
    };
    this.orders.set(order.orderId, order);
    this.pushOrder(order, 'NEW');
    return order;
  }

  /** BingX cancels reduce-only orders whose position is gone. */
  private cancelOrphanedExits(symbol: string): void {
    for (const o of this.orders.values()) {
      if (o.symbol !== symbol || !isOpen(o) || !o.reduceOnly) continue;
      if (this.closableQty(symbol, o.side, o.positionSide) > EPS) continue;
      o.status = o.executedQty > 0 ? 'FILLED' : 'CANCELLED';
      o.updateTime = Date.now();
      this.pushOrder(o, 'CANCELED');
    }
  }

  private fund(symbol: string, rate: number): void {
    for (const pos of this.positions.values()) {
      if (pos.symbol !== symbol) continue;
      const long = pos.qty > 0;
      const notional = Math.abs(pos.qty) * this.mark(symbol);
      const income = (long ? -1 : 1) * notional * rate;
      this.balance += income;
      this.income.push({
        tranId: `${this.nextId()}_FUNDING`,
        symbol,
        incomeType: 'FUNDING_FEE',
        income,
        time: Date.now(),
      });
      this.pushAccount('FUNDING_FEE', income, [symbol]);
    }
  }

  private cancel(p: Params): unknown {
    const order = this.findOrder(p);
    if (order.status === 'FILLED') throw new ApiError(80018, 'order already filled');
    if (order.status === 'CANCELLED') throw new ApiError(80016, 'order not exist');
    order.status = 'CANCELLED';
    order.updateTime = Date.now();
    this.pushOrder(order, 'CANCELED');
    return this.orderRow(order);
  }

  private findOrder(p: Params): Order {
    const byId = p.orderId ? this.orders.get(p.orderId) : undefined;
    const clientId = (p.clientOrderId ?? p.clientOrderID ?? '').toLowerCase();
    const byClient = clientId ? this.orders.get(this.byClientId.get(clientId) ?? '') : undefined;
    if (!p.orderId && !clientId) throw new ApiError(100400, 'orderId or clientOrderId is required');
    const order = byId ?? byClient;
    if (!order || (p.symbol && order.symbol !== p.symbol)) throw new ApiError(80016, 'order not exist');
    return order;
  }

  // ---- user stream pushes (shapes of the recorded ws payloads) ----------------------------------

  /**
   * ORDER_TRADE_UPDATE: the order's cumulative state (`z` filled, `ap` average price); for a
   * fill (`x` TRADE, or CALCULATED for a liquidation) `n`, `rp` and `T` are those of this fill.
   */
  private pushOrder(
    o: Order,
    execution: 'NEW' | 'TRADE' | 'CALCULATED' | 'CANCELED',
    trade?: { qty: number; price: number; fee: number; pnl: number; time: number },
  ): void {
    const now = Date.now();
    this.streams.push({
      e: 'ORDER_TRADE_UPDATE',
      E: now,
      o: {
        s: o.symbol,
        c: o.clientOrderId,
        i: o.orderId,
        S: o.side,
        o: o.type,
        q: fixed(o.origQty),
        p: fixed(o.type === 'LIMIT' ? o.price : (trade?.price ?? this.marks.get(o.symbol) ?? 0)),
        ap: fixed(o.executedQty > 0 ? o.cumQuote / o.executedQty : 0),
        x: execution,
        X: o.status === 'CANCELLED' ? 'CANCELED' : o.status,
        N: 'USDT',
        n: fixed(trade ? -trade.fee : 0),
        T: trade ? trade.time : 0,
        wt: 'MARK_PRICE',
        ps: o.positionSide,
        rp: fixed(trade?.pnl ?? 0),
        z: fixed(o.executedQty),
      },
    });
  }

  /** ACCOUNT_UPDATE: the USDT wallet (`bc` = this change) and the positions of `symbols` (closed ones with `pa` 0). */
  private pushAccount(reason: string, change: number, symbols: readonly string[]): void {
    const P: unknown[] = [];
    for (const symbol of symbols) {
      const open = [...this.positions.values()].filter((p) => p.symbol === symbol);
      const isolated = this.marginType.get(symbol) === 'ISOLATED';
      for (const p of open)
        P.push({
          s: symbol,
          pa: fixed(Math.abs(p.qty)),
          ep: fixed(p.entry),
          up: fixed((this.mark(symbol) - p.entry) * p.qty),
          mt: isolated ? 'isolated' : 'crossed',
          iw: fixed(isolated ? (Math.abs(p.qty) * p.entry) / this.leverageOf(symbol) : 0),
          ps: p.side !== 'BOTH' ? p.side : p.qty > 0 ? 'LONG' : 'SHORT',
        });
      if (open.length === 0)
        P.push({
          s: symbol,
          pa: fixed(0),
          ep: fixed(0),
          up: fixed(0),
          mt: isolated ? 'isolated' : 'crossed',
          iw: fixed(0),
          ps: 'BOTH',
        });
    }
    this.streams.push({
      e: 'ACCOUNT_UPDATE',
      E: Date.now(),
      a: {
        m: reason,
        B: [{ a: 'USDT', wb: fixed(this.balance), cw: fixed(this.balance), bc: fixed(change) }],
        P,
      },
    });
  }

  // ---- rule helpers -----------------------------------------------------------------------------

  private positionSideOf(p: Params): Order['positionSide'] {
    const ps = upper(p.positionSide || 'BOTH');
    if (ps !== 'BOTH' && ps !== 'LONG' && ps !== 'SHORT')
      throw new ApiError(109400, `positionSide ${p.positionSide}`);
    if (this.hedge && ps === 'BOTH')
      throw new ApiError(109400, 'positionSide BOTH is not allowed in hedge mode');
    if (!this.hedge && ps !== 'BOTH')
      throw new ApiError(109400, `positionSide ${ps} is not allowed in one-way mode`);
    return ps;
  }

  private isClosing(_symbol: string, side: Side, positionSide: string, reduceOnly: boolean): boolean {
    if (positionSide === 'LONG') return side === 'SELL';
    if (positionSide === 'SHORT') return side === 'BUY';
    return reduceOnly;
  }

  /** How much an order on this side can reduce (0 when there is nothing to reduce). */
  private closableQty(symbol: string, side: Side, positionSide: string): number {
    const pos = this.positions.get(this.positionKey(symbol, positionSide));
    if (!pos) return 0;
    return (side === 'SELL' && pos.qty > 0) || (side === 'BUY' && pos.qty < 0) ? Math.abs(pos.qty) : 0;
  }

  private positionKey(symbol: string, positionSide: string): string {
    return `${symbol}|${positionSide}`;
  }

  private checkMargin(symbol: string, qty: number, mark: number): void {
    const needed = (qty * mark) / this.leverageOf(symbol);
    if (needed > this.availableMargin() + EPS) throw new ApiError(101204, 'Insufficient margin');
  }

  private usedMargin(): number {
    let used = 0;
    for (const p of this.positions.values()) used += (Math.abs(p.qty) * p.entry) / this.leverageOf(p.symbol);
    return used;
  }

  private unrealized(): number {
    let u = 0;
    for (const p of this.positions.values()) {
      u += (this.mark(p.symbol) - p.entry) * p.qty;
    }
    return u;
  }

  private availableMargin(): number {
    return this.balance + this.unrealized() - this.usedMargin();
  }

  private requireSymbol(p: Params): string {
    if (!p.symbol) throw new ApiError(109400, 'symbol is required');
    if (!this.contracts.has(p.symbol))
      throw new ApiError(80014, `Invalid parameters, symbol ${p.symbol} does not exist`);
    return p.symbol;
  }

  private symbolOf(symbol: string): string {
    const s = symbol.includes('-') ? symbol : symbol.replace(/(USDT|USDC)$/, '-$1');
    if (!this.contracts.has(s)) throw new Error(`bingx sim: unknown symbol ${symbol}`);
    return s;
  }

  private mark(symbol: string): number {
    const m = this.marks.get(symbol);
    if (m === undefined) throw new ApiError(80014, `no mark price for ${symbol}`);
    return m;
  }

  private leverageOf(symbol: string): number {
    return this.leverage.get(symbol) ?? this.opts.leverage ?? 5;
  }

  private newPosition(symbol: string, key: string): Position {
    const side = key.split('|')[1] as Position['side'];
    return { positionId: this.nextId(), symbol, qty: 0, entry: 0, side, realised: 0, updateTime: Date.now() };
  }

  private nextId(): string {
    this.seq += 1;
    return (this.idBase + BigInt(this.seq) * 1024n).toString();
  }

  // ---- settings ---------------------------------------------------------------------------------

  private getLeverage(p: Params): unknown {
    const symbol = this.requireSymbol(p);
    const l = this.leverageOf(symbol);
    const max = this.contracts.get(symbol)!.maxLeverage;
    return { longLeverage: l, shortLeverage: l, maxLongLeverage: max, maxShortLeverage: max };
  }

  private setLeverage(p: Params): unknown {
    const symbol = this.requireSymbol(p);
    const lev = Number(p.leverage);
    if (!Number.isInteger(lev) || lev < 1)
      throw new ApiError(109400, `leverage must be a whole number >= 1, got ${p.leverage}`);
    if (lev > this.contracts.get(symbol)!.maxLeverage)
      throw new ApiError(101414, 'leverage exceeds the maximum');
    const side = upper(p.side);
    if (!['LONG', 'SHORT', 'BOTH'].includes(side))
      throw new ApiError(109400, `side must be LONG, SHORT or BOTH, got ${p.side}`);
    this.leverage.set(symbol, lev);
    return { leverage: lev, symbol };
  }

  private getMarginType(p: Params): unknown {
    const symbol = this.requireSymbol(p);
    return { marginType: this.marginType.get(symbol) ?? 'CROSSED', symbol };
  }

  private setMarginType(p: Params): unknown {
    const symbol = this.requireSymbol(p);
    const t = upper(p.marginType);
    if (t !== 'CROSSED' && t !== 'ISOLATED')
      throw new ApiError(80014, `Invalid parameters, marginType ${p.marginType}`);
    this.marginType.set(symbol, t);
    return undefined;
  }

  private setDual(p: Params): unknown {
    const want = p.dualSidePosition === 'true';
    if (want !== this.hedge && this.positions.size > 0)
      throw new ApiError(101212, 'position mode cannot change while positions are open');
    this.hedge = want;
    return { dualSidePosition: String(want) };
  }

  // ---- rows (shapes of the recorded payloads) ---------------------------------------------------

  private contractRows(): unknown[] {
    return [...this.contracts.values()].map((c, i) => ({
      contractId: String(100 + i),
      symbol: c.symbol,
      size: '0',
      quantityPrecision: c.quantityPrecision,
      pricePrecision: c.pricePrecision,
      feeRate: c.takerFeeRate,
      makerFeeRate: c.makerFeeRate,
      takerFeeRate: c.takerFeeRate,
      tradeMinLimit: 0,
      tradeMinQuantity: c.tradeMinQuantity,
      tradeMinUSDT: c.tradeMinUSDT,
      maxLongLeverage: c.maxLeverage,
      maxShortLeverage: c.maxLeverage,
      currency: 'USDT',
      asset: c.symbol.split('-')[0],
      status: 1,
      apiStateOpen: 'true',
      apiStateClose: 'true',
    }));
  }

  private createRow(o: Order): unknown {
    return {
      orderId: o.orderId,
      symbol: o.symbol,
      positionSide: o.positionSide,
      side: o.side,
      type: o.type,
      price: String(o.price),
      quantity: String(o.origQty),
      stopPrice: '0',
      workingType: 'MARK_PRICE',
      clientOrderID: o.clientOrderId,
      timeInForce: 'GTC',
      priceRate: '0',
      stopLoss: '',
      takeProfit: '',
      reduceOnly: o.reduceOnly,
    };
  }

  private orderRow(o: Order): unknown {
    const avg = o.executedQty > 0 ? o.cumQuote / o.executedQty : 0;
    return {
      symbol: o.symbol,
      orderId: o.orderId,
      side: o.side,
      positionSide: o.positionSide,
      type: o.type,
      origQty: String(o.origQty),
      price: String(o.price),
      executedQty: String(o.executedQty),
      avgPrice: String(avg),
      cumQuote: String(o.cumQuote),
      stopPrice: '',
      profit: '0.0000',
      commission: String(o.commission),
      status: o.status,
      time: String(o.time),
      updateTime: String(o.updateTime),
      clientOrderId: o.clientOrderId,
      leverage: `${o.leverage}X`,
      workingType: 'MARK_PRICE',
      onlyOnePosition: !this.hedge,
      reduceOnly: o.reduceOnly,
    };
  }

  private openOrders(p: Params): unknown[] {
    return [...this.orders.values()]
      .filter((o) => isOpen(o) && (!p.symbol || o.symbol === p.symbol))
      .map((o) => this.orderRow(o));
  }

  private allOrders(p: Params): unknown[] {
    const limit = p.limit ? Number(p.limit) : 500;
    if (limit > 1000) throw new ApiError(109400, 'limit must be at most 1000');
    const start = p.startTime ? Number(p.startTime) : 0;
    const end = p.endTime ? Number(p.endTime) : Number.POSITIVE_INFINITY;
    return [...this.orders.values()]
      .filter((o) => (!p.symbol || o.symbol === p.symbol) && o.updateTime >= start && o.time <= end)
      .filter((o) => !p.orderId || BigInt(o.orderId) >= BigInt(p.orderId))
      .slice(-limit)
      .map((o) => this.orderRow(o));
  }

  private selectFills(p: Params, startKey: string, endKey: string): Fill[] {
    const start = p[startKey] ? Number(p[startKey]) : 0;
    const end = p[endKey] ? Number(p[endKey]) : Number.POSITIVE_INFINITY;
    return this.fills.filter(
      (f) =>
        (!p.symbol || f.symbol === p.symbol) &&
        (!p.orderId || f.orderId === p.orderId) &&
        f.time >= start &&
        f.time <= end,
    );
  }

  private fillRows(p: Params): unknown[] {
    return this.selectFills(p, 'startTs', 'endTs').map((f) => ({
      filledTm: new Date(f.time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      volume: String(f.qty),
      price: String(f.price),
      amount: String(f.qty * f.price),
      commission: String(f.commission),
      currency: 'USDT',
      orderId: f.orderId,
      liquidatedPrice: f.liquidatedPrice > 0 ? String(f.liquidatedPrice) : '',
      liquidatedMarginRatio: f.liquidatedPrice > 0 ? '1' : '',
      filledTime: new Date(f.time + 8 * 3600_000).toISOString().replace('Z', '+0800'),
      clientOrderID: f.clientOrderId,
      symbol: f.symbol,
      onlyOnePosition: !this.hedge,
    }));
  }

  /** fillHistory rows (doc-2025 field list, with `tradeId`). */
  private fillHistory(p: Params): unknown {
    const rows = this.selectFills(p, 'startTs', 'endTs').map((f) => ({
      symbol: f.symbol,
      qty: String(f.qty),
      quoteQty: String(f.qty * f.price),
      role: 'taker',
      commission: String(f.commission),
      price: String(f.price),
      orderId: f.orderId,
      tradeId: f.tradeId,
      filledTime: new Date(f.time).toISOString(),
      realisedPNL: String(f.realisedPnl),
      side: f.side,
      positionSide: f.positionSide,
    }));
    return { fill_history_orders: rows, total: rows.length };
  }

  private positionRows(p: Params): unknown[] {
    return [...this.positions.values()]
      .filter((pos) => !p.symbol || pos.symbol === p.symbol)
      .map((pos) => {
        const long = pos.qty > 0;
        const size = Math.abs(pos.qty);
        const mark = this.mark(pos.symbol);
        const lev = this.leverageOf(pos.symbol);
        return {
          positionId: pos.positionId,
          symbol: pos.symbol,
          currency: 'USDT',
          positionAmt: String(size),
          availableAmt: String(size),
          positionSide: long ? 'LONG' : 'SHORT',
          isolated: this.marginType.get(pos.symbol) === 'ISOLATED',
          avgPrice: String(pos.entry),
          initialMargin: String((size * pos.entry) / lev),
          leverage: lev,
          unrealizedProfit: String((mark - pos.entry) * size * (long ? 1 : -1)),
          realisedProfit: String(pos.realised),
          liquidationPrice: 0,
          markPrice: String(mark),
          positionValue: String(size * mark),
          onlyOnePosition: !this.hedge,
          updateTime: pos.updateTime,
        };
      });
  }

  private balanceRow(): unknown {
    const unrealized = this.unrealized();
    return {
      userId: '1000001',
      asset: 'USDT',
      balance: this.balance.toFixed(4),
      equity: (this.balance + unrealized).toFixed(4),
      unrealizedProfit: unrealized.toFixed(4),
      realisedProfit: '0',
      availableMargin: this.availableMargin().toFixed(4),
      usedMargin: this.usedMargin().toFixed(4),
      freezedMargin: '0.0000',
      shortUid: '1000001',
    };
  }

  private incomeRows(p: Params): unknown[] {
    const start = p.startTime ? Number(p.startTime) : 0;
    const end = p.endTime ? Number(p.endTime) : Number.POSITIVE_INFINITY;
    return this.income
      .filter((r) => (!p.symbol || r.symbol === p.symbol) && (!p.incomeType || r.incomeType === p.incomeType))
      .filter((r) => r.time >= start && r.time <= end)
      .map((r) => ({
        symbol: r.symbol,
        incomeType: r.incomeType,
        income: String(r.income),
        asset: 'USDT',
        info: 'Funding Fee',
        time: String(r.time),
        tranId: r.tranId,
        tradeId: r.tranId,
      }));
  }

  private books(): SimBooks {
    return {
      positions: [...this.positions.values()].map((p) => ({
        symbol: p.symbol,
        positionSide: p.side,
        qty: p.qty,
        entryPrice: p.entry,
      })),
      orders: [...this.orders.values()].map((o) => ({
        orderId: o.orderId,
        clientOrderId: o.clientOrderId,
        symbol: o.symbol,
        side: o.side,
        positionSide: o.positionSide,
        type: o.type,
        status: o.status,
        origQty: o.origQty,
        executedQty: o.executedQty,
        avgPrice: o.executedQty > 0 ? o.cumQuote / o.executedQty : 0,
        reduceOnly: o.reduceOnly,
        time: o.time,
      })),
      fills: this.fills.map((f) => ({
        tradeId: f.tradeId,
        orderId: f.orderId,
        clientOrderId: f.clientOrderId,
        symbol: f.symbol,
        side: f.side,
        qty: f.qty,
        price: f.price,
        commission: f.commission,
        liquidation: f.liquidatedPrice > 0,
        time: f.time,
      })),
      income: this.income.map((r) => ({ ...r })),
      balance: this.balance,
      requests: { ...this.requests },
    };
  }

  // ---- timers -----------------------------------------------------------------------------------

  private later(ms: number, run: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      run();
    }, ms);
    this.timers.add(t);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.later(ms, resolve));
  }
}

/** BingX's websocket number strings: 8 decimals. */
function fixed(v: number): string {
  return (Math.abs(v) < 5e-9 ? 0 : v).toFixed(8);
}

/** Removes, in place, the rows older than `cutoff` (order kept). */
function dropOlderThan<T extends { time: number }>(rows: T[], cutoff: number): void {
  let kept = 0;
  for (const r of rows) if (r.time >= cutoff) rows[kept++] = r;
  rows.length = kept;
}

function isOpen(o: Order): boolean {
  return o.status === 'NEW' || o.status === 'PENDING' || o.status === 'PARTIALLY_FILLED';
}

function upper(v: string | undefined): string {
  return (v ?? '').toUpperCase();
}

function roundTo(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function onStep(qty: number, precision: number): boolean {
  const scaled = qty * 10 ** precision;
  return Math.abs(scaled - Math.round(scaled)) < 1e-6;
}

function isForm(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded');
}

/** Splits `…&signature=hex` off the parameter string (signature is sent last). */
function splitSignature(raw: string): { signed: string; signature: string | null } {
  const parts = raw.split('&');
  const idx = parts.findIndex((p) => p.startsWith('signature='));
  if (idx < 0) return { signed: raw, signature: null };
  const signature = parts[idx]!.slice('signature='.length);
  parts.splice(idx, 1);
  return { signed: parts.join('&'), signature };
}

/** The parameter string with each value URL-decoded (ccxt signs the unencoded form). */
function decodeParams(raw: string): string {
  return raw
    .split('&')
    .map((kv) => {
      const eq = kv.indexOf('=');
      if (eq < 0) return kv;
      return `${kv.slice(0, eq)}=${safeDecode(kv.slice(eq + 1))}`;
    })
    .join('&');
}

function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v.replace(/\+/g, ' '));
  } catch {
    return v;
  }
}

export function hmacHex(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
