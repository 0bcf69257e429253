/**
 * Ledger rows -> ClickHouse RowBinary, for the embedded engine's fast insert path
 * (staged-insert.ts). chDB parses RowBinary about seven times faster than the JSONEachRow
 * text the generic path sends, and encoding it costs less than JSON.stringify.
 *
 * The encoding reproduces what a JSONEachRow insert of the same row stores, so the two
 * paths are interchangeable (test/row-binary.test.ts inserts random rows both ways and
 * compares): an omitted key or null stores the column default (NULL when Nullable), a
 * non-finite number is null as JSON.stringify makes it, numbers and booleans in String
 * columns are their text, and a key the table lacks is refused. Date and DateTime
 * columns travel as text and are parsed by ClickHouse's cast, as in the JSON path.
 */
import type { Row } from '../../ports/ledger.js';

/** A value the table cannot take: no retry can fix it (the ledger treats it as permanent). */
export class RowEncodeError extends Error {
  override name = 'RowEncodeError';
}

type Scalar = 'string' | 'float64' | 'int64' | 'uint64' | 'uint32' | 'bool';

export interface BinaryColumn {
  readonly name: string;
  /** The table's type, as system.columns spells it. */
  readonly type: string;
  readonly scalar: Scalar;
  readonly nullable: boolean;
  /** The type the staged file declares (text for dates; ClickHouse casts on insert). */
  readonly fileType: string;
  /** What an omitted value is written as: the type's default, as text for dates. */
  readonly emptyText: string;
  /**
   * The table computes a DEFAULT for an omitted value (JSONEachRow: a missing key, or null
   * in a column that is not Nullable): such a value is refused here rather than written as
   * the type's default, so that the row can go the JSON way and get the table's.
   */
  readonly hasDefault: boolean;
}

const SCALARS: Readonly<Record<string, Scalar>> = {
  String: 'string',
  Float64: 'float64',
  Int64: 'int64',
  UInt64: 'uint64',
  UInt32: 'uint32',
  Bool: 'bool',
};

/** How a column is encoded, or null when its type is not one this encoder handles. */
export function binaryColumn(name: string, type: string, hasDefault = false): BinaryColumn | null {
  const nullable = /^Nullable\((.*)\)$/.exec(type);
  const inner = nullable ? (nullable[1] as string) : type;
  const base = /^LowCardinality\((.*)\)$/.exec(inner)?.[1] ?? inner;
  // Dates travel as text; only UTC ones, where the default text is the epoch exactly.
  const emptyText =
    base === 'Date'
      ? '1970-01-01'
      : /^DateTime(64\(\d, 'UTC'\)|\('UTC'\))$/.test(base)
        ? '1970-01-01 00:00:00'
        : '';
  const isDate = emptyText !== '';
  if (!isDate && /^(Date|DateTime)/.test(base)) return null;
  const scalar = isDate ? 'string' : SCALARS[base];
  if (!scalar) return null;
  const fileBase = scalar === 'string' ? 'String' : base;
  return {
    name,
    type,
    scalar,
    nullable: !!nullable,
    emptyText,
    hasDefault,
    fileType: nullable ? `Nullable(${fileBase})` : fileBase,
  };
}

