/**
 * Pure translation of raw BingX swap payloads (REST and user-stream websocket) into
 * PINK's venue shapes. Everything BingX-specific about typing lives here:
 * `code` as 0 or "0", numbers as numeric strings, ids above 2^53 (parse with
 * `parseBingxJson` so they stay exact strings), leverage as 5 / "5" / "5X",
 * CANCELED vs CANCELLED, and commission negative = fee paid.
 * A payload that cannot be read throws `BingxPayloadError` naming the field and value.
 */
import { createHash } from 'node:crypto';
import type { FillFact, FundingFact, OpenOrder, OrderSide, PositionFact } from '../../domain/venue.js';
import { type CanonicalError, classifyBingxCode } from './errors.js';

export class BingxPayloadError extends Error {
  override name = 'BingxPayloadError';
}

// ---- JSON ---------------------------------------------------------------------------------------

/**
 * JSON.parse that keeps integers beyond 2^53 exact by turning them into strings
 * (BingX order ids like 1736012449498123456 arrive as unquoted numbers).
 */
export function parseBingxJson(text: string): unknown {
  try {
    return JSON.parse(quoteUnsafeIntegers(text));
  } catch (err) {
    throw new BingxPayloadError(`not valid JSON (${(err as Error).message}): ${preview(text)}`);
  }
}

function quoteUnsafeIntegers(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
      continue;
    }
    if (ch === '-' || (ch >= '0' && ch <= '9')) {
      const match = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
      const token = match ? match[0] : ch;
      const isInteger = match !== null && match[1] === undefined && match[2] === undefined;
      out += isInteger && !Number.isSafeInteger(Number(token)) ? `"${token}"` : token;
      i += token.length;
      continue;
    }
    out += ch;
    i += 1;
  }
  return out;
}

function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === '\\') i += 2;
    else if (text[i] === '"') return i + 1;
    else i += 1;
  }
  return text.length;
}

function preview(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat;
}

// ---- envelope -----------------------------------------------------------------------------------

export type Envelope = { ok: true; data: unknown } | { ok: false; error: CanonicalError; msg: string };

/** Unwraps `{code, msg, data}`; payloads without `code` (listenKey, fillHistory) pass whole. */
export function unwrapEnvelope(payload: unknown): Envelope {
  if (!isRecord(payload)) throw new BingxPayloadError(`expected a JSON object, got ${show(payload)}`);
  if (!('code' in payload)) return { ok: true, data: payload };
  const code = payload.code;
  if (typeof code !== 'number' && typeof code !== 'string')
    throw new BingxPayloadError(`"code" must be a number or string, got ${show(code)}`);
  if (String(code) === '0') return { ok: true, data: payload.data };
  const msg = typeof payload.msg === 'string' ? payload.msg : '';
  return { ok: false, error: classifyBingxCode(code, msg), msg };
}

// ---- scalars ------------------------------------------------------------------------------------

type Rec = Record<string, unknown>;

