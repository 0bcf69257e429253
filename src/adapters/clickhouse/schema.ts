/**
 * Schema as code (DESIGN.md §5): the `.sql` files under `schema/clickhouse/` are the
 * DDL; `applySchema` creates what is missing, adds missing columns to existing tables
 * (ALTER ... ADD COLUMN IF NOT EXISTS) and brings their table settings to the DDL's
 * (ALTER ... MODIFY SETTING). It never drops or retypes anything.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import type { WriteGuard } from '../../domain/namespaces.js';

/** The client surface the schema applier and the ledger use (the real client satisfies it). */
export type ChClient = Pick<ClickHouseClient, 'command' | 'query' | 'insert' | 'ping' | 'close'>;

/** `schema/clickhouse/` at the repository root, from `src/...` and from `dist/...` alike. */
export const DEFAULT_SCHEMA_DIR = fileURLToPath(new URL('../../../schema/clickhouse/', import.meta.url));

export const DB_PLACEHOLDER = '{db}';

export interface ColumnDef {
  readonly name: string;
  readonly type: string;
  /** The definition as written (`name Type [DEFAULT ...]`), used verbatim by ADD COLUMN. */
  readonly definition: string;
}

export interface TableDdl {
  readonly table: string;
  readonly file: string;
  /** The CREATE statement with `{db}` unsubstituted. */
  readonly create: string;
  readonly columns: readonly ColumnDef[];
  /** The `SETTINGS` clause, name -> value as written (`10000`, `'text'`). */
  readonly settings: Readonly<Record<string, string>>;
}

export interface SchemaFiles {
  readonly createDatabase: string;
  readonly tables: readonly TableDdl[];
}

export type TableStatus = 'created' | 'migrated' | 'unchanged';

export interface TableReport {
  readonly table: string;
  readonly status: TableStatus;
  readonly addedColumns: readonly string[];
  /** Table settings brought to the DDL's value (`name = value`). */
  readonly changedSettings: readonly string[];
  /** Columns whose live type differs from the DDL: reported, never altered. */
  readonly typeDifferences: readonly string[];
}

export interface SchemaReport {
  readonly database: string;
  readonly dryRun: boolean;
  readonly tables: readonly TableReport[];
}

export class SchemaError extends Error {
  override name = 'SchemaError';
}

function stripComments(sql: string): string {
  return sql.replace(/--[^\n]*/g, '');
}

/** Splits on commas outside parentheses and quotes. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'" && text[i - 1] !== '\\') quoted = !quoted;
    if (quoted) continue;
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** The text between the parenthesis at `open` and its matching close. */
function balancedBody(text: string, open: number, file: string): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(open + 1, i);
  }
  throw new SchemaError(`${file}: unbalanced parentheses in the column list`);
}

const COLUMN_KEYWORDS = /\s+(DEFAULT|MATERIALIZED|ALIAS|EPHEMERAL|CODEC|TTL|COMMENT)\b/i;

function parseColumn(definition: string, file: string): ColumnDef {
  const m = /^`?([A-Za-z_][A-Za-z0-9_]*)`?\s+(.+)$/s.exec(definition);
  if (!m) throw new SchemaError(`${file}: cannot read column definition "${definition}"`);
  const rest = m[2]!;
  const kw = COLUMN_KEYWORDS.exec(rest);
  const type = (kw ? rest.slice(0, kw.index) : rest).trim();
  return { name: m[1]!, type, definition: definition.replace(/\s+/g, ' ') };
}

