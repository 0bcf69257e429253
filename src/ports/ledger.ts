/**
 * The ledger store port: batched, durable inserts into the namespace's ClickHouse
 * database, and read queries for reports and capital replay.
 */

export type Row = Record<string, unknown>;

export interface LedgerHealth {
  readonly engine: 'embedded' | 'server' | 'memory';
  readonly reachable: boolean;
  /** Batches waiting in the durable spool. */
  readonly spoolDepth: number;
  readonly rowsWritten: number;
  readonly lastError: string;
}

export interface LedgerStore {
  readonly database: string;
  /** Queues rows for a table; never blocks trading on ClickHouse. */
  insert(table: string, rows: readonly Row[]): void;
  /** Writes everything queued (or spools it durably when ClickHouse is away). */
  flush(): Promise<void>;
  query<T = Row>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  health(): LedgerHealth;
  close(): Promise<void>;
}
