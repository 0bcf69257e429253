/**
 * Reads a scan line written plainly in the canonical form (ALGORITHM.md §1's keys in its
 * order; per asset `price` then `irp`; no escapes; whitespace anywhere JSON allows it)
 * straight from its text, without building the object JSON.parse would. It only ever
 * answers what JSON.parse would have given, or declines: on anything else (another
 * shape, an escape, a `ts` written 1.0e3, a symbol twice or one JSON would reorder) it
 * answers false and the caller parses the line as before. Pure: no I/O.
 *
 * Numbers: a lexeme of at most 15 significant digits and a decimal exponent within 22 is
 * one exact integer times or divided by one exact power of ten, a single correctly rounded
 * operation (Clinger's fast path), so the same double JSON.parse gives; any other goes
 * through Number(), which rounds as JSON.parse does.
 */

import type { AssetQuote, Scan } from '../../domain/scan.js';

/** 1e0 .. 1e22: the powers of ten a double holds exactly. */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
const MAX_FAST_DIGITS = 15;

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN = 123;
const CLOSE = 125;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;
const ZERO = 48;
const NINE = 57;

const isDigit = (c: number) => c >= ZERO && c <= NINE;

export class PlainScanText {
  ts = 0;
  scan = 0;
  velDiv = 0;
  volOk = false;
  /** Assets read: symbols as [start, end) in the text, then price and irp. */
  count = 0;
  symbolStart = new Int32Array(64);
  symbolEnd = new Int32Array(64);
  price = new Float64Array(64);
  irp = new Float64Array(64);

  /** The symbols of the line before, by position: files list the same symbols in the same order. */
  private readonly lastSymbols: string[] = [];
  private text = '';
  private at = 0;
  /** The number read last was written with a fraction or an exponent. */
  private fractional = false;

  /** Reads `text`; false when it is not a plain canonical scan (nothing then is meaningful). */
  read(text: string): boolean {
    this.text = text;
    this.at = 0;
    this.count = 0;
    if (!this.punct(OPEN) || !this.key('"ts"')) return false;
    this.ts = this.number();
    if (this.fractional || !this.punct(COMMA) || !this.key('"scan"')) return false;
    this.scan = this.number();
    if (this.fractional || !this.punct(COMMA) || !this.key('"vel_div"')) return false;
    this.velDiv = this.number();
    if (!this.punct(COMMA) || !this.key('"vol_ok"')) return false;
    this.skipSpace();
    if (text.startsWith('true', this.at)) {
      this.volOk = true;
      this.at += 4;
    } else if (text.startsWith('false', this.at)) {
      this.volOk = false;
      this.at += 5;
    } else return false;
    if (!this.punct(COMMA) || !this.key('"assets"') || !this.punct(OPEN)) return false;
    if (!this.assets() || !this.punct(CLOSE)) return false;
    this.skipSpace();
    return this.at === text.length && !Number.isNaN(this.ts + this.scan + this.velDiv);
  }

  /**
   * The n-th asset's symbol: the same string as the line before's at that position when it
   * is the same text (a property key V8 has already internalized), else cut from the line.
   */
  symbolOf(n: number): string {
    const start = this.symbolStart[n] as number;
    const end = this.symbolEnd[n] as number;
    const last = this.lastSymbols[n];
    if (last !== undefined && last.length === end - start && this.text.startsWith(last, start)) return last;
    const symbol = this.text.slice(start, end);
    this.lastSymbols[n] = symbol;
    return symbol;
  }

  /** The scan read last, built as JSON.parse builds it; null for a line JSON.parse would read otherwise (a symbol twice, `__proto__`). */
  value(): Scan | null {
    const assets: Record<string, AssetQuote> = {};
    for (let n = 0; n < this.count; n++) {
      const symbol = this.symbolOf(n);
      if (symbol === '__proto__' || Object.hasOwn(assets, symbol)) return null;
      assets[symbol] = { price: this.price[n] as number, irp: this.irp[n] as number };
    }
    return { ts: this.ts, scan: this.scan, vel_div: this.velDiv, vol_ok: this.volOk, assets };
  }

