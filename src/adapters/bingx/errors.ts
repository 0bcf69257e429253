/**
 * BingX and ccxt errors mapped to the four outcomes the venue adapter acts on:
 *
 * - `rejected`: the venue refused the request; it did not and will not happen (RejectFact).
 * - `retryable`: transient; the request may be sent again (network, rate limit, busy).
 * - `unknown`: the request may or may not have taken effect (timeouts on an order placement,
 *   BingX "rpc timeout", HTTP 504); the caller must look the order up before retrying.
 * - `fatal`: nothing will work until a human acts (bad key, signature, IP whitelist, ban).
 *
 * A BingX business code wins over the ccxt class, because ccxt maps many codes to the
 * generic ExchangeError and the code is what the BingX docs define.
 */

export type ErrorOutcome = 'rejected' | 'retryable' | 'unknown' | 'fatal';

export interface CanonicalError {
  readonly outcome: ErrorOutcome;
  /** BingX code (e.g. "101204"), HTTP status ("http429") or ccxt class name. */
  readonly code: string;
  /** Canonical reason name plus the venue's message, for logs and RejectFacts. */
  readonly reason: string;
}

interface CodeRule {
  readonly outcome: ErrorOutcome;
  readonly name: string;
}

/** BingX business codes (README "Errors": doc-2023, doc-2025, ccxt exceptions map). */
export const BINGX_CODE_TABLE: Readonly<Record<string, CodeRule>> = {
  '100001': { outcome: 'fatal', name: 'AuthenticationError (signature verification failed)' },
  '100004': { outcome: 'fatal', name: 'PermissionDenied (API key lacks permission)' },
  '100412': { outcome: 'fatal', name: 'AuthenticationError (null signature)' },
  '100413': { outcome: 'fatal', name: 'AuthenticationError (incorrect or null apiKey)' },
  '100414': { outcome: 'fatal', name: 'AccountSuspended (risk control)' },
  '100419': { outcome: 'fatal', name: 'PermissionDenied (IP not in whitelist)' },
  '100421': { outcome: 'rejected', name: 'BadRequest (timestamp mismatch or pair restricted)' },
  '100410': { outcome: 'retryable', name: 'RateLimitExceeded (system busy)' },
  '100500': { outcome: 'retryable', name: 'ExchangeNotAvailable (internal error, busy)' },
  '100400': { outcome: 'rejected', name: 'BadRequest (invalid or missing arguments)' },
  '100202': { outcome: 'rejected', name: 'InsufficientFunds' },
  '80001': { outcome: 'rejected', name: 'BadRequest (request failed)' },
  '80012': { outcome: 'rejected', name: 'InsufficientFunds (service unavailable / margin not enough)' },
  '80013': { outcome: 'rejected', name: 'InvalidOrder (open-order limit reached)' },
  '80014': { outcome: 'rejected', name: 'BadRequest (invalid parameter)' },
  '80016': { outcome: 'rejected', name: 'OrderNotFound' },
  '80017': { outcome: 'rejected', name: 'PositionNotFound' },
  '80018': { outcome: 'rejected', name: 'InvalidOrder (order already filled)' },
  '80019': { outcome: 'retryable', name: 'OperationFailed (order being processed)' },
  '80020': { outcome: 'rejected', name: 'OperationRejected (risk forbidden)' },
  '101204': { outcome: 'rejected', name: 'InsufficientFunds (insufficient margin)' },
  '101209': { outcome: 'rejected', name: 'InvalidOrder (max position value for this leverage)' },
  '101211': { outcome: 'rejected', name: 'InvalidOrder (price limit)' },
  '101212': { outcome: 'rejected', name: 'OperationRejected (pending orders block the change)' },
  '101215': { outcome: 'rejected', name: 'OrderImmediatelyFillable (post-only would match)' },
  '101400': { outcome: 'rejected', name: 'InvalidOrder (no position to close / size error)' },
  '101414': { outcome: 'rejected', name: 'BadRequest (leverage above max)' },
  '101415': { outcome: 'rejected', name: 'MarketClosed (pair suspended from opening)' },
  '101460': { outcome: 'rejected', name: 'InvalidOrder (price vs liquidation price)' },
  '101500': { outcome: 'unknown', name: 'RequestTimeout (rpc timeout, outcome unknown)' },
  '101514': { outcome: 'rejected', name: 'MarketClosed (temporarily suspended from opening)' },
  '104411': { outcome: 'rejected', name: 'BadRequest (margin decrease limit)' },
  '109201': { outcome: 'rejected', name: 'DuplicateOrderId (same order id within 1 s)' },
  '109400': { outcome: 'rejected', name: 'BadRequest (parameter validation)' },
  '110425': { outcome: 'rejected', name: 'InvalidOrder (below minimum notional)' },
};