/** A growable output buffer. */
class Out {
  buf: Buffer;
  /** `reuse`: a buffer done with (RowBinaryAppender.recycle), taken when large enough. */
  constructor(sizeHint: number, reuse: Buffer | null = null) {
    const size = Math.max(1 << 12, sizeHint);
    this.buf = reuse && reuse.length >= size ? reuse : Buffer.allocUnsafe(size);
  }
  pos = 0;

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  string(s: string): void {
    const len = s.length;
    if (len < 24) {
      // Short strings (enum names, ids): byte by byte while ASCII; cheaper than a native call.
      // (Longer ones, e.g. 64-character hashes, are quicker through Buffer.write.)
      this.ensure(1 + 3 * len);
      const buf = this.buf;
      let p = this.pos + 1;
      let i = 0;
      for (; i < len; i++) {
        const code = s.charCodeAt(i);
        if (code > 0x7f) break;
        buf[p++] = code;
      }
      if (i === len) {
        buf[this.pos] = len;
        this.pos = p;
        return;
      }
    }
    if (len < 128) {
      // Up to 127 UTF-16 units (e.g. 64-character hashes): written after a one-byte length
      // slot without measuring first; in the rare case the UTF-8 text needs 128 bytes or
      // more (non-ASCII), it moves one byte up to make room for a two-byte length.
      this.ensure(2 + 3 * len);
      const at = this.pos;
      const n = this.buf.write(s, at + 1, 'utf8');
      if (n < 0x80) {
        this.buf[at] = n;
        this.pos = at + 1 + n;
        return;
      }
      this.buf.copyWithin(at + 2, at + 1, at + 1 + n);
      this.buf[at] = (n & 0x7f) | 0x80;
      this.buf[at + 1] = n >>> 7;
      this.pos = at + 2 + n;
      return;
    }
    let n = Buffer.byteLength(s, 'utf8');
    this.ensure(10 + n);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  float64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }

  uint32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32LE(v, this.pos);
  }

  int64(v: number | bigint): void {
    this.ensure(8);
    if (typeof v === 'number' && v >= 0) {
      this.buf.writeUInt32LE(v % 0x1_0000_0000, this.pos);
      this.buf.writeUInt32LE(Math.floor(v / 0x1_0000_0000), this.pos + 4);
      this.pos += 8;
    } else this.pos = this.buf.writeBigInt64LE(BigInt(v), this.pos);
  }

  uint64(v: number | bigint): void {
    if (typeof v === 'number') {
      this.int64(v);
      return;
    }
    this.ensure(8);
    this.pos = this.buf.writeBigUInt64LE(v, this.pos);
  }

  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

const INT_TEXT = /^-?\d+$/;
/** An integer type's range: as bigints, and as numbers [low, highExclusive) (exact powers of two). */
interface Range {
  readonly min: bigint;
  readonly max: bigint;
  readonly low: number;
  readonly highExclusive: number;
}

function range(min: bigint, max: bigint): Range {
  return { min, max, low: Number(min), highExclusive: Number(max + 1n) };
}

const RANGES = {
  uint32: range(0n, 2n ** 32n - 1n),
  uint64: range(0n, 2n ** 64n - 1n),
  int64: range(-(2n ** 63n), 2n ** 63n - 1n),
} as const;

/** An integer value as a number (safe) or bigint, within [min, max]; null when it is not one. */
function integer(v: unknown, r: Range): number | bigint | null {
  let n: number | bigint;
  if (typeof v === 'number') {
    // No BigInt for the common case: bounds as numbers (exact at these powers of two).
    return Number.isInteger(v) && v >= r.low && v < r.highExclusive ? v : null;
  }
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'string' && INT_TEXT.test(v)) n = BigInt(v);
  else if (typeof v === 'boolean') n = v ? 1 : 0;
  else return null;
  const big = typeof n === 'bigint' ? n : BigInt(n);
  if (big < r.min || big > r.max) return null;
  return typeof n === 'bigint' && Number.isSafeInteger(Number(n)) ? Number(n) : n;
}

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

function isNullish(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v));
}

