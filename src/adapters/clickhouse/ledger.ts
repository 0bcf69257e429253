/**
 * The ClickHouse ledger (LedgerStore): per-table batches bounded by rows and time,
 * inserted as JSONEachRow with an insert_deduplication_token per batch, so a retried
 * insert never duplicates. When an insert fails the batch goes to the durable spool and
 * is re-inserted, in order and with the same token, when ClickHouse answers again.
 * `insert()` only queues (trading never waits on ClickHouse); `flush()` awaits.
 */
import { randomBytes } from 'node:crypto';
import type { WriteGuard } from '../../domain/namespaces.js';
import type { LedgerHealth, LedgerStore, Row } from '../../ports/ledger.js';
import { type BatchWriter, batchRowCount, type InsertBatch, JsonBatchWriter } from './batch-writer.js';
import { decodeRowBinary, type RowBinaryAppender, RowEncodeError } from './row-binary.js';
import { LEDGER_TABLES } from './rows.js';
import type { ChClient } from './schema.js';
import { FileSpool, type Spool, type SpoolBatch, SpoolCorrupt, type SpoolEntry } from './spool.js';

export const DEFAULT_SPOOL_DIR = './var/spool';
/**
 * Rows per insert. On the embedded engine each MergeTree insert costs about 25 ms on top
 * of ~0.8 us a row (a new part, the deduplication window): 50,000 rows keep that to a
 * third of the time (measured: 20,000-row batches 490k rows/s, 50,000 850k, 100,000 950k).
 * Live trading writes far fewer rows a second, so there the flush interval cuts the batches.
 */
export const DEFAULT_BATCH_ROWS = 50_000;
/**
 * Encoded bytes per insert (rows encoded as queued): a table of large rows (trade stories,
 * ~20 KB each) reaches this long before DEFAULT_BATCH_ROWS. The bytes wait in this process
 * and are parsed again in the engine, and the engine merges parts several at a time, so a
 * batch's size is paid about four times over in peak memory (measured: 300k-scan replay,
 * batches up to 12 MB 697 MB peak, 4 MB 583 MB; README "Replay memory with the ledger").
 */
export const DEFAULT_BATCH_BYTES = 4 << 20;

export interface ClickHouseLedgerOptions {
  readonly client: ChClient;
  /** The namespace database (the guard refuses any other). */
  readonly database: string;
  readonly guard: WriteGuard;
  readonly engine: 'embedded' | 'server';
  /** Durable spool directory (default `./var/spool`). */
  readonly spoolDir?: string;
  /** Another spool store instead of the directory (the fault simulation's in-memory disk). */
  readonly spool?: Spool;
  /** Unique per process run; deduplication tokens are `<runId>:<batch seq>`. */
  readonly runId?: string;
  /** A table's batch is written once it holds this many rows (default DEFAULT_BATCH_ROWS). */
  readonly batchRows?: number;
  /** ... or, rows encoded as queued, this many bytes (default DEFAULT_BATCH_BYTES) ... */
  readonly batchBytes?: number;
  /** ... or this long after its first queued row (default 1000 ms). */
  readonly flushIntervalMs?: number;
  /** Spool retry back-off: base, doubled per failed attempt, capped (defaults 500 ms / 30 s). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /**
   * The spool's oldest batch failing this many times in a row with a retryable error while
   * ClickHouse answers a ping is quarantined: it would otherwise hold every later batch
   * back forever (default 10, about 2.5 minutes with the default back-off).
   */
  readonly poisonAfter?: number;
  /** Called with every insert error (already free of credentials: ClickHouse messages only). */
  readonly onError?: (message: string) => void;
  /** How a batch reaches ClickHouse (default: JSONEachRow through the client). */
  readonly writer?: BatchWriter;
  /**
   * Encode rows as they are queued, where the writer can (the staged writer, after
   * prepare()): only their bytes wait for the batch, and the row objects die young. For
   * bulk writers (replay), whose rows would otherwise fill the heap; live trading keeps
   * rows, whose small batches are quicker inline as JSON.
   */
  readonly encodeOnQueue?: boolean;
  /** Close the client on close() (default true). */
  readonly ownsClient?: boolean;
}

