/**
 * How the ledger hands one batch to ClickHouse. Two ways, one contract (the rows stored
 * are the same; test/row-binary.test.ts checks it):
 * - `JsonBatchWriter`: `INSERT ... FORMAT JSONEachRow` through @clickhouse/client; works
 *   against any server.
 * - `StagedBatchWriter`: the embedded engine only. chDB parses an inline insert body on
 *   one thread (about 60k rows/s); a file it reads itself with a declared structure is
 *   parsed in parallel. So the batch is encoded as RowBinary into a staging file and
 *   inserted with `INSERT INTO t SELECT * FROM file(...)` (about ten times faster).
 *   A table with a column type the encoder does not know falls back to JSONEachRow.
 * Both carry the batch's deduplication token, so a retried batch is stored once.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Row } from '../../ports/ledger.js';
import { type BinaryColumn, binaryColumn, encodeRowBinary, RowBinaryAppender } from './row-binary.js';
import type { ChClient } from './schema.js';

export interface InsertBatch {
  readonly database: string;
  readonly table: string;
  readonly token: string;
  /** The rows, or none when the batch was encoded as its rows were queued (`encoded`). */
  readonly rows: readonly Row[];
  readonly encoded?: EncodedRows;
}

/** Rows already in RowBinary, in `columns` order (a RowBinaryAppender's output). */
export interface EncodedRows {
  readonly columns: readonly BinaryColumn[];
  readonly payload: Buffer;
  readonly count: number;
}

export function batchRowCount(batch: InsertBatch): number {
  return batch.encoded ? batch.encoded.count : batch.rows.length;
}

export interface BatchWriter {
  /**
   * Inserts the batch. An encoded batch's payload must not be read once the promise settles:
   * the ledger hands its buffer back to the table's appender for the next batch.
   */
  write(batch: InsertBatch): Promise<void>;
  /**
   * Optional: start the work for a batch that needs no ClickHouse (encoding, staging)
   * while an earlier batch is still being inserted. `write` then uses it; `discard`
   * drops it when the batch will not be written (it went to the spool instead).
   */
  prefetch?(batch: InsertBatch): void;
  discard?(batch: InsertBatch): void;
  /**
   * Optional: an appender that encodes a table's rows as they are queued, or null when the
   * table takes another path (or its layout is not known: see `prepare`).
   */
  appender?(database: string, table: string, expectedRows: number): RowBinaryAppender | null;
  /** Optional: learns the tables' layouts ahead, so that `appender` can answer. */
  prepare?(database: string, tables: readonly string[]): Promise<void>;
}

/** Settings every ledger insert carries. Always explicit: on chDB a setting stays on the session. */
function insertSettings(token: string) {
  return {
    insert_deduplicate: 1,
    insert_deduplication_token: token,
    input_format_skip_unknown_fields: 0,
  } as const;
}

export class JsonBatchWriter implements BatchWriter {
  constructor(private readonly client: ChClient) {}

  async write(batch: InsertBatch): Promise<void> {
    if (batch.encoded) throw new Error(`${batch.table}: an encoded batch needs the staged writer`);
    await this.client.insert({
      table: `${batch.database}.${batch.table}`,
      values: batch.rows as Row[],
      format: 'JSONEachRow',
      clickhouse_settings: insertSettings(batch.token),
    });
  }
}

/**
 * Writes `data` to a new file in as few writes as the kernel allows. fs.writeFile writes a
 * Buffer in 512 KiB chunks, each needing an event-loop turn: while the next batch is being
 * encoded (tens of ms) those turns wait, and the insert waiting for this file with them.
 */
async function writeWhole(file: string, data: Buffer): Promise<void> {
  const handle = await open(file, 'w');
  try {
    for (let at = 0; at < data.length; ) at += (await handle.write(data, at, data.length - at)).bytesWritten;
  } finally {
    await handle.close();
  }
}