  /** The asset entries up to and including the closing brace of `assets`. */
  private assets(): boolean {
    this.skipSpace();
    if (this.text.charCodeAt(this.at) === CLOSE) {
      this.at += 1;
      return true;
    }
    for (;;) {
      const n = this.count;
      if (n === this.price.length) this.grow();
      if (!this.symbol(n) || !this.punct(COLON) || !this.punct(OPEN) || !this.key('"price"')) return false;
      this.price[n] = this.number();
      if (Number.isNaN(this.price[n] as number) || !this.punct(COMMA) || !this.key('"irp"')) return false;
      this.irp[n] = this.number();
      if (Number.isNaN(this.irp[n] as number) || !this.punct(CLOSE)) return false;
      this.count = n + 1;
      this.skipSpace();
      const c = this.text.charCodeAt(this.at++);
      if (c === CLOSE) return true;
      if (c !== COMMA) return false;
    }
  }

  /** A quoted symbol with no escape or control character, and not one JSON would reorder. */
  private symbol(n: number): boolean {
    this.skipSpace();
    const t = this.text;
    if (t.charCodeAt(this.at) !== QUOTE) return false;
    const start = this.at + 1;
    let i = start;
    let allDigits = true;
    for (let c = t.charCodeAt(i); c !== QUOTE; c = t.charCodeAt(++i)) {
      if (c < 32 || c === BACKSLASH || Number.isNaN(c)) return false;
      if (!isDigit(c)) allDigits = false;
    }
    // An integer-like key is an array index: JSON.parse's object lists it first.
    if (i === start || allDigits) return false;
    this.symbolStart[n] = start;
    this.symbolEnd[n] = i;
    this.at = i + 1;
    return true;
  }

  /** `"name"` then a colon. */
  private key(quoted: string): boolean {
    this.skipSpace();
    if (!this.text.startsWith(quoted, this.at)) return false;
    this.at += quoted.length;
    return this.punct(COLON);
  }

  private punct(c: number): boolean {
    this.skipSpace();
    if (this.text.charCodeAt(this.at) !== c) return false;
    this.at += 1;
    return true;
  }

  private skipSpace(): void {
    const t = this.text;
    for (
      let c = t.charCodeAt(this.at);
      c === 32 || c === 9 || c === 10 || c === 13;
      c = t.charCodeAt(this.at)
    )
      this.at += 1;
  }

  /** A JSON number's value, NaN when the text there is not one. */
  private number(): number {
    this.fractional = false;
    this.skipSpace();
    const t = this.text;
    const from = this.at;
    let i = from;
    const negative = t.charCodeAt(i) === MINUS;
    if (negative) i++;
    let mantissa = 0;
    let digits = 0; // significant digits, leading zeros not counted
    let scale = 0; // digits after the point
    let c = t.charCodeAt(i);
    if (c === ZERO) c = t.charCodeAt(++i);
    else if (isDigit(c))
      for (; isDigit(c); c = t.charCodeAt(++i)) {
        mantissa = mantissa * 10 + (c - ZERO);
        digits++;
      }
    else return Number.NaN;
    if (c === DOT) {
      this.fractional = true;
      c = t.charCodeAt(++i);
      if (!isDigit(c)) return Number.NaN;
      for (; isDigit(c); c = t.charCodeAt(++i)) {
        mantissa = mantissa * 10 + (c - ZERO);
        if (mantissa > 0) digits++;
        scale++;
      }
    }
    let exponent = 0;
    if (c === 101 || c === 69) {
      this.fractional = true;
      c = t.charCodeAt(++i);
      const negativeExponent = c === MINUS;
      if (c === MINUS || c === PLUS) c = t.charCodeAt(++i);
      if (!isDigit(c)) return Number.NaN;
      for (; isDigit(c); c = t.charCodeAt(++i)) exponent = Math.min(exponent * 10 + (c - ZERO), 1e6);
      if (negativeExponent) exponent = -exponent;
    }
    this.at = i;
    const power = exponent - scale;
    if (digits > MAX_FAST_DIGITS || power > 22 || power < -22) return Number(t.slice(from, i));
    const magnitude = power >= 0 ? mantissa * (POW10[power] as number) : mantissa / (POW10[-power] as number);
    return negative ? -magnitude : magnitude;
  }

  private grow(): void {
    const size = this.price.length * 2;
    const copy = <T extends Int32Array | Float64Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.symbolStart = copy(this.symbolStart, new Int32Array(size));
    this.symbolEnd = copy(this.symbolEnd, new Int32Array(size));
    this.price = copy(this.price, new Float64Array(size));
    this.irp = copy(this.irp, new Float64Array(size));
  }
}