function writeValue(out: Out, c: BinaryColumn, v: unknown, where: Where): void {
  if (c.hasDefault && (c.nullable ? v === undefined : isNullish(v)))
    throw new RowEncodeError(`${where}: no value, and the table computes ${c.name}'s DEFAULT`);
  switch (c.scalar) {
    case 'string':
      out.string(isNullish(v) ? c.emptyText : text(v));
      return;
    case 'float64': {
      const n = isNullish(v) ? 0 : typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN;
      if (typeof v === 'string' && (v.trim() === '' || !Number.isFinite(n)))
        throw new RowEncodeError(`${where}: "${v}" is not a number for ${c.type}`);
      if (Number.isNaN(n) && !isNullish(v))
        throw new RowEncodeError(`${where}: ${text(v)} is not a number for ${c.type}`);
      out.float64(n === 0 ? 0 : n); // -0 is 0, as in JSON
      return;
    }
    case 'bool': {
      const b = isNullish(v)
        ? false
        : v === true || v === 1 || v === 'true'
          ? true
          : v === false || v === 0 || v === 'false'
            ? false
            : null;
      if (b === null) throw new RowEncodeError(`${where}: ${text(v)} is not a boolean for ${c.type}`);
      out.byte(b ? 1 : 0);
      return;
    }
    default: {
      if (isNullish(v)) {
        if (c.scalar === 'uint32') out.uint32(0);
        else out.int64(0);
        return;
      }
      const n = integer(v, RANGES[c.scalar]);
      if (n === null) throw new RowEncodeError(`${where}: ${text(v)} is not a ${c.type}`);
      if (c.scalar === 'uint32') out.uint32(Number(n));
      else if (c.scalar === 'uint64') out.uint64(n);
      else out.int64(n);
    }
  }
}

/** Where a value sits, for error messages (formatted only when a value is refused). */
class Where {
  row = 0;
  column = '';
  constructor(readonly table: string) {}
  toString(): string {
    return `${this.table} row ${this.row} column ${this.column}`;
  }
}

/** RowBinary of `rows` in `columns` order; throws RowEncodeError naming the row and column. */
export function encodeRowBinary(
  table: string,
  columns: readonly BinaryColumn[],
  rows: readonly Row[],
): Buffer {
  const appender = new RowBinaryAppender(table, columns, rows.length);
  appender.append(rows);
  return appender.take();
}

/**
 * Rows encoded as they arrive (the bulk ledger's queues, ClickHouseLedger `encodeOnQueue`):
 * only their bytes are kept, so the row objects die young instead of waiting for their
 * batch on the heap. `append` is all or nothing: a refused row leaves nothing behind.
 */
export class RowBinaryAppender {
  private out: Out;
  /** A buffer handed back by recycle(), for the next take(). */
  private spare: Buffer | null = null;
  private readonly layout: CompiledLayout;
  private readonly slow: (j: number, v: unknown, i: number) => void;
  /** Rows appended since the last take(). */
  count = 0;

  /** `expectedRows`: a size hint for the first buffer (later ones follow the layout's last batch). */
  constructor(
    readonly table: string,
    readonly columns: readonly BinaryColumn[],
    expectedRows: number,
  ) {
    this.layout = compiled(columns);
    this.out = new Out(this.sizeFor(expectedRows));
    const where = new Where(table);
    this.slow = (j, v, i) => {
      const c = columns[j] as BinaryColumn;
      where.row = i;
      where.column = c.name;
      writeValue(this.out, c, v, where);
    };
  }

  get bytes(): number {
    return this.out.pos;
  }

  append(rows: readonly Row[]): void {
    const start = this.out.pos;
    try {
      this.layout.encode(rows, this.out, this.slow, (i, row) =>
        refuseUnknownKey(this.table, i, this.columns, row),
      );
    } catch (err) {
      this.out.pos = start;
      throw err;
    }
    this.count += rows.length;
  }

  /**
   * The rows appended so far, as one RowBinary payload; the appender starts empty again.
   * The payload is a view of the appender's buffer: hand it back with recycle() once done.
   */
  take(): Buffer {
    const payload = this.out.done();
    // Sized from the layout's last batch (a first guess of 18 bytes a value before that):
    // growing a 10 MB buffer by copying was ~1 % of a full replay.
    if (this.count > 0) this.layout.bytesPerRow = payload.length / this.count;
    this.out = new Out(this.sizeFor(this.count), this.spare);
    if (this.out.buf === this.spare) this.spare = null;
    this.count = 0;
    return payload;
  }