/** A ClickHouse string literal. */
function literal(s: string): string {
  return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** Batches smaller than this go inline as JSONEachRow even on the embedded engine. */
export const STAGE_FROM_ROWS = 1000;

interface Staged {
  readonly file: string;
  readonly names: string;
  readonly structure: string;
}

export class StagedBatchWriter implements BatchWriter {
  private readonly dir: string;
  private readonly json: JsonBatchWriter;
  /** Per `db.table`: its columns, or null when the table needs the JSON path. */
  private readonly layouts = new Map<string, readonly BinaryColumn[] | null>();
  /**
   * The layouts for rows encoded as queued, where a table's DEFAULT columns are encoded too:
   * a row without a value for one is refused by the appender and goes the JSON way alone
   * (the ledger's fallback), so ClickHouse still computes its default. A whole batch of
   * rows (`layouts`) has no such per-row way out, so there such tables keep JSON.
   */
  private readonly queueLayouts = new Map<string, readonly BinaryColumn[] | null>();
  private readonly staged = new WeakMap<InsertBatch, Promise<Staged | null>>();
  /** Settles once the batch being written is with the engine (or has failed). */
  private inFlight: Promise<void> = Promise.resolve();
  private seq = 0;

  /**
   * `stagingDir` is emptied first: files there are leftovers of a killed process.
   * `stageFromRows`: smaller batches go inline (tests set 1 to stage everything).
   */
  constructor(
    private readonly client: ChClient,
    stagingDir: string,
    private readonly stageFromRows = STAGE_FROM_ROWS,
  ) {
    this.dir = resolve(stagingDir);
    mkdirSync(this.dir, { recursive: true });
    for (const f of readdirSync(this.dir)) rmSync(join(this.dir, f), { force: true });
    this.json = new JsonBatchWriter(client);
  }

  async write(batch: InsertBatch): Promise<void> {
    let handedOver = () => {};
    this.inFlight = new Promise((resolve) => {
      handedOver = resolve;
    });
    try {
      await this.insert(batch, handedOver);
    } finally {
      handedOver();
    }
  }

  /** Writes `batch`, calling `handedOver` once the engine has it (or nothing more is staged). */
  private async insert(batch: InsertBatch, handedOver: () => void): Promise<void> {
    if (batch.encoded)
      return this.insertStaged(batch, await this.stageEncoded(batch, batch.encoded), handedOver);
    // Small batches (live trading's per-scan flushes) are quicker inline: the file and the
    // parallel parse cost ~5 ms more than they save below about a thousand rows.
    if (batch.rows.length < this.stageFromRows) return this.json.write(batch);
    const pending = this.staged.get(batch);
    this.staged.delete(batch);
    const staged = await (pending ?? this.stage(batch));
    if (!staged) return this.json.write(batch);
    return this.insertStaged(batch, staged, handedOver);
  }

  private async insertStaged(batch: InsertBatch, staged: Staged, handedOver: () => void): Promise<void> {
    try {
      const inserting = this.client.command({
        query: `INSERT INTO ${batch.database}.${batch.table} (${staged.names}) SELECT * FROM file(${literal(staged.file)}, 'RowBinary', ${literal(staged.structure)})`,
        clickhouse_settings: insertSettings(batch.token),
      });
      handedOver();
      await inserting;
    } finally {
      await unlink(staged.file).catch(() => {});
    }
  }

  appender(database: string, table: string, expectedRows: number): RowBinaryAppender | null {
    const columns = this.queueLayouts.get(`${database}.${table}`);
    return columns ? new RowBinaryAppender(table, columns, expectedRows) : null;
  }

  async prepare(database: string, tables: readonly string[]): Promise<void> {
    for (const table of tables) {
      if (!this.layouts.has(`${database}.${table}`)) await this.describe({ database, table });
    }
  }

  prefetch(batch: InsertBatch): void {
    // An encoded batch has nothing left to do before its insert but one file write.
    if (batch.encoded || batch.rows.length < this.stageFromRows || this.staged.has(batch)) return;
    // Encoding runs synchronously and would hold up the batch in flight (its file write
    // needs event-loop turns): start it once that batch is with the engine, and a turn
    // later, so that its insert has started and the two overlap.
    const pending = this.inFlight
      .then(() => new Promise<void>((next) => setImmediate(next)))
      .then(() => this.stage(batch));
    // A failure surfaces when the batch is written; until then it must not count as unhandled.
    pending.catch(() => {});
    this.staged.set(batch, pending);
  }

  discard(batch: InsertBatch): void {
    const pending = this.staged.get(batch);
    this.staged.delete(batch);
    pending?.then((s) => s && unlink(s.file)).catch(() => {});
  }

  /** The batch as a RowBinary file, or null when its table takes the JSON path. */
  private async stage(batch: InsertBatch): Promise<Staged | null> {
    const key = `${batch.database}.${batch.table}`;
    // `null` is a remembered answer (the JSON path), not a missing one.
    const columns = this.layouts.has(key) ? (this.layouts.get(key) ?? null) : await this.describe(batch);
    if (!columns) return null;
    return this.stageEncoded(batch, {
      columns,
      payload: encodeRowBinary(batch.table, columns, batch.rows),
      count: batch.rows.length,
    });
  }

  private async stageEncoded(batch: InsertBatch, { columns, payload }: EncodedRows): Promise<Staged> {
    this.seq += 1;
    const file = join(this.dir, `${batch.table}-${this.seq}.rowbinary`);
    await writeWhole(file, payload);
    return {
      file,
      names: columns.map((c) => c.name).join(', '),
      structure: columns.map((c) => `${c.name} ${c.fileType}`).join(', '),
    };
  }

  private async describe({
    database,
    table,
  }: {
    database: string;
    table: string;
  }): Promise<readonly BinaryColumn[] | null> {
    const key = `${database}.${table}`;
    const rs = await this.client.query({
      query:
        'SELECT name, type, default_kind FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position',
      query_params: { db: database, t: table },
      format: 'JSONEachRow',
    });
    const described = await rs.json<{ name: string; type: string; default_kind: string }>();
    // An unknown table is not remembered: the insert fails now and the schema may come later.
    if (described.length === 0) return null;
    const layoutOf = (withDefaults: boolean) => {
      const columns = described.map((c) =>
        c.default_kind === ''
          ? binaryColumn(c.name, c.type)
          : withDefaults && c.default_kind === 'DEFAULT'
            ? binaryColumn(c.name, c.type, true)
            : null,
      );
      return columns.every((c): c is BinaryColumn => c !== null) ? columns : null;
    };
    // Columns with a DEFAULT expression keep the JSON path, which lets ClickHouse compute it.
    const layout = layoutOf(false);
    this.layouts.set(key, layout);
    this.queueLayouts.set(key, layoutOf(true));
    return layout;
  }
}
