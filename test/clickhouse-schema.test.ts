/** Schema as code on the embedded engine: idempotent apply, migration, exact columns, guard. */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEASE_TABLE } from '../src/adapters/clickhouse/lease-store.js';
import {
  applySchema,
  DEFAULT_SCHEMA_DIR,
  formatSchemaReport,
  loadSchemaFiles,
  parseTableDdl,
  SchemaError,
} from '../src/adapters/clickhouse/schema.js';
import { LEDGER_TABLES } from '../src/app/mode-verify.js';
import { EXIT_LEG_COLUMNS } from '../src/domain/exit-legs.js';
import { lookupNamespace, WriteRefused } from '../src/domain/namespaces.js';
import { type EmbeddedEngine, openEmbedded, PINK } from './clickhouse-support.js';

let ch: EmbeddedEngine;
beforeAll(async () => {
  ch = await openEmbedded('schema');
});
afterAll(async () => ch.close());

const DB = PINK.clickhouseDb;

describe('schema files', () => {
  const schema = loadSchemaFiles();

  it('has one file per DESIGN.md §5 table plus account_events_debug, and the runtime lease table', () => {
    expect(schema.tables.map((t) => t.table).sort()).toEqual(
      [...LEDGER_TABLES, 'account_events_debug', LEASE_TABLE].sort(),
    );
  });

  it('names no database but the {db} placeholder', () => {
    for (const f of readdirSync(DEFAULT_SCHEMA_DIR)) {
      const sql = readFileSync(path.join(DEFAULT_SCHEMA_DIR, f), 'utf8').replace(/--[^\n]*/g, '');
      expect(sql, f).not.toMatch(/dolphin/i);
      for (const m of sql.matchAll(/([A-Za-z_{}]+)\.[A-Za-z_]+/g)) expect(m[1], f).toBe('{db}');
    }
  });

  it('trade_exit_legs has exactly the reference column set, in order', () => {
    const legs = schema.tables.find((t) => t.table === 'trade_exit_legs')!;
    expect(legs.columns.map((c) => c.name)).toEqual([...EXIT_LEG_COLUMNS]);
  });

  it('every ledger table has ts as DateTime64(3, UTC) and a strategy column; all but trade_exit_legs have event_seq', () => {
    // The lease table is not part of the audit trail: the newest row by the server's clock is the lease.
    const lease = schema.tables.find((t) => t.table === LEASE_TABLE)!;
    expect(lease.columns.map((c) => `${c.name} ${c.type}`)).toEqual([
      'key LowCardinality(String)',
      'value String',
      "written_at DateTime64(6, 'UTC')",
    ]);
    for (const t of schema.tables.filter((t) => t !== lease)) {
      const col = (n: string) => t.columns.find((c) => c.name === n);
      expect(col('ts')?.type, t.table).toBe("DateTime64(3, 'UTC')");
      expect(col('strategy')?.type, t.table).toBe('LowCardinality(String)');
      if (t.table !== 'trade_exit_legs') expect(col('event_seq')?.type, t.table).toBe('UInt64');
    }
  });

  it('refuses a file that is not one CREATE TABLE IF NOT EXISTS {db}.<table>', () => {
    expect(() => parseTableDdl('CREATE TABLE dolphin.x (a UInt8) ENGINE = Log', 'bad.sql')).toThrow(
      SchemaError,
    );
    expect(() => parseTableDdl('CREATE TABLE IF NOT EXISTS {db}.x (a UInt8', 'bad.sql')).toThrow(
      /unbalanced/,
    );
  });
});

