// Child-process helper: prints every row of every table of one database in an embedded
// chDB directory as JSON Lines (chDB allows one data directory per process).
// Usage: node dump-ledger.mjs DATA_DIR DATABASE
import { createClickHouseClient } from '../../dist/adapters/clickhouse/client.js';

const [dir, db] = process.argv.slice(2);
const { client } = await createClickHouseClient({ dataDir: dir });
const tables = await (
  await client.query({
    query: 'SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name',
    query_params: { db },
    format: 'JSONEachRow',
  })
).json();
for (const { name } of tables) {
  const rows = await (
    await client.query({ query: `SELECT * FROM ${db}.${name}`, format: 'JSONEachRow' })
  ).json();
  for (const row of rows) process.stdout.write(`${JSON.stringify({ table: name, ...row })}\n`);
}
await client.close();