  /**
   * A payload of take() that nobody reads any more (inserted, or spooled as decoded rows):
   * its buffer fills the next batch. Without it every batch is a new multi-megabyte buffer,
   * and the dead ones stay resident until V8's next full collection, which external memory
   * triggers only after tens of megabytes (a 300k-scan replay peaked ~140 MB lower with a
   * collection after every batch).
   */
  recycle(payload: Buffer): void {
    // Only a buffer of its own (Node's small-buffer pool is shared), and the larger one kept.
    if (payload.byteOffset !== 0) return;
    const whole = Buffer.from(payload.buffer, 0, payload.buffer.byteLength);
    if (!this.spare || whole.length > this.spare.length) this.spare = whole;
  }

  /**
   * A first buffer for `rows` rows, at most 8 MB: an appender is made for a whole batch
   * ahead of its rows, and a table of large rows (trade stories, ~20 KB each) would
   * otherwise reserve a gigabyte that V8 counts as external memory. It doubles as it fills.
   */
  private sizeFor(rows: number): number {
    return Math.min(
      MAX_FIRST_BUFFER,
      Math.ceil(rows * (this.layout.bytesPerRow * 1.05 || this.columns.length * 18)),
    );
  }
}

const MAX_FIRST_BUFFER = 8 << 20;

/**
 * RowBinary back to rows, as a JSONEachRow insert of them stores the same values: what
 * the ledger spools when an encoded batch cannot be inserted (the spool holds JSON rows).
 * Integers beyond 2^53 come back as decimal text, which ClickHouse parses exactly.
 */
export function decodeRowBinary(columns: readonly BinaryColumn[], payload: Uint8Array): Row[] {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const rows: Row[] = [];
  let pos = 0;
  const varUint = (): number => {
    let n = 0;
    let shift = 0;
    for (;;) {
      const b = buf[pos++] as number;
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
      shift += 7;
    }
  };
  const int = (v: bigint): number | string => (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString());
  while (pos < buf.length) {
    const row: Row = {};
    for (const c of columns) {
      if (c.nullable && buf[pos++] === 1) {
        row[c.name] = null;
        continue;
      }
      switch (c.scalar) {
        case 'string': {
          const n = varUint();
          row[c.name] = buf.toString('utf8', pos, pos + n);
          pos += n;
          break;
        }
        case 'float64':
          row[c.name] = buf.readDoubleLE(pos);
          pos += 8;
          break;
        case 'bool':
          row[c.name] = buf[pos++] === 1;
          break;
        case 'uint32':
          row[c.name] = buf.readUInt32LE(pos);
          pos += 4;
          break;
        case 'uint64':
          row[c.name] = int(buf.readBigUInt64LE(pos));
          pos += 8;
          break;
        default:
          row[c.name] = int(buf.readBigInt64LE(pos));
          pos += 8;
      }
    }
    rows.push(row);
  }
  return rows;
}

type RowsEncoder = (
  rows: readonly Row[],
  out: Out,
  slow: (column: number, v: unknown, row: number) => void,
  refuse: (row: number, r: Row) => never,
) => void;

interface CompiledLayout {
  readonly encode: RowsEncoder;
  /** Bytes a row took in the layout's last batch (0 before the first). */
  bytesPerRow: number;
}

const layouts = new WeakMap<readonly BinaryColumn[], CompiledLayout>();

function compiled(columns: readonly BinaryColumn[]): CompiledLayout {
  let layout = layouts.get(columns);
  if (!layout) {
    layout = { encode: compileEncoder(columns), bytesPerRow: 0 };
    layouts.set(columns, layout);
  }
  return layout;
}

