/**
 * Isolation proof (issue #6 item 5): the whole `pink run` wiring (ledger, state
 * publisher, command processor, state server, metrics, sim venue) runs once for each
 * of the four registered strategies with a recording state bus and a recording
 * ClickHouse client. Every write target must belong to that strategy's namespace; a
 * deliberate write to another namespace is refused by the guard and raises an alert.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChClient } from '../src/adapters/clickhouse/schema.js';
import { MemoryJournal } from '../src/adapters/files/journal.js';
import { loadConfig } from '../src/app/config.js';
import { Runtime, type ScanInput } from '../src/app/runtime.js';
import { wireRunParts } from '../src/cli/commands/run-wiring.js';
import { lookupNamespace, NAMESPACE_REGISTRY, type Namespace } from '../src/domain/namespaces.js';
import { simulateScans } from '../src/market/simulator.js';
import { createLogger } from '../src/observability/logger.js';
import type { StateBus } from '../src/ports/state-bus.js';
import { BlueV7Ref } from '../src/strategy/blue-v7-ref.js';

const dir = mkdtempSync(join(tmpdir(), 'pink-isolation-'));
// One embedded engine for the whole file (one chDB data directory per process).
const chDir = join(dir, 'clickhouse');

interface Recorded {
  readonly clickhouse: Array<{ database: string; what: string }>;
  readonly maps: string[];
  readonly queues: string[];
  readonly logs: string[];
}

/** Databases a statement touches: `db.table` names and CREATE DATABASE targets. */
function databasesIn(sql: string): string[] {
  const dbs = [...sql.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\.[A-Za-z_][A-Za-z0-9_]*\b/g)].map(
    (m) => m[1] as string,
  );
  const created = /CREATE DATABASE (?:IF NOT EXISTS )?([A-Za-z_][A-Za-z0-9_]*)/i.exec(sql)?.[1];
  return [...dbs, ...(created ? [created] : [])].filter((d) => d !== 'system');
}