type Batch = InsertBatch;

/** A table's rows waiting for their batch: encoded as they came, where they could be, else objects. */
interface TableQueue {
  readonly appender: RowBinaryAppender | null;
  /** Rows kept as objects: all of them without an appender, else those it refused. */
  readonly rows: Row[];
}

function queuedIn(q: TableQueue): number {
  return q.rows.length + (q.appender?.count ?? 0);
}

/** What a producer may let wait in memory before room() holds it back (rows, encoded bytes). */
export interface PendingLimit {
  readonly rows: number;
  readonly bytes: number;
}

/** What the spool keeps of a batch: its rows as JSON (an encoded batch decoded back). */
function spoolable(batch: Batch): SpoolBatch {
  const { database, table, token, encoded } = batch;
  return encoded
    ? { database, table, token, rows: decodeRowBinary(encoded.columns, encoded.payload) }
    : batch;
}

/** ClickHouse error codes that no retry can fix: the data itself is unacceptable. */
const PERMANENT_CODES = new Set(['6', '26', '27', '38', '41', '53', '69', '70', '72', '117']);

function isPermanent(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (err instanceof SpoolCorrupt || err instanceof RowEncodeError) return true;
  return typeof code === 'string' && PERMANENT_CODES.has(code);
}

export function newRunId(): string {
  return `${Date.now().toString(36)}-${process.pid.toString(36)}-${randomBytes(4).toString('hex')}`;
}

/**
 * What a replay lets wait in memory for the engine before it reads on (ClickHouseLedger.room):
 * two full batches of rows, or four of bytes, so the engine always has the next one ready.
 */
export const REPLAY_MAX_PENDING: PendingLimit = {
  rows: 2 * DEFAULT_BATCH_ROWS,
  bytes: 4 * DEFAULT_BATCH_BYTES,
};

export interface SpoolRecovery {
  readonly batches: number;
  readonly rows: number;
  readonly remaining: number;
}

export class ClickHouseLedger implements LedgerStore {
  readonly database: string;
  readonly runId: string;
  private readonly client: ChClient;
  private readonly guard: WriteGuard;
  private readonly spool: Spool;
  private readonly writer: BatchWriter;
  private readonly batchRows: number;
  private readonly batchBytes: number;
  private readonly flushIntervalMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly queues = new Map<string, TableQueue>();
  /**
   * Encoded batches cut the moment their table's bytes filled one, waiting for the write
   * chain: cutting later would let the table grow past batchBytes while an insert runs.
   */
  private readonly cut: Batch[] = [];
  /** Rows accepted and not yet inserted or spooled: what this ledger holds in memory. */
  private pendingRows = 0;
  /** Of those, the bytes of the encoded ones (rows kept as objects are counted by rows only). */
  private pendingBytes = 0;
  /** Writers waiting for room (see room()), woken as batches leave memory. */
  private roomWaiters: Array<{ readonly below: PendingLimit; readonly resolve: () => void }> = [];
  private batchSeq = 0;
  /** Every write and drain runs on this chain, one at a time: that is what keeps order. */
  private chain: Promise<void> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryAttempt = 0;
  /** Retryable failures in a row of the spool's oldest batch (see poisonAfter). */
  private headFailures = 0;
  private spoolCount: number;
  private reachable = true;
  private rowsWritten = 0;
  private rowsQuarantined = 0;
  private lastError = '';
  private closed = false;