/** Parses one table file: exactly one `CREATE TABLE IF NOT EXISTS {db}.<name> (...)`. */
export function parseTableDdl(sql: string, file: string): TableDdl {
  const create = stripComments(sql).trim().replace(/;\s*$/, '');
  const m = /^CREATE TABLE IF NOT EXISTS \{db\}\.([A-Za-z_][A-Za-z0-9_]*)\s*\(/.exec(create);
  if (!m) throw new SchemaError(`${file}: expected "CREATE TABLE IF NOT EXISTS {db}.<table> (" at the start`);
  if (create.includes(';')) throw new SchemaError(`${file}: one statement per file`);
  const body = balancedBody(create, m[0].length - 1, file);
  const columns = splitTopLevel(body)
    .filter((d) => !/^(INDEX|PROJECTION|CONSTRAINT)\s/i.test(d))
    .map((d) => parseColumn(d, file));
  const settings = settingsOf(create.slice(m[0].length + body.length), file);
  return { table: m[1]!, file, create, columns, settings };
}

/** The `SETTINGS a = 1, b = 'x'` clause at the end of a CREATE statement (DDL or live). */
export function settingsOf(tail: string, file: string): Record<string, string> {
  const clause = /\bSETTINGS\s+([\s\S]+)$/i.exec(tail)?.[1] ?? '';
  const settings: Record<string, string> = {};
  for (const part of splitTopLevel(clause)) {
    const kv = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$/s.exec(part);
    if (!kv) throw new SchemaError(`${file}: cannot read setting "${part}"`);
    settings[kv[1]!] = kv[2]!.trim();
  }
  return settings;
}

/** Reads `00_create_database.sql` and every other `.sql` (one table each), in file-name order. */
export function loadSchemaFiles(dir: string = DEFAULT_SCHEMA_DIR): SchemaFiles {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const dbFile = files.find((f) => f.startsWith('00_'));
  if (!dbFile) throw new SchemaError(`${dir}: no 00_create_database.sql`);
  const createDatabase = stripComments(readFileSync(path.join(dir, dbFile), 'utf8'))
    .trim()
    .replace(/;\s*$/, '');
  if (createDatabase !== 'CREATE DATABASE IF NOT EXISTS {db}')
    throw new SchemaError(`${dbFile}: expected exactly "CREATE DATABASE IF NOT EXISTS {db}"`);
  const tables = files
    .filter((f) => f !== dbFile)
    .map((f) => parseTableDdl(readFileSync(path.join(dir, f), 'utf8'), f));
  return { createDatabase, tables };
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Substitutes the database; the name must be a plain identifier (it is spliced into SQL). */
export function withDatabase(sql: string, db: string): string {
  if (!IDENTIFIER.test(db)) throw new SchemaError(`database name "${db}" is not a plain identifier`);
  return sql.replaceAll(DB_PLACEHOLDER, db);
}

async function liveColumns(client: ChClient, db: string): Promise<Map<string, Map<string, string>>> {
  const rs = await client.query({
    query: 'SELECT table, name, type FROM system.columns WHERE database = {db:String}',
    query_params: { db },
    format: 'JSONEachRow',
  });
  const out = new Map<string, Map<string, string>>();
  for (const r of await rs.json<{ table: string; name: string; type: string }>()) {
    const cols = out.get(r.table) ?? new Map<string, string>();
    out.set(r.table, cols);
    cols.set(r.name, r.type);
  }
  return out;
}

/** Each existing table's settings, from the CREATE statement ClickHouse keeps. */
async function liveSettings(client: ChClient, db: string): Promise<Map<string, Record<string, string>>> {
  const rs = await client.query({
    query: 'SELECT name, create_table_query FROM system.tables WHERE database = {db:String}',
    query_params: { db },
    format: 'JSONEachRow',
  });
  const out = new Map<string, Record<string, string>>();
  for (const r of await rs.json<{ name: string; create_table_query: string }>())
    out.set(r.name, settingsOf(r.create_table_query, `live table ${db}.${r.name}`));
  return out;
}

/** Type strings as ClickHouse prints them (`DateTime64(3, 'UTC')`), whitespace-insensitive. */
function sameType(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/\s+/g, '').replace(/"/g, "'");
  return norm(a) === norm(b);
}

function planTable(
  ddl: TableDdl,
  live: Map<string, string> | undefined,
  liveSettings: Readonly<Record<string, string>> = {},
): TableReport {
  if (!live)
    return {
      table: ddl.table,
      status: 'created',
      addedColumns: [],
      changedSettings: [],
      typeDifferences: [],
    };
  const added = ddl.columns.filter((c) => !live.has(c.name)).map((c) => c.name);
  const changedSettings = Object.entries(ddl.settings)
    .filter(([name, value]) => liveSettings[name] !== value)
    .map(([name, value]) => `${name} = ${value}`);
  const typeDifferences = ddl.columns
    .filter((c) => live.has(c.name) && !sameType(live.get(c.name)!, c.type))
    .map((c) => `${c.name}: live ${live.get(c.name)}, DDL ${c.type}`);
  return {
    table: ddl.table,
    status: added.length || changedSettings.length ? 'migrated' : 'unchanged',
    addedColumns: added,
    changedSettings,
    typeDifferences,
  };
}

export interface ApplyOptions {
  /** Report what would change without changing anything. */
  readonly dryRun?: boolean;
  /** Defaults to the repository's `schema/clickhouse/`. */
  readonly schema?: SchemaFiles;
}

/**
 * Creates the database and tables that are missing and adds missing columns, idempotently.
 * `db` must be the guard's namespace database: every table is checked through the guard
 * before anything runs, so a foreign database is refused (and alerted) with nothing done.
 */
export async function applySchema(
  client: ChClient,
  db: string,
  guard: WriteGuard,
  opts: ApplyOptions = {},
): Promise<SchemaReport> {
  const schema = opts.schema ?? loadSchemaFiles();
  for (const t of schema.tables) guard.check({ kind: 'clickhouse', database: db, table: t.table });
  const dryRun = opts.dryRun ?? false;
  if (!dryRun) await client.command({ query: withDatabase(schema.createDatabase, db) });
  const live = await liveColumns(client, db);
  const settings = await liveSettings(client, db);
  const reports: TableReport[] = [];
  for (const ddl of schema.tables) {
    const report = planTable(ddl, live.get(ddl.table), settings.get(ddl.table));
    reports.push(report);
    if (dryRun || report.status === 'unchanged') continue;
    if (report.status === 'created') await client.command({ query: withDatabase(ddl.create, db) });
    for (const name of report.addedColumns) {
      const col = ddl.columns.find((c) => c.name === name)!;
      await client.command({
        query: `ALTER TABLE ${withDatabase(`{db}.${ddl.table}`, db)} ADD COLUMN IF NOT EXISTS ${col.definition}`,
      });
    }
    if (report.changedSettings.length)
      await client.command({
        query: `ALTER TABLE ${withDatabase(`{db}.${ddl.table}`, db)} MODIFY SETTING ${report.changedSettings.join(', ')}`,
      });
  }
  return { database: db, dryRun, tables: reports };
}

export function formatSchemaReport(r: SchemaReport): string {
  const lines = [`schema ${r.dryRun ? 'dry run' : 'apply'}: database ${r.database}`];
  for (const t of r.tables) {
    const changes = [...t.addedColumns.map((c) => `+${c}`), ...t.changedSettings.map((c) => `setting ${c}`)];
    const what = t.status === 'migrated' ? `migrated (${changes.join(', ')})` : t.status;
    lines.push(`  ${t.table.padEnd(24)} ${r.dryRun && t.status !== 'unchanged' ? `would be ${what}` : what}`);
    for (const d of t.typeDifferences) lines.push(`    type differs (not changed): ${d}`);
  }
  return lines.join('\n');
}