function isRecord(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const text = typeof v === 'string' ? JSON.stringify(v) : String(JSON.stringify(v) ?? v);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** A number from a number or numeric string; `fallback` when absent or "". */
export function num(row: Rec, field: string, fallback?: number): number {
  const v = row[field];
  if ((v === undefined || v === null || v === '') && fallback !== undefined) return fallback;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN;
  if (!Number.isFinite(n)) throw new BingxPayloadError(`"${field}" must be numeric, got ${show(v)}`);
  return n;
}

/** num() for a quantity or price: negative is refused, never passed on. */
function nonNegative(row: Rec, field: string, fallback?: number): number {
  const n = num(row, field, fallback);
  if (n < 0) throw new BingxPayloadError(`"${field}" must be >= 0, got ${show(row[field])}`);
  return n;
}

/** num() for a fill's quantity and price: a fill of nothing, or at no price, is refused. */
function positive(row: Rec, field: string): number {
  const n = num(row, field);
  if (!(n > 0)) throw new BingxPayloadError(`"${field}" must be > 0, got ${show(row[field])}`);
  return n;
}

/** -v without producing -0 (a zero commission is a zero fee). */
function negate(v: number): number {
  return v === 0 ? 0 : -v;
}

/** An id from a string or (already safe-parsed) number; "" when absent. */
export function id(row: Rec, field: string): string {
  const v = row[field];
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  if (typeof v === 'number')
    throw new BingxPayloadError(`"${field}" lost precision (${v}); parse with parseBingxJson`);
  throw new BingxPayloadError(`"${field}" must be an id, got ${show(v)}`);
}

function requiredId(row: Rec, field: string): string {
  const v = id(row, field);
  if (v === '') throw new BingxPayloadError(`"${field}" is missing in ${show(row)}`);
  return v;
}

function str(row: Rec, field: string): string {
  const v = row[field];
  if (typeof v === 'object' && v !== null)
    throw new BingxPayloadError(`"${field}" must be a string, got ${show(v)}`);
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

/** A required symbol: a non-empty string, never a number or an object turned into one. */
function symbolOf(row: Rec, field: string, context: string): string {
  const v = row[field];
  if (v === undefined || v === null || v === '')
    throw new BingxPayloadError(`${context}: "${field}" is missing in ${show(row)}`);
  if (typeof v !== 'string')
    throw new BingxPayloadError(`${context}: "${field}" must be a string, got ${show(v)}`);
  return v;
}

/** LONG, SHORT or BOTH ("" = BOTH); anything else would be read as BOTH and mis-sign a position. */
function positionSideOf(row: Rec, field: string): string {
  const v = str(row, field).toUpperCase();
  if (v === '') return 'BOTH';
  if (v === 'LONG' || v === 'SHORT' || v === 'BOTH') return v;
  throw new BingxPayloadError(`"${field}" must be LONG, SHORT or BOTH, got ${show(row[field])}`);
}

function bool(row: Rec, field: string): boolean {
  const v = row[field];
  return v === true || v === 'true';
}

/** Leverage as 5, "5" or "5X"; null when absent or "". */
export function parseLeverage(v: unknown): number | null {
  if (v === undefined || v === null || v === '') return null;
  const n = typeof v === 'number' ? v : Number(String(v).replace(/x$/i, ''));
  if (!Number.isFinite(n) || n <= 0)
    throw new BingxPayloadError(`leverage must look like 5, "5" or "5X", got ${show(v)}`);
  return n;
}

/** Milliseconds from a number, numeric string or ISO time ("…+0800" offsets included). */
export function parseTime(v: unknown, field = 'time'): number {
  const ms =
    typeof v === 'number'
      ? v
      : typeof v === 'string' && /^\d+$/.test(v)
        ? Number(v)
        : typeof v === 'string'
          ? Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
          : Number.NaN;
  // Epoch ms from 1970 to the end of the ECMAScript time range; no negative or unbounded times.
  if (Number.isFinite(ms) && ms >= 0 && ms <= 8.64e15) return ms;
  throw new BingxPayloadError(`"${field}" must be a time, got ${show(v)}`);
}

function side(row: Rec, field: string): OrderSide {
  const v = str(row, field).toUpperCase();
  if (v === 'BUY' || v === 'SELL') return v;
  throw new BingxPayloadError(`"${field}" must be BUY or SELL, got ${show(row[field])}`);
}

// ---- symbols ------------------------------------------------------------------------------------

/** "BTC-USDT" -> "BTCUSDT" (PINK's asset names are the scan's symbols). */
export function symbolToAsset(symbol: string): string {
  return symbol.replace('-', '');
}

/** "BTCUSDT" -> "BTC-USDT"; an asset already in BingX form passes unchanged. */
export function assetToSymbol(asset: string): string {
  if (asset.includes('-')) return asset;
  const quote = ['USDT', 'USDC'].find((q) => asset.endsWith(q) && asset.length > q.length);
  if (!quote) throw new BingxPayloadError(`asset ${show(asset)} does not end in USDT or USDC`);
  return `${asset.slice(0, -quote.length)}-${quote}`;
}

/** "BTCUSDT" -> ccxt's unified "BTC/USDT:USDT". */
export function assetToCcxtSymbol(asset: string): string {
  const [base, quote] = assetToSymbol(asset).split('-') as [string, string];
  return `${base}/${quote}:${quote}`;
}

// ---- orders -------------------------------------------------------------------------------------

export type OrderState = 'OPEN' | 'FILLED' | 'CANCELLED' | 'EXPIRED' | 'REJECTED';

/** REST and websocket statuses; CANCELED and CANCELLED are the same state. */
export function orderState(status: string): OrderState {
  switch (status.toUpperCase()) {
    case '':
    case 'NEW':
    case 'PENDING':
    case 'PARTIALLY_FILLED':
    case 'RUNNING':
    case 'WORKING':
      return 'OPEN';
    case 'FILLED':
      return 'FILLED';
    case 'CANCELED':
    case 'CANCELLED':
      return 'CANCELLED';
    case 'EXPIRED':
      return 'EXPIRED';
    case 'FAILED':
    case 'REJECTED':
      return 'REJECTED';
    default:
      throw new BingxPayloadError(`unknown order status ${show(status)}`);
  }
}

export interface BingxOrder {
  readonly exchangeOrderId: string;
  /** As the venue stored it (lower-cased); "" for orders placed outside PINK. */
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly asset: string;
  readonly side: OrderSide;
  readonly positionSide: string;
  readonly type: string;
  readonly qty: number;
  readonly filledQty: number;
  readonly avgPrice: number;
  /** Fee paid so far, positive = cost (BingX commission is negative when paid). */
  readonly fee: number;
  readonly state: OrderState;
  readonly rawStatus: string;
  readonly reduceOnly: boolean;
  readonly leverage: number | null;
  readonly time: number;
  readonly updateTime: number;
}

/** One order object (query, open, history, cancel, create responses). */
export function normalizeOrder(row: unknown): BingxOrder {
  if (!isRecord(row)) throw new BingxPayloadError(`order must be an object, got ${show(row)}`);
  const exchangeOrderId = id(row, 'orderId') || requiredId(row, 'orderID');
  const symbol = symbolOf(row, 'symbol', `order ${exchangeOrderId}`);
  const rawStatus = str(row, 'status');
  const time = row.time === undefined ? 0 : parseTime(row.time, 'time');
  return {
    exchangeOrderId,
    clientOrderId: str(row, 'clientOrderId') || str(row, 'clientOrderID'),
    symbol,
    asset: symbolToAsset(symbol),
    side: side(row, 'side'),
    positionSide: positionSideOf(row, 'positionSide'),
    type: str(row, 'type'),
    qty: 'origQty' in row ? nonNegative(row, 'origQty', 0) : nonNegative(row, 'quantity', 0),
    filledQty: nonNegative(row, 'executedQty', 0),
    avgPrice: nonNegative(row, 'avgPrice', 0),
    fee: negate(num(row, 'commission', 0)),
    state: orderState(rawStatus),
    rawStatus,
    reduceOnly: bool(row, 'reduceOnly'),
    leverage: parseLeverage(row.leverage),
    time,
    updateTime: row.updateTime === undefined ? time : parseTime(row.updateTime, 'updateTime'),
  };
}

/** Orders inside a successful `data`: `data.order`, `data.orders`, `data.success` or `data` itself. */
export function ordersIn(data: unknown): BingxOrder[] {
  if (Array.isArray(data)) return data.map(normalizeOrder);
  if (!isRecord(data)) throw new BingxPayloadError(`expected order data, got ${show(data)}`);
  if (isRecord(data.order)) return [normalizeOrder(data.order)];
  for (const key of ['orders', 'success'] as const) {
    const list = data[key];
    // `success` may list bare ids next to order objects; `orders` holds orders only.
    if (Array.isArray(list)) return (key === 'orders' ? list : list.filter(isRecord)).map(normalizeOrder);
    if (key === 'orders' && list === null) return [];
  }
  if ('orderId' in data || 'orderID' in data) return [normalizeOrder(data)];
  throw new BingxPayloadError(`no order in ${show(data)}`);
}

export function toOpenOrder(o: BingxOrder): OpenOrder {
  return {
    clientOrderId: o.clientOrderId,
    exchangeOrderId: o.exchangeOrderId,
    asset: o.asset,
    side: o.side,
    qty: o.qty,
    filledQty: o.filledQty,
    reduceOnly: o.reduceOnly || isClosingSide(o),
  };
}

/** In hedge mode BingX drops reduceOnly: a BUY on SHORT (or SELL on LONG) closes. */
function isClosingSide(o: BingxOrder): boolean {
  return (o.positionSide === 'SHORT' && o.side === 'BUY') || (o.positionSide === 'LONG' && o.side === 'SELL');
}

// ---- fills --------------------------------------------------------------------------------------

export interface BingxFill {
  /** `tradeId` when BingX gives one, otherwise built from order id, time, qty and price. */
  readonly fillKey: string;
  readonly exchangeOrderId: string;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly asset: string;
  /** allFillOrders rows carry no side: null, resolve it from the order. */
  readonly side: OrderSide | null;
  readonly qty: number;
  readonly price: number;
  readonly fee: number;
  readonly liquidation: boolean;
  readonly ts: number;
}

/** One row of allFillOrders (`data.fill_orders`) or fillHistory (`fill_history_orders`). */
export function normalizeFill(row: unknown): BingxFill {
  if (!isRecord(row)) throw new BingxPayloadError(`fill must be an object, got ${show(row)}`);
  const exchangeOrderId = requiredId(row, 'orderId');
  const symbol = symbolOf(row, 'symbol', `fill of order ${exchangeOrderId}`);
  const qty = 'volume' in row ? positive(row, 'volume') : positive(row, 'qty');
  const price = positive(row, 'price');
  const timeField = row.filledTm !== undefined ? 'filledTm' : 'filledTime';
  const ts = parseTime(row[timeField], timeField);
  const tradeId = id(row, 'tradeId');
  const liquidatedPrice = num(row, 'liquidatedPrice', 0);
  return {
    fillKey:
      tradeId || `${exchangeOrderId}:${ts}:${str(row, 'volume') || str(row, 'qty')}:${str(row, 'price')}`,
    exchangeOrderId,
    clientOrderId: (str(row, 'clientOrderID') || str(row, 'clientOrderId')).toLowerCase(),
    symbol,
    asset: symbolToAsset(symbol),
    side: row.side === undefined ? null : side(row, 'side'),
    qty,
    price,
    fee: negate(num(row, 'commission', 0)),
    liquidation: liquidatedPrice > 0,
    ts,
  };
}

export function fillsIn(data: unknown): BingxFill[] {
  return fillListOf(data).map(normalizeFill);
}

function fillListOf(data: unknown): unknown[] {
  if (!isRecord(data)) throw new BingxPayloadError(`expected fill data, got ${show(data)}`);
  const list = data.fill_orders ?? data.fill_history_orders;
  if (list === null) return [];
  if (!Array.isArray(list))
    throw new BingxPayloadError(`no fill_orders / fill_history_orders in ${show(data)}`);
  return list;
}

/** A row the venue sent that cannot be read: kept aside (by a stable key) and reported, never fatal. */
export interface QuarantinedRow {
  /** Stable per row content, so a row listed by every poll is reported once. */
  readonly key: string;
  readonly error: string;
  readonly excerpt: string;
}

/**
 * Fills row by row: one unreadable row is quarantined and the others pass, so a single bad
 * row can never stop order and fill processing (the poll window still advances).
 */
export function fillsWithQuarantine(data: unknown): { fills: BingxFill[]; quarantined: QuarantinedRow[] } {
  const fills: BingxFill[] = [];
  const quarantined: QuarantinedRow[] = [];
  for (const row of fillListOf(data)) {
    try {
      fills.push(normalizeFill(row));
    } catch (err) {
      if (!(err instanceof BingxPayloadError)) throw err;
      const text = String(JSON.stringify(row) ?? row);
      quarantined.push({
        key: `fillrow:${createHash('sha256').update(text).digest('hex').slice(0, 24)}`,
        error: err.message,
        excerpt: show(row),
      });
    }
  }
  return { fills, quarantined };
}

/**
 * Stable fill ids for a batch: identical keys (two fills of one order with the same
 * second, qty and price) get `#2`, `#3`… in the order the venue listed them.
 */
export function withFillIds(fills: readonly BingxFill[]): Array<BingxFill & { fillId: string }> {
  const seen = new Map<string, number>();
  return fills.map((f) => {
    const n = (seen.get(f.fillKey) ?? 0) + 1;
    seen.set(f.fillKey, n);
    return { ...f, fillId: n === 1 ? f.fillKey : `${f.fillKey}#${n}` };
  });
}

export function toFillFact(f: BingxFill & { fillId: string }, sideOf: OrderSide | null): FillFact {
  const resolved = f.side ?? sideOf;
  if (!resolved)
    throw new BingxPayloadError(`fill ${f.fillId}: side unknown (order ${f.exchangeOrderId} not found)`);
  return {
    kind: 'fill',
    clientOrderId: f.clientOrderId,
    exchangeOrderId: f.exchangeOrderId,
    fillId: f.fillId,
    asset: f.asset,
    side: resolved,
    qty: f.qty,
    price: f.price,
    fee: f.fee,
    liquidation: f.liquidation,
    ts: f.ts,
  };
}

// ---- positions ----------------------------------------------------------------------------------

/** One position row; quantity signed (SHORT rows negative, BOTH rows keep their sign). */
export function normalizePosition(row: unknown, now: number): PositionFact {
  if (!isRecord(row)) throw new BingxPayloadError(`position must be an object, got ${show(row)}`);
  const symbol = symbolOf(row, 'symbol', 'position');
  const amount = num(row, 'positionAmt');
  const positionSide = positionSideOf(row, 'positionSide');
  const qty =
    positionSide === 'SHORT' ? -Math.abs(amount) : positionSide === 'LONG' ? Math.abs(amount) : amount;
  return {
    kind: 'position',
    asset: symbolToAsset(symbol),
    qty,
    entryPrice: nonNegative(row, 'avgPrice', 0),
    ts: row.updateTime === undefined ? now : parseTime(row.updateTime, 'updateTime'),
  };
}

/**
 * Positions per asset, hedge-mode LONG and SHORT rows netted into one signed quantity.
 * Only an explicit list means anything: `null`, a missing field or any other shape is an
 * unknown (an error the caller retries), never "no positions", which would close live trades.
 */
export function positionsIn(data: unknown, now: number): PositionFact[] {
  if (!Array.isArray(data))
    throw new BingxPayloadError(
      `positions must be a list (null or a missing list is unknown, not flat), got ${show(data)}`,
    );
  const byAsset = new Map<string, PositionFact>();
  for (const row of data) {
    const p = normalizePosition(row, now);
    const before = byAsset.get(p.asset);
    if (!before) {
      byAsset.set(p.asset, p);
      continue;
    }
    const qty = before.qty + p.qty;
    const entry = Math.abs(p.qty) > Math.abs(before.qty) ? p.entryPrice : before.entryPrice;
    byAsset.set(p.asset, { ...p, qty, entryPrice: entry, ts: Math.max(p.ts, before.ts) });
  }
  return [...byAsset.values()];
}

// ---- balance ------------------------------------------------------------------------------------

export interface BingxBalance {
  readonly asset: string;
  readonly balance: number;
  readonly equity: number;
  readonly availableMargin: number;
  readonly usedMargin: number;
  readonly unrealizedProfit: number;
  readonly realisedProfit: number;
}

function normalizeBalanceRow(row: unknown): BingxBalance {
  if (!isRecord(row)) throw new BingxPayloadError(`balance row must be an object, got ${show(row)}`);
  const asset = str(row, 'asset');
  if (!asset) throw new BingxPayloadError(`balance row: "asset" is missing in ${show(row)}`);
  // An empty string is how BingX reports an asset the account never held: zero.
  return {
    asset,
    balance: num(row, 'balance', 0),
    equity: num(row, 'equity', 0),
    availableMargin: num(row, 'availableMargin', 0),
    usedMargin: num(row, 'usedMargin', 0),
    unrealizedProfit: num(row, 'unrealizedProfit', 0),
    realisedProfit: num(row, 'realisedProfit', 0),
  };
}

/** v3 balance (a list of rows) or v2 balance (`{balance: {...}}`). */
export function balancesIn(data: unknown): BingxBalance[] {
  if (Array.isArray(data)) return data.map(normalizeBalanceRow);
  if (isRecord(data) && isRecord(data.balance)) return [normalizeBalanceRow(data.balance)];
  throw new BingxPayloadError(`expected a balance list or {balance: {...}}, got ${show(data)}`);
}

// ---- income (funding) ---------------------------------------------------------------------------

export interface BingxIncome {
  readonly id: string;
  readonly incomeType: string;
  readonly asset: string;
  /** As BingX reports it: negative = paid. */
  readonly income: number;
  readonly ts: number;
}

export function incomeIn(data: unknown): BingxIncome[] {
  if (data === null) return [];
  if (!Array.isArray(data)) throw new BingxPayloadError(`income must be a list, got ${show(data)}`);
  return data.map((row) => {
    if (!isRecord(row)) throw new BingxPayloadError(`income row must be an object, got ${show(row)}`);
    return {
      id: requiredId(row, 'tranId'),
      incomeType: str(row, 'incomeType'),
      asset: symbolToAsset(str(row, 'symbol')),
      income: num(row, 'income'),
      ts: parseTime(row.time, 'time'),
    };
  });
}

/** FUNDING_FEE rows as FundingFacts (positive = cost); other income types are not funding. */
export function toFundingFact(row: BingxIncome): FundingFact | null {
  if (row.incomeType !== 'FUNDING_FEE') return null;
  return { kind: 'funding', id: row.id, asset: row.asset, amount: negate(row.income), ts: row.ts };
}

// ---- markets ------------------------------------------------------------------------------------

export interface BingxContract {
  readonly symbol: string;
  readonly asset: string;
  readonly quantityPrecision: number;
  readonly pricePrecision: number;
  readonly minQty: number;
  readonly minNotional: number;
  readonly takerFeeRate: number;
  readonly maxLeverage: number;
  readonly tradable: boolean;
}

export function contractsIn(data: unknown): BingxContract[] {
  if (!Array.isArray(data)) throw new BingxPayloadError(`contracts must be a list, got ${show(data)}`);
  return data.map((row) => {
    if (!isRecord(row)) throw new BingxPayloadError(`contract must be an object, got ${show(row)}`);
    const symbol = symbolOf(row, 'symbol', 'contract');
    return {
      symbol,
      asset: symbolToAsset(symbol),
      quantityPrecision: num(row, 'quantityPrecision'),
      pricePrecision: num(row, 'pricePrecision'),
      minQty: num(row, 'tradeMinQuantity', 0),
      minNotional: num(row, 'tradeMinUSDT', 0),
      takerFeeRate: num(row, 'takerFeeRate', num(row, 'feeRate', 0)),
      maxLeverage: Math.min(num(row, 'maxLongLeverage', 0), num(row, 'maxShortLeverage', 0)),
      tradable: str(row, 'apiStateOpen') === 'true' && str(row, 'apiStateClose') === 'true',
    };
  });
}

// ---- websocket user stream ----------------------------------------------------------------------

export interface WsOrderUpdate {
  readonly order: BingxOrder;
  /** Execution type `x`: NEW, CANCELED, CALCULATED (liquidation/ADL), EXPIRED, TRADE. */
  readonly execution: string;
  /** Realised PnL of this update (`rp`). */
  readonly realisedPnl: number;
}

/** ORDER_TRADE_UPDATE: the order's cumulative state (`z`, `ap`); fills are its deltas. */
export function normalizeWsOrderUpdate(event: unknown): WsOrderUpdate {
  if (!isRecord(event) || event.e !== 'ORDER_TRADE_UPDATE' || !isRecord(event.o))
    throw new BingxPayloadError(`not an ORDER_TRADE_UPDATE event: ${show(event)}`);
  const o = event.o;
  const symbol = symbolOf(o, 's', 'ORDER_TRADE_UPDATE o');
  const rawStatus = str(o, 'X');
  const ts = o.T !== undefined && num(o, 'T', 0) > 0 ? parseTime(o.T, 'T') : parseTime(event.E, 'E');
  return {
    order: {
      exchangeOrderId: requiredId(o, 'i'),
      clientOrderId: str(o, 'c'),
      symbol,
      asset: symbolToAsset(symbol),
      side: side(o, 'S'),
      positionSide: positionSideOf(o, 'ps'),
      type: str(o, 'o'),
      qty: nonNegative(o, 'q', 0),
      filledQty: nonNegative(o, 'z', 0),
      avgPrice: nonNegative(o, 'ap', 0),
      fee: negate(num(o, 'n', 0)),
      state: orderState(rawStatus),
      rawStatus,
      reduceOnly: bool(o, 'ro'),
      leverage: null,
      time: ts,
      updateTime: ts,
    },
    execution: str(o, 'x'),
    realisedPnl: num(o, 'rp', 0),
  };
}

export interface WsAccountUpdate {
  readonly reason: string;
  readonly balances: ReadonlyArray<{ asset: string; walletBalance: number; change: number }>;
  readonly positions: PositionFact[];
}

/** ACCOUNT_UPDATE: balance rows `B` and position rows `P`. */
export function normalizeWsAccountUpdate(event: unknown): WsAccountUpdate {
  if (!isRecord(event) || event.e !== 'ACCOUNT_UPDATE' || !isRecord(event.a))
    throw new BingxPayloadError(`not an ACCOUNT_UPDATE event: ${show(event)}`);
  const a = event.a;
  const ts = parseTime(event.E, 'E');
  const rows = (field: string): Rec[] => {
    const list = a[field] ?? [];
    if (!Array.isArray(list)) throw new BingxPayloadError(`ACCOUNT_UPDATE a.${field} must be a list`);
    return list.map((row, i) => {
      if (!isRecord(row))
        throw new BingxPayloadError(`ACCOUNT_UPDATE a.${field}[${i}] must be an object, got ${show(row)}`);
      return row;
    });
  };
  return {
    reason: str(a, 'm'),
    balances: rows('B').map((b) => ({
      asset: symbolOf(b, 'a', 'ACCOUNT_UPDATE a.B'),
      walletBalance: num(b, 'wb'),
      change: num(b, 'bc', 0),
    })),
    positions: rows('P').map((p) =>
      normalizePosition(
        { symbol: str(p, 's'), positionAmt: p.pa, avgPrice: p.ep, positionSide: str(p, 'ps') || 'BOTH' },
        ts,
      ),
    ),
  };
}

// ---- one entry point per recorded endpoint ------------------------------------------------------

export type NormalizedResponse =
  | { kind: 'error'; error: CanonicalError }
  | { kind: 'orders'; orders: BingxOrder[] }
  | { kind: 'fills'; fills: BingxFill[] }
  | { kind: 'positions'; positions: PositionFact[] }
  | { kind: 'balances'; balances: BingxBalance[] }
  | { kind: 'income'; income: BingxIncome[] }
  | { kind: 'contracts'; contracts: BingxContract[] }
  | { kind: 'serverTime'; serverTime: number }
  | { kind: 'leverage'; long: number | null; short: number | null }
  | { kind: 'marginType'; marginType: string | null }
  | { kind: 'wsOrder'; update: WsOrderUpdate }
  | { kind: 'wsAccount'; update: WsAccountUpdate }
  | { kind: 'other'; data: unknown };

/** Normalizes a response of `endpoint` (path as in the BingX docs, or the WS event name). */
export function normalizeResponse(endpoint: string, payload: unknown, now = Date.now()): NormalizedResponse {
  if (isRecord(payload) && payload.e === 'ORDER_TRADE_UPDATE')
    return { kind: 'wsOrder', update: normalizeWsOrderUpdate(payload) };
  if (isRecord(payload) && payload.e === 'ACCOUNT_UPDATE')
    return { kind: 'wsAccount', update: normalizeWsAccountUpdate(payload) };
  const env = unwrapEnvelope(payload);
  if (!env.ok) return { kind: 'error', error: env.error };
  const data = env.data;
  const path = endpoint.replace(/^\/openApi/, '');
  if (/\/trade\/(order|order\/test|openOrders|allOrders|batchOrders|allOpenOrders)$/.test(path))
    return { kind: 'orders', orders: ordersIn(data) };
  if (/\/trade\/(allFillOrders|fillHistory)$/.test(path)) return { kind: 'fills', fills: fillsIn(data) };
  if (path.endsWith('/user/positions')) return { kind: 'positions', positions: positionsIn(data, now) };
  if (path.endsWith('/user/balance')) return { kind: 'balances', balances: balancesIn(data) };
  if (path.endsWith('/user/income')) return { kind: 'income', income: incomeIn(data) };
  if (path.endsWith('/quote/contracts')) return { kind: 'contracts', contracts: contractsIn(data) };
  if (path.endsWith('/server/time') && isRecord(data))
    return { kind: 'serverTime', serverTime: parseTime(data.serverTime, 'serverTime') };
  if (path.endsWith('/trade/leverage') && isRecord(data)) {
    const single = parseLeverage(data.leverage);
    return {
      kind: 'leverage',
      long: parseLeverage(data.longLeverage) ?? single,
      short: parseLeverage(data.shortLeverage) ?? single,
    };
  }
  if (path.endsWith('/trade/marginType'))
    return { kind: 'marginType', marginType: isRecord(data) ? str(data, 'marginType') || null : null };
  return { kind: 'other', data };
}
