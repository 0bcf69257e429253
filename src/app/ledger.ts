/**
 * Opens the namespace's ClickHouse ledger (embedded chDB or a server): client,
 * schema applied idempotently, spool recovered, and the event sink that turns
 * canonical events into rows. One place, used by run, replay, demo, soak, report.
 */
import { join } from 'node:path';
import { StagedBatchWriter } from '../adapters/clickhouse/batch-writer.js';
import {
  type ClickHouseHandle,
  createClickHouseClient,
  ledgerDatabase,
} from '../adapters/clickhouse/client.js';
import { ClickHouseLedger, type SpoolRecovery } from '../adapters/clickhouse/ledger.js';
import { applySchema, type ChClient, type SchemaReport } from '../adapters/clickhouse/schema.js';
import { ClickHouseEventSink } from '../adapters/clickhouse/sink.js';
import type { AccountVolumeConfig } from '../domain/account-volume.js';
import { type Namespace, WriteGuard } from '../domain/namespaces.js';
import type { PinkConfig } from './config.js';

export interface OpenLedger {
  readonly handle: ClickHouseHandle;
  readonly ledger: ClickHouseLedger;
  readonly sink: ClickHouseEventSink;
  readonly schema: SchemaReport;
  readonly recovered: SpoolRecovery;
  /** Writes every queued row (and open trade stories), then closes the client. */
  close(): Promise<void>;
}

export interface OpenLedgerOptions {
  /** Where row-losing or row-delaying failures go (a warning); `log` when absent. */
  readonly warn?: (message: string) => void;
  readonly cfg: PinkConfig;
  readonly ns: Namespace;
  readonly log: (message: string) => void;
  readonly volume?: Partial<AccountVolumeConfig>;
  /**
   * A bulk writer (replay): rows are encoded as they are queued, so only their bytes wait
   * for the engine (ClickHouseLedger encodeOnQueue; embedded engine only).
   */
  readonly bulk?: boolean;
  /** Test seam: wraps the ClickHouse client (the isolation test records every statement). */
  readonly wrapClient?: (client: ChClient) => ChClient;
}

export async function openLedger(o: OpenLedgerOptions): Promise<OpenLedger> {
  const { cfg, ns, log } = o;
  const database = ledgerDatabase(cfg.clickhouse, ns);
  const guard = new WriteGuard(ns, (refusal) => log(`ALERT ${refusal.message}`));
  const handle = await createClickHouseClient(cfg.clickhouse);
  try {
    const client = o.wrapClient ? o.wrapClient(handle.client) : handle.client;
    const schema = await applySchema(client, database, guard);
    const ledger = new ClickHouseLedger({
      client,
      database,
      guard,
      engine: handle.engine,
      spoolDir: join(cfg.varDir, 'spool'),
      // Embedded chDB reads a staged RowBinary file far faster than an inline insert body.
      writer:
        handle.engine === 'embedded'
          ? new StagedBatchWriter(client, join(cfg.varDir, 'insert-staging'))
          : undefined,
      encodeOnQueue: o.bulk ?? false,
      // Each is a row delayed (spooled) or set aside: a warning, never an info line.
      onError: (m) => (o.warn ?? log)(`ledger: ${m}`),
    });
    await ledger.prepare();
    const recovered = await ledger.recoverSpool();
    if (recovered.batches)
      log(`ledger: re-inserted ${recovered.rows} spooled rows (${recovered.batches} batches)`);
    const sink = new ClickHouseEventSink({
      ledger,
      strategy: ns.strategy,
      runId: ledger.runId,
      // DESIGN.md §7 thresholds: the caller's (soak, tests) or the configuration's.
      volume: o.volume ?? (cfg.accountEvents as Partial<AccountVolumeConfig>),
      onAlert: (m) => log(`ALERT ${m}`),
    });
    return {
      handle,
      ledger,
      sink,
      schema,
      recovered,
      close: async () => {
        await sink.close();
        await ledger.close();
      },
    };
  } catch (err) {
    await handle.client.close();
    throw err;
  }
}
