/**
 * Namespace isolation (DESIGN.md §3, spec §8.4):
 *  1. static: no file under src/ except the registry names another strategy's map,
 *     database, queue, capital key or trader id;
 *  2. dynamic: a deliberate write to another namespace is refused and raises an alert.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GuardedStateBus } from '../src/adapters/statebus/guarded.js';
import { MemoryStateBus } from '../src/adapters/statebus/memory.js';
import { lookupNamespace, NAMESPACE_REGISTRY, WriteGuard, WriteRefused } from '../src/domain/namespaces.js';

const SRC = fileURLToPath(new URL('../src', import.meta.url));
const REGISTRY_FILE = path.join('domain', 'namespaces.ts');

/** Names of BLUE/GREEN/PRODGREEN surfaces, however they are spelled in code or SQL. */
const FORBIDDEN: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bDOLPHIN_[A-Z0-9_]*_(BLUE|GREEN|PRODGREEN)\b/, 'another strategy’s Hazelcast map'],
  [
    /\b(blue|green|prodgreen)_(runtime_commands|capital_update_latest)\b/i,
    'another strategy’s queue or capital key',
  ],
  [/\bdolphin_(blue|green|prodgreen)\b/i, 'another strategy’s ClickHouse database'],
  [/['"`]dolphin['"`]/, 'the BLUE ClickHouse database name'],
  [/\bdolphin\.[A-Za-z_]/, 'a table qualified with the BLUE database (dolphin.)'],
  [/\bDOLPHIN-(BLUE|GREEN|PRODGREEN)-\d+/i, 'another strategy’s trader id'],
  [/['"`](blue|green|prodgreen)['"`]/, 'another strategy’s name as a literal (use NAMESPACE_REGISTRY)'],
];

function findForbidden(text: string): Array<{ line: number; match: string; why: string }> {
  const hits: Array<{ line: number; match: string; why: string }> = [];
  text.split('\n').forEach((content, i) => {
    for (const [re, why] of FORBIDDEN) {
      const m = re.exec(content);
      if (m) hits.push({ line: i + 1, match: m[0], why });
    }
  });
  return hits;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|tsx|js|mjs|sql|json)$/.test(e.name) ? [p] : [];
  });
}

describe('static isolation check over src/**', () => {
  it('the detector catches every kind of foreign name (and not PINK or unrelated words)', () => {
    const planted = [
      "const m = 'DOLPHIN_STATE_BLUE';",
      'map: `DOLPHIN_PNL_PRODGREEN`',
      "queue = 'blue_runtime_commands'",
      "key: 'green_capital_update_latest'",
      'INSERT INTO dolphin_prodgreen.trade_events',
      "database: 'dolphin',",
      'SELECT * FROM dolphin.trade_events',
      "traderId: 'DOLPHIN-BLUE-001'",
      "lookupNamespace('green')",
    ];
    for (const line of planted) expect(findForbidden(line), line).toHaveLength(1);
    for (const ok of [
      'ns.stateMap',
      "'DOLPHIN_STATE_PINK' in docs",
      'dolphin_pink.trade_events',
      'const BLUE_V7_DEFAULTS = {}',
      'blue-v7-ref',
      "'DOLPHIN_FEATURES'",
    ])
      expect(findForbidden(ok), ok).toEqual([]);
  });

  it('no file but the namespace registry names another strategy’s surface', () => {
    const files = sourceFiles(SRC).filter((f) => path.relative(SRC, f) !== REGISTRY_FILE);
    expect(files.length).toBeGreaterThan(10);
    const report = files.flatMap((f) =>
      findForbidden(readFileSync(f, 'utf8')).map(
        (h) => `src/${path.relative(SRC, f)}:${h.line}: "${h.match}" (${h.why})`,
      ),
    );
    expect(report, report.join('\n')).toEqual([]);
  });
});

describe('the write guard refuses a deliberate write to another namespace and alerts', () => {
  const pink = lookupNamespace('pink');
  const others = [...NAMESPACE_REGISTRY.values()].filter((ns) => ns.strategy !== pink.strategy);

  it('every other namespace’s maps, capital key and queue: refused, alerted, nothing written', async () => {
    const store = new MemoryStateBus({ sweepMs: 0 });
    const alerts: WriteRefused[] = [];
    const bus = new GuardedStateBus(store, new WriteGuard(pink, (r) => alerts.push(r)));
    expect(others.length).toBe(3);
    for (const ns of others) {
      await expect(bus.mapPut(ns.stateMap, 'engine_snapshot', '{}')).rejects.toBeInstanceOf(WriteRefused);
      await expect(bus.mapPut(ns.pnlMap, '2026-05-01', '{}')).rejects.toBeInstanceOf(WriteRefused);
      await expect(bus.mapPut(ns.stateMap, ns.capitalMirrorKey, '{}')).rejects.toThrow(
        `write to map ${ns.stateMap}[${ns.capitalMirrorKey}] refused: outside namespace "pink"`,
      );
      await expect(bus.queueOffer(ns.commandQueue, '{}')).rejects.toThrow(`queue ${ns.commandQueue} refused`);
      expect(await store.mapEntries(ns.stateMap)).toEqual([]);
      expect(await store.mapEntries(ns.pnlMap)).toEqual([]);
      expect(store.queueSize(ns.commandQueue)).toBe(0);
    }
    expect(alerts).toHaveLength(others.length * 4);
    expect(alerts.every((a) => a.strategy === 'pink')).toBe(true);
    await store.close();
  });

  it('the guard refuses another strategy’s ClickHouse database too', () => {
    const alerts: string[] = [];
    const guard = new WriteGuard(pink, (r) => alerts.push(r.message));
    for (const ns of others)
      expect(() =>
        guard.check({ kind: 'clickhouse', database: ns.clickhouseDb, table: 'trade_events' }),
      ).toThrow(WriteRefused);
    guard.check({ kind: 'clickhouse', database: pink.clickhouseDb, table: 'trade_events' });
    expect(alerts).toHaveLength(others.length);
  });
});
