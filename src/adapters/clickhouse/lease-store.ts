/**
 * The runtime lease in the namespace's ClickHouse database, for runtimes that share a
 * ClickHouse server but no Hazelcast cluster. Each write is a row; the lease is the newest
 * row by the server's clock (ties broken by the text), so every reader on every host sees
 * the same holder. Not part of the audit trail: rows go a day after they were written.
 */
import { randomUUID } from 'node:crypto';
import type { LeaseStore } from '../../ports/lease.js';
import { type ChClient, withDatabase } from './schema.js';

export const LEASE_TABLE = 'runtime_lease';

export function clickhouseLeaseStore(client: ChClient, database: string, key: string): LeaseStore {
  const table = `${withDatabase('{db}', database)}.${LEASE_TABLE}`;
  return {
    where: `${table}[${key}]`,
    async read() {
      const rs = await client.query({
        query: `SELECT value FROM ${table} WHERE key = {key:String} ORDER BY written_at DESC, value DESC LIMIT 1`,
        query_params: { key },
        format: 'JSONEachRow',
      });
      const [row] = await rs.json<{ value: string }>();
      return row?.value ?? null;
    },
    async write(value) {
      await client.insert({
        table,
        values: [{ key, value }],
        format: 'JSONEachRow',
        // Every write is a new row: never dropped as a repeat of an earlier insert.
        clickhouse_settings: { insert_deduplication_token: `lease:${randomUUID()}` },
      });
    },
  };
}