  constructor(private readonly o: ClickHouseLedgerOptions) {
    this.database = o.database;
    this.client = o.client;
    this.guard = o.guard;
    this.runId = o.runId ?? newRunId();
    this.spool = o.spool ?? new FileSpool(o.spoolDir ?? DEFAULT_SPOOL_DIR);
    this.writer = o.writer ?? new JsonBatchWriter(o.client);
    this.spoolCount = this.spool.depth();
    this.batchRows = o.batchRows ?? DEFAULT_BATCH_ROWS;
    this.batchBytes = o.batchBytes ?? DEFAULT_BATCH_BYTES;
    this.flushIntervalMs = o.flushIntervalMs ?? 1000;
    this.retryBaseMs = o.retryBaseMs ?? 500;
    this.retryMaxMs = o.retryMaxMs ?? 30_000;
  }

  insert(table: string, rows: readonly Row[]): void {
    if (this.closed) throw new Error(`ledger closed: ${rows.length} rows for ${table} not accepted`);
    this.guard.check({ kind: 'clickhouse', database: this.database, table });
    if (rows.length === 0) return;
    const q = this.queueFor(table);
    if (q.appender) {
      const before = q.appender.bytes;
      this.encode(q, q.appender, rows);
      this.pendingBytes += q.appender.bytes - before;
    } else for (const r of rows) q.rows.push(r);
    this.pendingRows += rows.length;
    const full = q.appender && q.appender.bytes >= this.batchBytes;
    if (full) this.cut.push(this.takeEncoded(table, q.appender));
    if (full || queuedIn(q) >= this.batchRows) this.enqueue(() => this.writeQueued(true));
    else this.armFlushTimer();
  }

  /** With `encodeOnQueue`: learns the tables' layouts, so that their rows are encoded as queued. */
  async prepare(): Promise<void> {
    if (this.o.encodeOnQueue) await this.writer.prepare?.(this.database, LEDGER_TABLES);
  }

  /**
   * Backpressure for a producer faster than the engine (a replay): null while less than
   * `limit` (rows and encoded bytes) waits in memory, else a promise that resolves once both
   * are down to half of it (or the ledger is closed). Await it between scans and memory stays
   * bounded whatever the input's length; the order of rows is unchanged.
   */
  room(limit: PendingLimit): Promise<void> | null {
    if ((this.pendingRows < limit.rows && this.pendingBytes < limit.bytes) || this.closed) return null;
    // Partial batches are written at once rather than at the flush timer: nothing waits idle.
    this.disarmFlushTimer();
    void this.enqueue(() => this.writeQueued(false));
    const below = { rows: limit.rows / 2, bytes: limit.bytes / 2 };
    return new Promise((resolve) => this.roomWaiters.push({ below, resolve }));
  }

  async flush(): Promise<void> {
    this.disarmFlushTimer();
    await this.enqueue(() => this.writeQueued(false));
  }

  /** Inserts what an earlier run left in the spool (call at start-up); same tokens, same order. */
  async recoverSpool(): Promise<SpoolRecovery> {
    let result: SpoolRecovery = { batches: 0, rows: 0, remaining: this.spoolCount };
    await this.enqueue(async () => {
      result = await this.drainSpool();
    });
    return result;
  }

  async query<T = Row>(sql: string, params?: Record<string, unknown>): Promise<T[]> {
    const rs = await this.client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
    return rs.json<T>();
  }

  health(): LedgerHealth & {
    readonly rowsQuarantined: number;
    readonly queuedRows: number;
    readonly pendingRows: number;
    readonly pendingBytes: number;
  } {
    let queuedRows = 0;
    for (const q of this.queues.values()) queuedRows += queuedIn(q);
    for (const b of this.cut) queuedRows += batchRowCount(b);
    return {
      pendingRows: this.pendingRows,
      pendingBytes: this.pendingBytes,
      engine: this.o.engine,
      reachable: this.reachable,
      spoolDepth: this.spoolCount,
      rowsWritten: this.rowsWritten,
      lastError: this.lastError,
      rowsQuarantined: this.rowsQuarantined,
      queuedRows,
    };
  }

