// Child-process fixture: writes a decision log (JSON Lines) into BLUE's
// v7_decision_events in an embedded chDB directory, the way BLUE's own writer would.
// Runs in its own process because chDB allows one data directory per process.
// Usage: node blue-decisions.mjs DATA_DIR DECISIONS.jsonl [ALTER_SCAN]
import { readFileSync } from 'node:fs';
import { createClickHouseClient } from '../../dist/adapters/clickhouse/client.js';
import { lookupNamespace } from '../../dist/domain/namespaces.js';

const [dir, decisions, alterScan] = process.argv.slice(2);
const db = lookupNamespace('blue').clickhouseDb;
const schema = new URL('../../schema/clickhouse/01_v7_decision_events.sql', import.meta.url);
const h = await createClickHouseClient({ dataDir: dir });
await h.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
await h.client.command({ query: readFileSync(schema, 'utf8').replaceAll('{db}', db) });
const rows = readFileSync(decisions, 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line))
  .map((r) => ({
    ...r,
    action: String(r.scan) === alterScan ? (r.action === 'NONE' ? 'HOLD' : 'NONE') : r.action,
    ts: new Date(r.ts).toISOString().replace('T', ' ').replace('Z', ''),
    strategy: 'blue',
    run_id: 'blue-run',
    event_seq: r.scan,
    decision_hash: '',
    chain_hash: '',
  }));
await h.client.insert({ table: `${db}.v7_decision_events`, values: rows, format: 'JSONEachRow' });
await h.client.close();
process.stdout.write(`${rows.length}\n`);
