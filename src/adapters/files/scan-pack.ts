/**
 * Scan lines parsed on one thread and handed to another as numbers: a canonical scan
 * line (the shape ALGORITHM.md §1 writes, keys in its order) is packed into a
 * Float64Array that moves between threads without a copy; any other line (a parse
 * error, a missing or extra field, another key order) goes over as its text and is
 * parsed again where it is used, so what the receiver sees is what JSON.parse would
 * have given it, error messages included. A line written plainly is read straight from
 * its text (plain-scan-text.ts, about half the time of JSON.parse and its checks), any other through
 * JSON.parse and the line checks. Pure: no I/O, no threads.
 *
 * Layout, per line: lineNo, then either -1 (the next of `texts`) or the scan:
 * assetCount, ts, scan, vel_div, vol_ok (1/0), and per asset: symbol id, price, irp.
 * Symbol ids index a dictionary both sides grow in the same order (`symbols` carries the
 * ones first seen in a batch).
 */
import type { AssetQuote } from '../../domain/scan.js';
import { PlainScanText } from './plain-scan-text.js';
import { LazyScanLine, mayHideProblem, type ParsedLine } from './scan-lines.js';

export interface PackedLines {
  readonly numbers: Float64Array;
  readonly symbols: readonly string[];
  readonly texts: readonly string[];
  /** File bytes read when the batch was cut (progress). */
  readonly bytes: number;
}

const TEXT = -1;
const TOP_KEYS = ['ts', 'scan', 'vel_div', 'vol_ok', 'assets'] as const;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The sending side: parses lines and packs the canonical ones. */
export class ScanPacker {
  private readonly ids = new Map<string, number>();
  /** The previous scan's symbols and ids by position: files list the same symbols in the same order. */
  private readonly lastSymbols: string[] = [];
  private readonly lastIds: number[] = [];
  private numbers = new Float64Array(8192);
  private at = 0;
  private symbols: string[] = [];

  /**
   * `maxSymbols`: the dictionary's size, both sides; a line with a symbol beyond it goes as
   * text, so a file of ever-new symbols costs no more memory here than parsed inline.
   */
  constructor(
    private readonly maxSymbols = 65_536,
    /** false: every line through JSON.parse (the reference the plain reader is tested against). */
    readPlain = true,
  ) {
    this.plain = readPlain ? new PlainScanText() : null;
  }

  private readonly plain: PlainScanText | null;
  /** Per symbol id, the last line (this.line) it appeared on: a symbol twice in a line is caught. */
  private seenOnLine = new Float64Array(0);
  private line = 0;

  pack(lines: ReadonlyArray<{ readonly lineNo: number; readonly text: string }>, bytes: number): PackedLines {
    this.at = 0;
    this.symbols = [];
    const texts: string[] = [];
    for (const line of lines) {
      const from = this.at;
      if (this.packLine(line.lineNo, line.text)) continue;
      this.at = from;
      this.room(2);
      this.numbers[this.at++] = line.lineNo;
      this.numbers[this.at++] = TEXT;
      texts.push(line.text);
    }
    return { numbers: this.numbers.slice(0, this.at), symbols: this.symbols, texts, bytes };
  }

  /**
   * A line whose parse is the whole truth of it and a canonical scan is written; anything
   * else (not JSON, a hidden problem, another shape) answers false for the text to go.
   */
  private packLine(lineNo: number, text: string): boolean {
    if (this.plain?.read(text)) {
      const from = this.at;
      if (this.packPlain(lineNo, this.plain)) return true;
      this.at = from;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return false;
    }
    const assets = this.packScan(lineNo, value);
    // A canonical scan's quotes: its 5 keys, and per asset its symbol and 2 keys (no strings).
    return assets >= 0 && !mayHideProblem(text, 2 * (5 + 3 * assets));
  }

  /** A line read by PlainScanText; false (part-written) for a symbol the dictionary refuses or one seen twice. */
  private packPlain(lineNo: number, p: PlainScanText): boolean {
    this.room(6 + 3 * p.count);
    const x = this.numbers;
    let at = this.at;
    x[at++] = lineNo;
    x[at++] = p.count;
    x[at++] = p.ts;
    x[at++] = p.scan;
    x[at++] = p.velDiv;
    x[at++] = p.volOk ? 1 : 0;
    this.line += 1;
    for (let n = 0; n < p.count; n++) {
      const id = this.idOf(p.symbolOf(n), n);
      // A symbol twice: JSON.parse keeps its last value, and the parse path says so.
      if (id < 0) return false;
      if (id >= this.seenOnLine.length) this.seenOnLine = grown(this.seenOnLine, id + 1);
      if (this.seenOnLine[id] === this.line) return false;
      this.seenOnLine[id] = this.line;
      x[at++] = id;
      x[at++] = p.price[n] as number;
      x[at++] = p.irp[n] as number;
    }
    this.at = at;
    return true;
  }