  /**
   * What a killed process does: stops without writing anything still queued in memory
   * (the fault simulation's crash). Only the spool survives, as after SIGKILL.
   */
  abandon(): void {
    this.closed = true;
    this.disarmFlushTimer();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.queues.clear();
    this.cut.length = 0;
    this.pendingRows = 0;
    this.pendingBytes = 0;
    this.wakeRoomWaiters();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.chain;
    if (this.o.ownsClient ?? true) await this.client.close();
  }

  // ---- internals ------------------------------------------------------------------------------

  private enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.chain.then(job);
    // The chain itself never rejects, so one failure cannot stall later writes.
    this.chain = run.catch((err) => this.noteError(`ledger: ${(err as Error).message}`));
    return run;
  }

  private armFlushTimer(): void {
    if (this.flushTimer || this.closed) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.enqueue(() => this.writeQueued(false));
    }, this.flushIntervalMs);
    this.flushTimer.unref();
  }

  private disarmFlushTimer(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  /** Cuts the queues into batches and writes them; `fullOnly` leaves a partial tail queued. */
  private async writeQueued(fullOnly: boolean): Promise<void> {
    const batches = this.cutBatches(fullOnly);
    for (let i = 0; i < batches.length; i++) {
      const writing = this.writeBatch(batches[i] as Batch);
      // Encode the next batch while this one is inserted (only worth it while healthy).
      const next = batches[i + 1];
      if (next && this.spoolCount === 0) this.writer.prefetch?.(next);
      await writing;
    }
    if ([...this.queues.values()].some((q) => queuedIn(q) > 0)) this.armFlushTimer();
  }

  private queueFor(table: string): TableQueue {
    let q = this.queues.get(table);
    if (!q) {
      const appender = this.o.encodeOnQueue
        ? (this.writer.appender?.(this.database, table, this.batchRows) ?? null)
        : null;
      q = { appender, rows: [] };
      this.queues.set(table, q);
    }
    return q;
  }

  /**
   * A row the encoder refuses stays an object and goes the JSON way, where ClickHouse
   * either stores it or rejects it for good (then it is quarantined with its reason).
   */
  private encode(q: TableQueue, appender: RowBinaryAppender, rows: readonly Row[]): void {
    try {
      appender.append(rows);
    } catch (err) {
      if (!(err instanceof RowEncodeError)) throw err;
      for (const row of rows) {
        try {
          appender.append([row]);
        } catch {
          q.rows.push(row);
        }
      }
    }
  }

  /**
   * Takes batches off the queues, in order (those already cut by bytes first, which are
   * older than anything still queued); `fullOnly` leaves each table's partial tail.
   */
  private cutBatches(fullOnly: boolean): Batch[] {
    const batches = this.cut.splice(0);
    const least = fullOnly ? this.batchRows : 1;
    for (const [table, q] of this.queues) {
      const a = q.appender;
      if (a && a.count >= least) batches.push(this.takeEncoded(table, a));
      while (q.rows.length >= least) batches.push(this.newBatch(table, q.rows.splice(0, this.batchRows)));
    }
    return batches;
  }

  private takeEncoded(table: string, a: RowBinaryAppender): Batch {
    const count = a.count;
    return this.newBatch(table, [], { columns: a.columns, count, payload: a.take() });
  }

  private newBatch(table: string, rows: Row[], encoded?: Batch['encoded']): Batch {
    this.batchSeq += 1;
    const token = `${this.runId}:${this.batchSeq}`;
    return { database: this.database, table, token, rows, ...(encoded ? { encoded } : {}) };
  }

  private async writeBatch(batch: Batch): Promise<void> {
    try {
      await this.insertOrSpool(batch);
    } finally {
      this.pendingRows -= batchRowCount(batch);
      if (batch.encoded) {
        this.pendingBytes -= batch.encoded.payload.length;
        // Inserted or spooled (as decoded rows): the bytes are read by nobody now.
        this.queues.get(batch.table)?.appender?.recycle(batch.encoded.payload);
      }
      this.wakeRoomWaiters();
    }
  }

  private async insertOrSpool(batch: Batch): Promise<void> {
    // Older batches wait in the spool: they go first, or this one queues behind them.
    if (this.spoolCount > 0) await this.drainSpool();
    if (this.spoolCount === 0) {
      try {
        await this.insertBatch(batch);
        return;
      } catch (err) {
        this.noteFailure(batch.table, err);
      }
    }
    this.writer.discard?.(batch);
    await this.spool.append(spoolable(batch));
    this.spoolCount += 1;
    this.scheduleRetry();
  }

  private wakeRoomWaiters(): void {
    if (this.roomWaiters.length === 0) return;
    const done = this.closed;
    this.roomWaiters = this.roomWaiters.filter((w) => {
      if (!done && (this.pendingRows > w.below.rows || this.pendingBytes > w.below.bytes)) return true;
      w.resolve();
      return false;
    });
  }

  private async insertBatch(batch: Batch): Promise<void> {
    this.guard.check({ kind: 'clickhouse', database: batch.database, table: batch.table });
    await this.writer.write(batch);
    this.rowsWritten += batchRowCount(batch);
    this.reachable = true;
  }

  /** Inserts spooled batches oldest first; stops at the first retryable failure. */
  private async drainSpool(): Promise<SpoolRecovery> {
    let batches = 0;
    let rows = 0;
    for (const entry of this.spool.list()) {
      const outcome = await this.drainOne(entry);
      if (outcome === 'retry') {
        this.scheduleRetry();
        return { batches, rows, remaining: this.spoolCount };
      }
      if (outcome !== 'quarantined') {
        batches += 1;
        rows += outcome;
      }
    }
    this.retryAttempt = 0;
    return { batches, rows, remaining: this.spoolCount };
  }

  private async drainOne(entry: SpoolEntry): Promise<number | 'retry' | 'quarantined'> {
    let rows = 0;
    try {
      const b = await this.spool.read(entry);
      rows = b.rows.length;
      // A spool file names its own table: only the schema's tables are inserted into.
      if (!(LEDGER_TABLES as readonly string[]).includes(b.table))
        throw new SpoolCorrupt(`table "${b.table}" is not a ledger table (${LEDGER_TABLES.join(', ')})`);
      await this.insertBatch(b);
    } catch (err) {
      let why = (err as Error).message;
      if (!isPermanent(err) && (err as Error).name !== 'WriteRefused') {
        this.noteFailure(`spool ${entry.name}`, err);
        this.headFailures += 1;
        if (this.headFailures < (this.o.poisonAfter ?? 10) || !(await this.answersPing())) return 'retry';
        why = `failed ${this.headFailures} times in a row while ClickHouse answers: ${why}`;
        this.reachable = true;
      }
      const to = await this.spool.quarantine(entry);
      this.headFailures = 0;
      this.spoolCount -= 1;
      this.rowsQuarantined += rows;
      this.noteError(`spool ${entry.name} rejected for good, moved to ${to}: ${why}`);
      return 'quarantined';
    }
    await this.spool.remove(entry);
    this.headFailures = 0;
    this.spoolCount -= 1;
    return rows;
  }

  private async answersPing(): Promise<boolean> {
    try {
      return (await this.client.ping()).success;
    } catch {
      return false;
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed || this.spoolCount === 0) return;
    const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** this.retryAttempt);
    this.retryAttempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.enqueue(async () => {
        await this.drainSpool();
      });
    }, delay);
    this.retryTimer.unref();
  }

  private noteFailure(what: string, err: unknown): void {
    this.reachable = false;
    this.noteError(`insert ${this.database}.${what} failed: ${(err as Error).message}`);
  }

  private noteError(message: string): void {
    this.lastError = message;
    this.o.onError?.(message);
  }
}
