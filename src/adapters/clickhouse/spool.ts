/**
 * The durable ledger spool: one append-only JSON Lines file per batch that could not be
 * inserted, named by a zero-padded sequence so directory order is insertion order.
 * First line: a header (table, deduplication token, row count); then one row per line.
 * Written to a temporary name, fsync'd, renamed, directory fsync'd: a crash leaves either
 * the whole batch or nothing.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Row } from '../../ports/ledger.js';

export interface SpoolBatch {
  /** The database the batch was meant for; re-checked by the write guard on re-insert. */
  readonly database: string;
  readonly table: string;
  /** insert_deduplication_token: the same on every retry of this batch. */
  readonly token: string;
  readonly rows: readonly Row[];
}

export interface SpoolEntry {
  readonly name: string;
  readonly seq: number;
}

interface SpoolHeader {
  readonly database: string;
  readonly table: string;
  readonly token: string;
  readonly rows: number;
}

const FILE = /^(\d{12})\.jsonl$/;

export class SpoolCorrupt extends Error {
  override name = 'SpoolCorrupt';
}

/** Where the ledger keeps batches ClickHouse has not acknowledged: durable in production. */
export interface Spool {
  list(): SpoolEntry[];
  depth(): number;
  append(batch: SpoolBatch): Promise<SpoolEntry>;
  read(entry: SpoolEntry): Promise<SpoolBatch>;
  remove(entry: SpoolEntry): Promise<void>;
  /** Moves a batch ClickHouse rejected for good aside; returns where it went. */
  quarantine(entry: SpoolEntry): Promise<string>;
}

/**
 * The simulated disk of the fault simulation: the same contract as FileSpool, kept in
 * memory. It outlives a simulated crash because the simulation hands the same object
 * to the ledger it reopens.
 */
export class MemorySpool implements Spool {
  private readonly batches = new Map<number, SpoolBatch>();
  readonly quarantined: SpoolBatch[] = [];
  private nextSeq = 1;

  list(): SpoolEntry[] {
    return [...this.batches.keys()].sort((a, b) => a - b).map((seq) => ({ name: `memory-${seq}`, seq }));
  }
  depth(): number {
    return this.batches.size;
  }
  async append(batch: SpoolBatch): Promise<SpoolEntry> {
    const seq = this.nextSeq++;
    this.batches.set(seq, structuredClone(batch));
    return { name: `memory-${seq}`, seq };
  }
  async read(entry: SpoolEntry): Promise<SpoolBatch> {
    const b = this.batches.get(entry.seq);
    if (!b) throw new Error(`spool entry ${entry.name} is gone`);
    return b;
  }
  async remove(entry: SpoolEntry): Promise<void> {
    this.batches.delete(entry.seq);
  }
  async quarantine(entry: SpoolEntry): Promise<string> {
    const b = this.batches.get(entry.seq);
    if (b) this.quarantined.push(b);
    this.batches.delete(entry.seq);
    return 'memory quarantine';
  }
}

export class FileSpool implements Spool {
  private nextSeq: number;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    const last = this.list().at(-1);
    this.nextSeq = last ? last.seq + 1 : 1;
  }

  /** Spooled batches, oldest first. */
  list(): SpoolEntry[] {
    return readdirSync(this.dir)
      .map((name) => ({ name, m: FILE.exec(name) }))
      .filter((e) => e.m)
      .map((e) => ({ name: e.name, seq: Number(e.m![1]) }))
      .sort((a, b) => a.seq - b.seq);
  }

  depth(): number {
    return this.list().length;
  }

  async append(batch: SpoolBatch): Promise<SpoolEntry> {
    const seq = this.nextSeq++;
    const name = `${String(seq).padStart(12, '0')}.jsonl`;
    const header: SpoolHeader = {
      database: batch.database,
      table: batch.table,
      token: batch.token,
      rows: batch.rows.length,
    };
    const text = [header, ...batch.rows].map((r) => JSON.stringify(r)).join('\n') + '\n';
    const tmp = path.join(this.dir, `.${name}.tmp`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path.join(this.dir, name));
    await this.syncDir();
    return { name, seq };
  }

  async read(entry: SpoolEntry): Promise<SpoolBatch> {
    const file = path.join(this.dir, entry.name);
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    let header: SpoolHeader;
    let rows: Row[];
    try {
      header = JSON.parse(lines[0] ?? '') as SpoolHeader;
      rows = lines.slice(1).map((l) => JSON.parse(l) as Row);
    } catch (err) {
      throw new SpoolCorrupt(`${file}: not JSON Lines (${(err as Error).message})`);
    }
    if (
      typeof header.database !== 'string' ||
      typeof header.table !== 'string' ||
      typeof header.token !== 'string'
    )
      throw new SpoolCorrupt(`${file}: header lacks database, table or token`);
    if (header.rows !== rows.length)
      throw new SpoolCorrupt(`${file}: header says ${header.rows} rows, file has ${rows.length}`);
    return { database: header.database, table: header.table, token: header.token, rows };
  }

  async remove(entry: SpoolEntry): Promise<void> {
    await unlink(path.join(this.dir, entry.name));
  }

  /** Moves a batch ClickHouse will never accept aside (kept for an operator, out of the queue). */
  async quarantine(entry: SpoolEntry): Promise<string> {
    const dest = path.join(this.dir, 'rejected');
    mkdirSync(dest, { recursive: true });
    const to = path.join(dest, entry.name);
    await rename(path.join(this.dir, entry.name), to);
    return to;
  }

  private async syncDir(): Promise<void> {
    const fh = await open(this.dir, 'r');
    try {
      await fh.sync();
    } catch {
      // Some filesystems refuse fsync on a directory; the file itself is already synced.
    } finally {
      await fh.close();
    }
  }
}
