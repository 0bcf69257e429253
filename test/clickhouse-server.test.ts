/**
 * Server mode: the same schema, ledger and deduplication against a real ClickHouse
 * server. Runs only when CLICKHOUSE_URL is set (with CLICKHOUSE_USER/_PASSWORD as
 * needed); it writes to the namespace database (dolphin_pink) only, under its own run id.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  clickHouseSettingsFromEnv,
  createClickHouseClient,
  redactUrl,
} from '../src/adapters/clickhouse/client.js';
import { ClickHouseLedger, newRunId } from '../src/adapters/clickhouse/ledger.js';
import { chTs } from '../src/adapters/clickhouse/rows.js';
import { applySchema } from '../src/adapters/clickhouse/schema.js';
import { WriteGuard } from '../src/domain/namespaces.js';
import { PINK } from './clickhouse-support.js';

const url = process.env.CLICKHOUSE_URL;

describe.skipIf(!url)('ClickHouse server (CLICKHOUSE_URL is set)', () => {
  it('applies the schema idempotently and writes a batch exactly once through a retried token', async () => {
    const handle = await createClickHouseClient(clickHouseSettingsFromEnv(process.env));
    expect(handle.engine).toBe('server');
    expect(handle.describe).not.toContain(process.env.CLICKHOUSE_PASSWORD || '\u0000');
    const guard = new WriteGuard(PINK);
    const spoolDir = mkdtempSync(path.join(os.tmpdir(), 'pink-server-spool-'));
    try {
      await applySchema(handle.client, PINK.clickhouseDb, guard);
      const again = await applySchema(handle.client, PINK.clickhouseDb, guard);
      expect(again.tables.every((t) => t.status === 'unchanged')).toBe(true);
      const run = newRunId();
      const ledger = new ClickHouseLedger({
        client: handle.client,
        database: PINK.clickhouseDb,
        guard,
        engine: 'server',
        spoolDir,
        runId: run,
        ownsClient: false,
      });
      const rows = [1, 2, 3].map((i) => ({
        ts: chTs(Date.now()),
        strategy: 'pink',
        run_id: run,
        event_seq: i,
        kind: 'TICK',
        capital: 25_000,
        equity: 25_000,
        posture: 'RUNNING',
      }));
      ledger.insert('status_snapshots', rows);
      await ledger.flush();
      // The same batch again, same token, as a retry after a lost ack would send it.
      await handle.client.insert({
        table: `${PINK.clickhouseDb}.status_snapshots`,
        values: rows,
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplicate: 1, insert_deduplication_token: `${run}:1` },
      });
      const [r] = await ledger.query<{ n: string | number }>(
        `SELECT count() AS n FROM ${PINK.clickhouseDb}.status_snapshots WHERE run_id = {run:String}`,
        { run },
      );
      expect(Number(r?.n)).toBe(3);
      await ledger.close();
    } finally {
      await handle.client.close();
      rmSync(spoolDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!!url)('ClickHouse server', () => {
  it.skip('skipped: set CLICKHOUSE_URL (and CLICKHOUSE_USER / CLICKHOUSE_PASSWORD) to run against a server', () => {});
  it('redacts credentials from the server URL it would log', () => {
    expect(redactUrl('http://pink:s3cret@127.0.0.1:8123/?x=1')).toBe('http://127.0.0.1:8123');
  });
});