describe('applySchema on chDB', () => {
  it('creates everything, then a second run changes nothing', async () => {
    const first = await applySchema(ch.client, DB, ch.guard);
    expect(first.tables.every((t) => t.status === 'created')).toBe(true);
    const live = await ch.rows<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${DB}'`);
    expect(live.map((r) => r.name).sort()).toEqual(first.tables.map((t) => t.table).sort());
    const second = await applySchema(ch.client, DB, ch.guard);
    expect(second.tables.map((t) => t.status)).toEqual(second.tables.map(() => 'unchanged'));
    expect(second.tables.flatMap((t) => t.typeDifferences)).toEqual([]);
    expect(formatSchemaReport(second)).toContain('unchanged');
  });

  it('live columns and types match the DDL exactly (trade_exit_legs included)', async () => {
    for (const t of loadSchemaFiles().tables) {
      const live = await ch.rows<{ name: string; type: string }>(
        `SELECT name, type FROM system.columns WHERE database = '${DB}' AND table = '${t.table}' ORDER BY position`,
      );
      expect(
        live.map((c) => c.name),
        t.table,
      ).toEqual(t.columns.map((c) => c.name));
    }
  });

  it('migrates: a table from an older DDL gets the missing column, existing rows keep theirs', async () => {
    const dir = ch.tmp('old-schema');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, '00_create_database.sql'), 'CREATE DATABASE IF NOT EXISTS {db};\n');
    const v1 = `CREATE TABLE IF NOT EXISTS {db}.migration_probe
      (ts DateTime64(3, 'UTC'), strategy LowCardinality(String), event_seq UInt64)
      ENGINE = MergeTree ORDER BY (strategy, ts);`;
    writeFileSync(path.join(dir, '01_migration_probe.sql'), v1);
    expect(
      (await applySchema(ch.client, DB, ch.guard, { schema: loadSchemaFiles(dir) })).tables[0]?.status,
    ).toBe('created');
    await ch.client.command({
      query: `INSERT INTO ${DB}.migration_probe VALUES ('2025-05-20 00:00:00.000', 'pink', 1)`,
    });
    const v2 = v1.replace('event_seq UInt64', "event_seq UInt64, note String DEFAULT 'n/a', size Float64");
    writeFileSync(path.join(dir, '01_migration_probe.sql'), v2);
    const dry = await applySchema(ch.client, DB, ch.guard, { schema: loadSchemaFiles(dir), dryRun: true });
    expect(dry.tables[0]).toMatchObject({ status: 'migrated', addedColumns: ['note', 'size'] });
    expect(
      await ch.rows(
        `SELECT name FROM system.columns WHERE database='${DB}' AND table='migration_probe' AND name='note'`,
      ),
    ).toEqual([]);
    const report = await applySchema(ch.client, DB, ch.guard, { schema: loadSchemaFiles(dir) });
    expect(report.tables[0]).toMatchObject({ status: 'migrated', addedColumns: ['note', 'size'] });
    expect(formatSchemaReport(report)).toContain('migrated (+note, +size)');
    expect(await ch.rows(`SELECT event_seq, note, size FROM ${DB}.migration_probe`)).toEqual([
      { event_seq: 1, note: 'n/a', size: 0 },
    ]);
    const again = await applySchema(ch.client, DB, ch.guard, { schema: loadSchemaFiles(dir) });
    expect(again.tables[0]?.status).toBe('unchanged');
    await ch.client.command({ query: `DROP TABLE ${DB}.migration_probe` });
  });

  it("migrates table settings: an older table's settings are brought to the DDL's, once", async () => {
    const dir = ch.tmp('old-settings');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, '00_create_database.sql'), 'CREATE DATABASE IF NOT EXISTS {db};\n');
    const v1 = `CREATE TABLE IF NOT EXISTS {db}.settings_probe
      (ts DateTime64(3, 'UTC'), strategy LowCardinality(String), story String)
      ENGINE = MergeTree ORDER BY (strategy, ts)
      SETTINGS non_replicated_deduplication_window = 10000;`;
    writeFileSync(path.join(dir, '01_settings_probe.sql'), v1);
    await applySchema(ch.client, DB, ch.guard, { schema: loadSchemaFiles(dir) });
    const v2 = v1.replace(
      'window = 10000',
      'window = 10000, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1',
    );
    writeFileSync(path.join(dir, '01_settings_probe.sql'), v2);
    const changed = [
      'vertical_merge_algorithm_min_rows_to_activate = 1',
      'vertical_merge_algorithm_min_columns_to_activate = 1',
    ];
    const dry = await applySchema(ch.client, DB, ch.guard, { schema: loadSchemaFiles(dir), dryRun: true });
    expect(dry.tables[0]).toMatchObject({ status: 'migrated', addedColumns: [], changedSettings: changed });
    const live = async () =>
      (
        await ch.rows<{ q: string }>(
          `SELECT create_table_query AS q FROM system.tables WHERE database='${DB}' AND name='settings_probe'`,
        )
      )[0]!.q;
    expect(await live()).not.toContain('vertical_merge');
    const report = await applySchema(ch.client, DB, ch.guard, { schema: loadSchemaFiles(dir) });
    expect(report.tables[0]).toMatchObject({ status: 'migrated', changedSettings: changed });
    expect(formatSchemaReport(report)).toContain(`migrated (setting ${changed[0]}, setting ${changed[1]})`);
    expect(await live()).toContain('vertical_merge_algorithm_min_rows_to_activate = 1');
    expect(await live()).toContain('non_replicated_deduplication_window = 10000');
    const again = await applySchema(ch.client, DB, ch.guard, { schema: loadSchemaFiles(dir) });
    expect(again.tables[0]?.status).toBe('unchanged');
    await ch.client.command({ query: `DROP TABLE ${DB}.settings_probe` });
  });

  it('every ledger table of more than ten columns merges vertically, as its DDL says', async () => {
    const wide = await ch.rows<{ table: string; q: string }>(
      `SELECT t.name AS table, any(t.create_table_query) AS q FROM system.tables AS t
       JOIN system.columns AS c ON c.database = t.database AND c.table = t.name
       WHERE t.database='${DB}' AND t.engine = 'MergeTree' GROUP BY t.name HAVING count() > 10`,
    );
    expect(wide.map((w) => w.table)).toEqual(
      expect.arrayContaining(['execution_quality', 'v7_decision_events']),
    );
    for (const { table, q } of wide) {
      expect(q, table).toContain('vertical_merge_algorithm_min_rows_to_activate = 1');
      expect(q, table).toContain('vertical_merge_algorithm_min_columns_to_activate = 1');
    }
  });

  it('every ledger table keeps its merges to small blocks (256 KB compression, 2 MB merge blocks), as its DDL says', async () => {
    const tables = await ch.rows<{ table: string; q: string }>(
      `SELECT name AS table, create_table_query AS q FROM system.tables
       WHERE database='${DB}' AND engine LIKE '%MergeTree' AND name != 'runtime_lease'`,
    );
    expect(tables.map((t) => t.table)).toEqual(
      expect.arrayContaining(['trade_reconstruction', 'trade_events', 'v7_decision_events']),
    );
    for (const { table, q } of tables) {
      expect(q, table).toContain('max_compress_block_size = 262144');
      expect(q, table).toContain('merge_max_block_size_bytes = 2097152');
    }
  });

  it('refuses any database but the namespace one, alerting, before touching anything', async () => {
    const blueDb = lookupNamespace('blue').clickhouseDb;
    await expect(applySchema(ch.client, blueDb, ch.guard)).rejects.toBeInstanceOf(WriteRefused);
    expect(ch.alerts.at(-1)?.message).toContain(`clickhouse ${blueDb}.`);
    const dbs = await ch.rows<{ name: string }>(`SELECT name FROM system.databases WHERE name = '${blueDb}'`);
    expect(dbs).toEqual([]);
  });

  it('refuses a database name that is not a plain identifier', async () => {
    const odd = lookupNamespace('pink');
    const guard = new (await import('../src/domain/namespaces.js')).WriteGuard({
      ...odd,
      clickhouseDb: 'x; DROP',
    });
    await expect(applySchema(ch.client, 'x; DROP', guard)).rejects.toThrow(/not a plain identifier/);
  });

  it('every SQL statement of docs/RUNBOOK.md runs against the applied schema', async () => {
    await applySchema(ch.client, DB, ch.guard);
    const md = readFileSync(path.join(DEFAULT_SCHEMA_DIR, '../../docs/RUNBOOK.md'), 'utf8');
    const statements = [...md.matchAll(/```sql\n([\s\S]*?)```/g)].flatMap((m) =>
      (m[1] ?? '')
        .replace(/--[^\n]*/g, '')
        .split(';')
        .map((q) => q.trim())
        .filter(Boolean),
    );
    expect(statements.length).toBeGreaterThan(5);
    for (const q of statements) {
      const sql = q.replace("'BTCUSDT-…'", "'BTCUSDT-1'");
      await expect(
        ch.client.query({ query: sql, format: 'JSONEachRow' }).then((r) => r.json()),
        sql,
      ).resolves.toBeDefined();
    }
  });
});
