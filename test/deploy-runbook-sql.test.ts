/**
 * Every SQL block in docs/RUNBOOK.md runs on ClickHouse (embedded chDB) against the
 * DESIGN.md §5 minimum columns, and the 3 a.m. diagnostics find what they claim to find:
 * a missing terminal row, a duplicate terminal row, an account_events window over the cap.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from 'chdb';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), 'pink-runbook-sql-'));
const session = new Session(dir);
afterAll(() => {
  session.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const sql = (q: string) => session.query(q, 'JSONEachRow');
const rows = (q: string) =>
  sql(q)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const SCHEMA = [
  'CREATE DATABASE IF NOT EXISTS dolphin_pink',
  `CREATE TABLE dolphin_pink.position_state (ts DateTime64(3), strategy String, trade_id String, state String,
     asset String, side String, size Float64, client_order_id String, exchange_order_id String)
   ENGINE = MergeTree ORDER BY (trade_id, ts)`,
  `CREATE TABLE dolphin_pink.trade_events (ts DateTime64(3), strategy String, trade_id String, asset String,
     side String, entry_price Float64, exit_price Float64, size Float64, leverage Float64, pnl Float64, fees Float64,
     funding Float64, exit_reason String, bars_held UInt32, capital_after Float64)
   ENGINE = ReplacingMergeTree ORDER BY trade_id`,
  `CREATE TABLE dolphin_pink.account_events (ts DateTime64(3), strategy String, capital Float64, equity Float64,
     open_notional Float64, leverage Float64, open_positions UInt32, fingerprint String, cause String)
   ENGINE = MergeTree ORDER BY ts`,
  `CREATE TABLE dolphin_pink.status_snapshots (ts DateTime64(3), strategy String, capital Float64, posture String,
     trades_executed UInt64, open_trade_id String, heartbeat_age_ms UInt64) ENGINE = MergeTree ORDER BY ts`,
];

/** The statements of every ```sql block in the runbook, comments stripped. */
function runbookStatements(): string[] {
  const md = readFileSync(path.join(REPO, 'docs/RUNBOOK.md'), 'utf8');
  return [...md.matchAll(/```sql\n([\s\S]*?)```/g)].flatMap((m) =>
    (m[1] ?? '')
      .replace(/--[^\n]*/g, '')
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

const find = (needle: string) => {
  const s = runbookStatements().find((q) => q.includes(needle));
  if (!s) throw new Error(`no runbook statement contains ${needle}`);
  return s;
};

describe('runbook SQL', () => {
  for (const q of SCHEMA) sql(q);
  sql(`INSERT INTO dolphin_pink.position_state VALUES
    (now64(3) - 300, 'pink', 'BTCUSDT-1', 'POSITION_OPENED', 'BTCUSDT', 'LONG', 1, 'c1', 'e1'),
    (now64(3) - 200, 'pink', 'BTCUSDT-1', 'POSITION_CLOSED', 'BTCUSDT', 'LONG', 0, 'c2', 'e2'),
    (now64(3) - 100, 'pink', 'ETHUSDT-2', 'POSITION_OPENED', 'ETHUSDT', 'SHORT', 2, 'c3', 'e3'),
    (now64(3) - 50, 'pink', 'ETHUSDT-2', 'POSITION_CLOSED', 'ETHUSDT', 'SHORT', 0, 'c4', 'e4')`);
  // ETHUSDT-2 has its terminal row twice (a retried insert); BTCUSDT-1 has none.
  for (let i = 0; i < 2; i++)
    sql(`INSERT INTO dolphin_pink.trade_events VALUES
      (now64(3) - 40, 'pink', 'ETHUSDT-2', 'ETHUSDT', 'SHORT', 3000, 2990, 2, 1, 20, 1, 0, 'TP', 3, 25019)`);
  // 6000 account rows inside one 15-minute window: 6.7 rows/s, over the 5 rows/s cap.
  sql(`INSERT INTO dolphin_pink.account_events SELECT toStartOfFifteenMinutes(now64(3) - 3600) + number / 10, 'pink',
       25000, 25000, 0, 1, 0, 'f', 'FILL' FROM numbers(6000)`);

  it('every statement runs', () => {
    const statements = runbookStatements();
    expect(statements.length).toBeGreaterThanOrEqual(10);
    for (const q of statements) expect(() => sql(q.replace("'BTCUSDT-…'", "'BTCUSDT-1'")), q).not.toThrow();
  });

  it('the missing-terminal-row query finds exactly the closed trade without a trade_events row', () => {
    expect(rows(find('LEFT ANTI JOIN')).map((r) => r.trade_id)).toEqual(['BTCUSDT-1']);
  });

  it('the duplicate query finds the doubled trade, and FINAL reads it once', () => {
    expect(rows(find('HAVING n > 1'))).toEqual([{ trade_id: 'ETHUSDT-2', n: 2 }]);
    expect(rows(find('FROM dolphin_pink.trade_events FINAL'))).toHaveLength(1);
  });

  it('the last-state query reports each trade at its latest transition', () => {
    const last = rows(find('argMax(state, ts)'));
    expect(last.map((r) => [r.trade_id, r.last_state])).toEqual([
      ['ETHUSDT-2', 'POSITION_CLOSED'],
      ['BTCUSDT-1', 'POSITION_CLOSED'],
    ]);
  });

  it('the account_events cap query reports the window over 5 rows/s', () => {
    const over = rows(find('toStartOfFifteenMinutes'));
    expect(over).toHaveLength(1);
    expect(Number(over[0]?.rows_per_s)).toBeCloseTo(6000 / 900, 3);
  });
});