function recordingClickHouse(real: ChClient, rec: Recorded): ChClient {
  return {
    insert: (params) => {
      const [database = '', table = ''] = String(params.table).split('.');
      rec.clickhouse.push({ database, what: `insert ${table}` });
      return real.insert(params);
    },
    command: (params) => {
      // The embedded engine's ledger inserts arrive as `INSERT INTO db.table ... FROM file(...)`.
      const insert = /^\s*INSERT INTO ([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)/i.exec(params.query);
      if (insert) rec.clickhouse.push({ database: insert[1] as string, what: `insert ${insert[2]}` });
      else
        for (const database of databasesIn(params.query))
          rec.clickhouse.push({ database, what: params.query.slice(0, 60) });
      return real.command(params);
    },
    query: (params) => real.query(params),
    ping: (params) => real.ping(params),
    close: () => real.close(),
  } as ChClient;
}

function recordingBus(real: StateBus, rec: Recorded): StateBus {
  return {
    mapPut: (map, key, value, ttl) => {
      rec.maps.push(map);
      return real.mapPut(map, key, value, ttl);
    },
    mapGet: (map, key) => real.mapGet(map, key),
    mapEntries: (map) => real.mapEntries(map),
    queueOffer: (queue, value) => {
      rec.queues.push(queue);
      return real.queueOffer(queue, value);
    },
    queuePoll: (queue) => {
      rec.queues.push(queue);
      return real.queuePoll(queue);
    },
    queuePeek: (queue) => {
      rec.queues.push(queue);
      return real.queuePeek(queue);
    },
    queueRemove: (queue, item) => {
      rec.queues.push(queue);
      return real.queueRemove(queue, item);
    },
    onMapEntry: (map, l) => real.onMapEntry(map, l),
    health: () => real.health(),
    close: () => real.close(),
  };
}

async function* scanInputs(n: number): AsyncGenerator<ScanInput> {
  for (const scan of simulateScans({ scans: n, assets: 5, seed: 17 }))
    yield { value: scan, where: `scan ${scan.scan}` };
}

async function runAs(ns: Namespace): Promise<Recorded> {
  const rec: Recorded = { clickhouse: [], maps: [], queues: [], logs: [] };
  const cfg = loadConfig({
    env: {},
    overrides: {
      strategy: ns.strategy,
      varDir: join(dir, ns.strategy),
      clickhouse: { dataDir: chDir },
      metricsPort: -1,
      heartbeatMs: 100,
    },
  });
  const logger = createLogger({ namespace: ns.strategy, stream: { write: (l: string) => rec.logs.push(l) } });
  const parts = await wireRunParts({
    cfg,
    ns,
    logger,
    runDir: join(dir, ns.strategy, 'run'),
    wrapStateBus: (bus) => recordingBus(bus, rec),
    wrapClickHouse: (client) => recordingClickHouse(client, rec),
  });
  try {
    // Operator commands waiting on the namespace's queue before the runtime starts.
    for (const [i, c] of [
      { type: 'SET_CAPITAL', amount: 30_000 },
      { type: 'PAUSE' },
      { type: 'RESUME' },
    ].entries())
      await parts.bus.queueOffer(ns.commandQueue, JSON.stringify({ id: `iso-${ns.strategy}-${i}`, ...c }));
    const runtime = new Runtime({
      namespace: ns.strategy,
      strategy: new BlueV7Ref(),
      capital: cfg.capital,
      journal: new MemoryJournal(),
      makeVenue: (marks) => parts.makeVenue(marks, []),
      source: scanInputs(400),
      sinks: parts.sinks,
      onIdle: parts.onIdle,
      idleMs: 5,
      log: () => {},
    });
    await runtime.start();
    await parts.ready(runtime);
    await runtime.run();
    expect(runtime.account.snapshot().capital).toBeGreaterThan(29_000); // SET_CAPITAL applied

    // A deliberate write to every other namespace's surfaces: refused, alerted, nothing written.
    for (const other of NAMESPACE_REGISTRY.values()) {
      if (other.strategy === ns.strategy) continue;
      await expect(parts.bus.mapPut(other.stateMap, 'engine_snapshot', '{}')).rejects.toThrow(/refused/);
      await expect(parts.bus.queueOffer(other.commandQueue, '{}')).rejects.toThrow(/refused/);
    }
    await runtime.stop('isolation test over');
  } finally {
    await parts.close();
  }
  return rec;
}

describe('whole-pipeline isolation for each registered strategy', () => {
  for (const name of NAMESPACE_REGISTRY.keys()) {
    it(`${name}: every ClickHouse, map and queue write stays in its namespace`, async () => {
      const ns = lookupNamespace(name);
      const rec = await runAs(ns);
      // The pipeline really wrote: schema, ledger rows, state surfaces, command outcomes.
      const inserted = new Set(rec.clickhouse.filter((c) => c.what.startsWith('insert')).map((c) => c.what));
      for (const t of ['v7_decision_events', 'position_state', 'trade_events', 'status_snapshots'])
        expect(inserted, t).toContain(`insert ${t}`);
      expect(rec.maps).toContain(ns.stateMap);
      expect(rec.maps).toContain(ns.pnlMap);
      expect(rec.queues).toContain(ns.commandQueue);
      // ... and only into its own namespace.
      expect(new Set(rec.clickhouse.map((c) => c.database))).toEqual(new Set([ns.clickhouseDb]));
      expect(new Set(rec.maps)).toEqual(new Set([ns.stateMap, ns.pnlMap]));
      expect(new Set(rec.queues)).toEqual(new Set([ns.commandQueue]));
      // Each refused write was an alert in the log (3 other namespaces x map + queue).
      const alerts = rec.logs.filter((l) => l.includes('ALERT') && l.includes('refused'));
      expect(alerts).toHaveLength(6);
    }, 120_000);
  }
});
