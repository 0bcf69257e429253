/**
 * Shared set-up for the ClickHouse tests: one embedded chDB engine per test file (vitest
 * runs each file in its own fork; chDB allows one data directory per process), in a
 * fresh directory under os.tmpdir(), removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouseClient } from '../src/adapters/clickhouse/client.js';
import type { ChClient } from '../src/adapters/clickhouse/schema.js';
import { lookupNamespace, type Namespace, WriteGuard, type WriteRefused } from '../src/domain/namespaces.js';

export const PINK: Namespace = lookupNamespace('pink');

export interface EmbeddedEngine {
  readonly client: ClickHouseClient;
  readonly dir: string;
  readonly alerts: WriteRefused[];
  readonly guard: WriteGuard;
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  count(table: string, where?: string): Promise<number>;
  /** A fresh directory for spools and the like, removed with the engine. */
  tmp(name: string): string;
  close(): Promise<void>;
}

export async function openEmbedded(label: string): Promise<EmbeddedEngine> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `pink-${label}-`));
  const { client } = await createClickHouseClient({ dataDir: path.join(dir, 'clickhouse') });
  const alerts: WriteRefused[] = [];
  const rows = async <T>(sql: string) =>
    (await client.query({ query: sql, format: 'JSONEachRow' })).json<T>();
  return {
    client,
    dir,
    alerts,
    guard: new WriteGuard(PINK, (r) => alerts.push(r)),
    rows,
    async count(table, where = '1') {
      const [r] = await rows<{ n: number | string }>(
        `SELECT count() AS n FROM ${PINK.clickhouseDb}.${table} WHERE ${where}`,
      );
      return Number(r?.n ?? 0);
    },
    tmp: (name) => mkdtempSync(path.join(dir, `${name}-`)),
    async close() {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The real client with a switch: while `failing` is set, insert() throws as an
 * unreachable server would (after nothing reached ClickHouse). `failAfterInsert` makes
 * the next insert reach ClickHouse and then throw, like a lost acknowledgement.
 */
function tokenOf(params: { clickhouse_settings?: { insert_deduplication_token?: unknown } }): unknown {
  return params.clickhouse_settings?.insert_deduplication_token;
}

export class FaultyClient implements ChClient {
  failing = false;
  failAfterInsert = 0;
  insertCalls = 0;
  failedInserts = 0;
  /** The batch with this deduplication token times out on every try (the server stays up). */
  failToken: string | null = null;
  constructor(private readonly real: ChClient) {}

  insert: ChClient['insert'] = (params) => this.faulty(() => this.real.insert(params), tokenOf(params));

  private async faulty<T>(send: () => Promise<T>, token: unknown): Promise<T> {
    this.insertCalls += 1;
    if (token !== undefined && token === this.failToken) {
      this.failedInserts += 1;
      throw Object.assign(new Error('Timeout exceeded: elapsed 30.1 seconds'), { code: '159' });
    }
    if (this.failing) {
      this.failedInserts += 1;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
    }
    const result = await send();
    if (this.failAfterInsert > 0) {
      this.failAfterInsert -= 1;
      this.failedInserts += 1;
      throw Object.assign(new Error('socket hang up after the insert'), { code: 'ECONNRESET' });
    }
    return result;
  }
  query: ChClient['query'] = (params) => this.real.query(params);
  /** An INSERT sent as a command (the staged writer's) fails like an insert. */
  command: ChClient['command'] = async (params) => {
    if (!/^\s*INSERT\b/i.test(params.query)) return this.real.command(params);
    return this.faulty(() => this.real.command(params), tokenOf(params));
  };
  ping: ChClient['ping'] = (params) => this.real.ping(params);
  close: ChClient['close'] = () => this.real.close();
}