/** HTTP statuses that carry meaning without a body (doc-2023, BingX FAQ). */
export const HTTP_STATUS_TABLE: Readonly<Record<string, CodeRule>> = {
  '400': { outcome: 'rejected', name: 'BadRequest (HTTP 400)' },
  '401': { outcome: 'fatal', name: 'AuthenticationError (HTTP 401)' },
  '403': { outcome: 'fatal', name: 'PermissionDenied (HTTP 403 firewall ban)' },
  '404': { outcome: 'rejected', name: 'BadRequest (HTTP 404)' },
  '418': { outcome: 'fatal', name: 'PermissionDenied (HTTP 418 IP banned)' },
  '429': { outcome: 'retryable', name: 'RateLimitExceeded (HTTP 429)' },
  '500': { outcome: 'retryable', name: 'ExchangeNotAvailable (HTTP 500)' },
  '504': { outcome: 'unknown', name: 'RequestTimeout (HTTP 504, outcome unknown)' },
};

/**
 * ccxt error classes, most specific first: the first class on an error's prototype
 * chain that is listed here decides. Timeouts are `unknown` (an order may have landed).
 */
export const CCXT_CLASS_TABLE: ReadonlyArray<readonly [string, ErrorOutcome]> = [
  ['RequestTimeout', 'unknown'],
  ['RateLimitExceeded', 'retryable'],
  ['DDoSProtection', 'retryable'],
  ['OnMaintenance', 'retryable'],
  ['ExchangeNotAvailable', 'retryable'],
  ['InvalidNonce', 'retryable'],
  ['NetworkError', 'retryable'],
  ['AccountSuspended', 'fatal'],
  ['PermissionDenied', 'fatal'],
  ['AuthenticationError', 'fatal'],
  ['InsufficientFunds', 'rejected'],
  ['OrderNotFound', 'rejected'],
  ['DuplicateOrderId', 'rejected'],
  ['InvalidOrder', 'rejected'],
  ['BadSymbol', 'rejected'],
  ['BadRequest', 'rejected'],
  ['ArgumentsRequired', 'rejected'],
  ['NotSupported', 'rejected'],
  ['OperationRejected', 'rejected'],
  ['BadResponse', 'retryable'],
  ['OperationFailed', 'retryable'],
  ['ExchangeError', 'rejected'],
];

/** Maps a BingX `{code, msg}` error body. */
export function classifyBingxCode(code: string | number, msg = ''): CanonicalError {
  const key = String(code);
  // Some bodies carry an HTTP status as their code (ccxt's map has 400…504 too).
  const rule = BINGX_CODE_TABLE[key] ?? HTTP_STATUS_TABLE[key];
  const detail = msg ? `: ${msg}` : '';
  if (rule) return { outcome: rule.outcome, code: key, reason: `${rule.name}${detail}` };
  return { outcome: 'rejected', code: key, reason: `ExchangeError (BingX code ${key})${detail}` };
}

/** Maps an HTTP status that came without a usable BingX body. */
export function classifyHttpStatus(status: number): CanonicalError | null {
  const rule = HTTP_STATUS_TABLE[String(status)];
  return rule ? { outcome: rule.outcome, code: `http${status}`, reason: rule.name } : null;
}

/**
 * Maps anything a ccxt call threw. ccxt puts the response body in the message
 * (`bingx {"code":101204,...}`), so a BingX code is read from there first.
 */
export function classifyError(err: unknown): CanonicalError {
  const message = err instanceof Error ? err.message : String(err);
  const body = bingxBodyIn(message);
  if (body) return classifyBingxCode(body.code, body.msg);
  const names = classNames(err);
  for (const [name, outcome] of CCXT_CLASS_TABLE) {
    if (names.includes(name)) return { outcome, code: name, reason: `${name}: ${shorten(message)}` };
  }
  return { outcome: 'unknown', code: names[0] ?? 'Error', reason: shorten(message) };
}

/** The `{code, msg}` of a BingX error body embedded in a ccxt message, if any. */
export function bingxBodyIn(message: string): { code: string; msg: string } | null {
  const start = message.indexOf('{');
  if (start < 0) return null;
  try {
    const parsed: unknown = JSON.parse(message.slice(start));
    if (typeof parsed !== 'object' || parsed === null) return null;
    const { code, msg } = parsed as { code?: unknown; msg?: unknown };
    if ((typeof code !== 'number' && typeof code !== 'string') || String(code) === '0') return null;
    return { code: String(code), msg: typeof msg === 'string' ? msg : '' };
  } catch {
    return null;
  }
}

function classNames(err: unknown): string[] {
  const names: string[] = [];
  let proto = typeof err === 'object' && err !== null ? Object.getPrototypeOf(err) : null;
  while (proto && proto !== Object.prototype) {
    const name = (proto.constructor as { name?: string } | undefined)?.name;
    if (name) names.push(name);
    proto = Object.getPrototypeOf(proto);
  }
  return names;
}

function shorten(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