/**
 * Straight-line code for one layout: each column read by its constant name (a property
 * load V8 can specialise, where `row[c.name]` in a loop over columns is a generic lookup)
 * with an inline path for the value kinds the ledger's own rows hold. Anything else
 * (null, text in a number column, bigints, ...) goes to `writeValue`, which defines the
 * encoding and its errors. 1.6-2x faster than interpreting the layout per value.
 */
function compileEncoder(columns: readonly BinaryColumn[]): RowsEncoder {
  const body = columns.map((c, j) => {
    const fast = `if (${FAST_TEST[c.scalar]}) ${FAST_WRITE[c.scalar]}; else slow(${j}, v, i);`;
    const plain = c.nullable
      ? `if (v === null || v === undefined || (typeof v === 'number' && v - v !== 0)) out.byte(1); else { out.byte(0); ${fast} }`
      : `if (v === undefined || v === null) ${emptyWrite(c)}; else ${fast}`;
    // A value the table would default is writeValue's to refuse (see BinaryColumn.hasDefault).
    const defaulted = c.nullable ? 'v === undefined' : 'v === undefined || v === null';
    const value = c.hasDefault ? `if (${defaulted}) slow(${j}, v, i); else { ${plain} }` : plain;
    return `v = row[${JSON.stringify(c.name)}]; if (v !== undefined) present++; ${value}`;
  });
  const source = `
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      let present = 0;
      let v;
      ${body.join('\n      ')}
      // More keys than present columns: an undefined value (allowed, JSON drops it) or an
      // unknown key (refused). Counted by for-in: Object.keys would allocate per row.
      let keys = 0;
      for (const k in row) keys++;
      if (keys !== present && present !== definedKeys(row)) refuse(i, row);
    }`;
  // Only fixed snippets and column names quoted by JSON.stringify go into the source.
  const make = new Function('definedKeys', `return function encodeRows(rows, out, slow, refuse) {${source}}`);
  return make(definedKeys) as RowsEncoder;
}

/** What an omitted value of a non-Nullable column is written as (writeValue agrees). */
function emptyWrite(c: BinaryColumn): string {
  if (c.scalar === 'string') return `out.string(${JSON.stringify(c.emptyText)})`;
  if (c.scalar === 'float64') return 'out.float64(0)';
  if (c.scalar === 'uint32') return 'out.uint32(0)';
  if (c.scalar === 'bool') return 'out.byte(0)';
  return 'out.int64(0)';
}

/** The inline path per column kind: a test on the value and the write it allows. */
const FAST_TEST: Readonly<Record<Scalar, string>> = {
  string: "typeof v === 'string'",
  float64: "typeof v === 'number' && v - v === 0",
  int64: 'Number.isSafeInteger(v) && v >= 0',
  uint64: 'Number.isSafeInteger(v) && v >= 0',
  uint32: 'Number.isInteger(v) && v >= 0 && v <= 4294967295',
  bool: 'v === true || v === false || v === 0 || v === 1',
};
const FAST_WRITE: Readonly<Record<Scalar, string>> = {
  string: 'out.string(v)',
  float64: 'out.float64(v === 0 ? 0 : v)', // -0 is 0, as in JSON
  int64: 'out.int64(v)',
  uint64: 'out.int64(v)',
  uint32: 'out.uint32(v)',
  bool: 'out.byte(v ? 1 : 0)',
};

/** Keys with a value (JSON drops undefined ones, so they are not "unknown" there either). */
function definedKeys(row: Row): number {
  let n = 0;
  for (const key in row) if (row[key] !== undefined) n += 1;
  return n;
}

function refuseUnknownKey(table: string, i: number, columns: readonly BinaryColumn[], row: Row): never {
  const known = new Set(columns.map((c) => c.name));
  const key = Object.keys(row).find((k) => !known.has(k) && row[k] !== undefined) ?? '?';
  throw new RowEncodeError(`${table} row ${i}: unknown column "${key}"`);
}