  /**
   * Writes a canonical scan (exactly the keys the format names, in its order, each of its
   * type) and answers its number of assets; -1, part-written, for anything else.
   */
  private packScan(lineNo: number, v: unknown): number {
    if (!isObject(v)) return -1;
    let i = 0;
    for (const k in v) if (k !== TOP_KEYS[i++]) return -1;
    const { ts, scan, vel_div, vol_ok, assets } = v;
    if (i !== TOP_KEYS.length || typeof ts !== 'number' || typeof scan !== 'number') return -1;
    if (typeof vel_div !== 'number' || typeof vol_ok !== 'boolean' || !isObject(assets)) return -1;
    this.room(6);
    const x = this.numbers;
    const count = this.at + 1;
    x[this.at] = lineNo;
    x[this.at + 2] = ts;
    x[this.at + 3] = scan;
    x[this.at + 4] = vel_div;
    x[this.at + 5] = vol_ok ? 1 : 0;
    this.at += 6;
    let n = 0;
    for (const symbol in assets) {
      const q = assets[symbol];
      if (!isObject(q)) return -1;
      let j = 0;
      for (const k in q) if (k !== (j++ === 0 ? 'price' : 'irp')) return -1;
      const { price, irp } = q;
      if (j !== 2 || typeof price !== 'number' || typeof irp !== 'number') return -1;
      const id = this.idOf(symbol, n);
      // An own "__proto__" key cannot be rebuilt by assignment, nor a symbol beyond the
      // dictionary looked up: such a line goes as text.
      if (id < 0) return -1;
      this.room(3);
      this.numbers[this.at++] = id;
      this.numbers[this.at++] = price;
      this.numbers[this.at++] = irp;
      n++;
    }
    this.numbers[count] = n;
    return n;
  }

  private idOf(symbol: string, position: number): number {
    if (this.lastSymbols[position] === symbol) return this.lastIds[position] as number;
    if (symbol === '__proto__') return -1;
    let id = this.ids.get(symbol);
    if (id === undefined) {
      if (this.ids.size >= this.maxSymbols) return -1;
      id = this.ids.size;
      this.ids.set(symbol, id);
      this.symbols.push(symbol);
    }
    this.lastSymbols[position] = symbol;
    this.lastIds[position] = id;
    return id;
  }

  private room(n: number): void {
    if (this.at + n > this.numbers.length) this.numbers = grown(this.numbers, this.at + n);
  }
}

/** A copy of `a` at least `size` long (doubling). */
function grown(a: Float64Array, size: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(Math.max(size, 2 * a.length, 64));
  b.set(a);
  return b;
}

/** The receiving side: rebuilds each line as JSON.parse would have given it. */
export class ScanUnpacker {
  private readonly symbols: string[] = [];

  unpack(p: PackedLines): ParsedLine[] {
    for (const s of p.symbols) this.symbols.push(s);
    const x = p.numbers;
    const out: ParsedLine[] = [];
    let text = 0;
    for (let i = 0; i < x.length; ) {
      const lineNo = x[i] as number;
      const n = x[i + 1] as number;
      if (n === TEXT) {
        // Parsed where it is used, with the decision thread reader's own checks.
        out.push(new LazyScanLine(lineNo, p.texts[text++] as string));
        i += 2;
        continue;
      }
      out.push(new PackedScanLine(x, i, this.symbols));
      i += 6 + 3 * n;
    }
    return out;
  }
}

/**
 * A packed scan, built into its object each time its value is read (the replay reads it
 * once): a batch's scans then live one at a time. Built all at once, the 128 of a batch
 * outlived the young generation's collections and were copied or promoted (a quarter of
 * the decision thread's time went to collecting).
 */
class PackedScanLine implements ParsedLine {
  readonly lineNo: number;

  constructor(
    private readonly x: Float64Array,
    private readonly at: number,
    private readonly symbols: readonly string[],
  ) {
    this.lineNo = x[at] as number;
  }

  get value(): unknown {
    const x = this.x;
    let i = this.at + 1;
    const n = x[i++] as number;
    const ts = x[i++] as number;
    const scan = x[i++] as number;
    const vel_div = x[i++] as number;
    const vol_ok = x[i++] === 1;
    const assets: Record<string, AssetQuote> = {};
    for (let k = 0; k < n; k++, i += 3)
      assets[this.symbols[x[i] as number] as string] = { price: x[i + 1] as number, irp: x[i + 2] as number };
    return { ts, scan, vel_div, vol_ok, assets };
  }
}
