/**
 * The ClickHouse ledger on the embedded engine: batching by size and time, deduplication
 * tokens, the durable spool through an outage and across a restart, quarantine of data
 * ClickHouse will never take, and the namespace guard on every insert.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StagedBatchWriter } from '../src/adapters/clickhouse/batch-writer.js';
import { ClickHouseLedger } from '../src/adapters/clickhouse/ledger.js';
import { chTs } from '../src/adapters/clickhouse/rows.js';
import { applySchema } from '../src/adapters/clickhouse/schema.js';
import { FileSpool } from '../src/adapters/clickhouse/spool.js';
import { lookupNamespace, WriteGuard, WriteRefused } from '../src/domain/namespaces.js';
import { type EmbeddedEngine, FaultyClient, openEmbedded, PINK } from './clickhouse-support.js';

let ch: EmbeddedEngine;
beforeAll(async () => {
  ch = await openEmbedded('ledger');
  await applySchema(ch.client, PINK.clickhouseDb, ch.guard);
});
afterAll(async () => ch.close());

const T0 = 1_747_742_400_000;

/** A position_state row tagged with the test's run id (so each test counts its own rows). */
/**
 * The ledger tests run once per batch writer (JSONEachRow through the client, and the
 * embedded engine's staged RowBinary files); run ids carry the writer so counts stay apart.
 */
const WRITERS = ['json', 'staged'] as const;
type WriterKind = (typeof WRITERS)[number];
let writerKind: WriterKind = 'json';
const runId = (run: string) => `${run}-${writerKind}`;
const spoolOf = (run: string) => path.join(ch.dir, `spool-${runId(run)}`);

function stateRow(run: string, i: number) {
  return {
    ts: chTs(T0 + i),
    strategy: 'pink',
    run_id: runId(run),
    event_seq: i,
    trade_id: `${run}-T-${i}`,
    state: 'POSITION_UPDATED',
    asset: 'BTCUSDT',
    side: 'SHORT',
    size: i / 10,
    client_order_id: `c${i}`,
    exchange_order_id: '',
    detail: `row ${i}`,
  };
}

function ledgerFor(client: FaultyClient | EmbeddedEngine['client'], run: string, over = {}) {
  return new ClickHouseLedger({
    client,
    database: PINK.clickhouseDb,
    guard: ch.guard,
    engine: 'embedded',
    spoolDir: spoolOf(run),
    runId: runId(run),
    writer:
      writerKind === 'staged'
        ? new StagedBatchWriter(client, path.join(ch.dir, `staging-${runId(run)}`), 1)
        : undefined,
    ownsClient: false,
    retryBaseMs: 20,
    retryMaxMs: 100,
    ...over,
  });
}

/** (count, distinct event_seq) of a run's rows: equal and = n means every row exactly once. */
async function onceEach(run: string): Promise<{ rows: number; distinct: number; seqs: number[] }> {
  const [r] = await ch.rows<{ rows: number; distinct: number }>(
    `SELECT count() AS rows, uniqExact(event_seq) AS distinct FROM ${PINK.clickhouseDb}.position_state WHERE run_id = '${runId(run)}'`,
  );
  const seqs = (
    await ch.rows<{ event_seq: number }>(
      `SELECT event_seq FROM ${PINK.clickhouseDb}.position_state WHERE run_id = '${runId(run)}' ORDER BY event_seq`,
    )
  ).map((x) => Number(x.event_seq));
  return { rows: Number(r?.rows), distinct: Number(r?.distinct), seqs };
}

const range = (n: number, from = 1) => Array.from({ length: n }, (_, i) => i + from);
/** `n` position_state rows of run `run`, numbered from `from`. */
const stateRows = (run: string, n: number, from = 1) => range(n, from).map((i) => stateRow(run, i));

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('deduplication token', () => {
  it('the same batch inserted twice with its token is stored once; another token stores it again', async () => {
    const rows = stateRows('token', 3);
    const insert = (token: string) =>
      ch.client.insert({
        table: `${PINK.clickhouseDb}.position_state`,
        values: rows,
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplicate: 1, insert_deduplication_token: token },
      });
    await insert('token:1');
    await insert('token:1');
    expect((await onceEach('token')).rows).toBe(3);
    await insert('token:2');
    expect((await onceEach('token')).rows).toBe(6);
  });
  it('needs non_replicated_deduplication_window: without it a non-replicated MergeTree stores the retry twice', async () => {
    const db = PINK.clickhouseDb;
    await ch.client.command({
      query: `CREATE TABLE IF NOT EXISTS ${db}.no_window_probe (k UInt32) ENGINE = MergeTree ORDER BY k`,
    });
    for (let i = 0; i < 2; i++)
      await ch.client.insert({
        table: `${db}.no_window_probe`,
        values: [{ k: 1 }],
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplicate: 1, insert_deduplication_token: 'same' },
      });
    expect(await ch.count('no_window_probe')).toBe(2);
    await ch.client.command({ query: `DROP TABLE ${db}.no_window_probe` });
  });
});

describe.each(WRITERS)('%s batch writer', (kind) => {
  beforeAll(() => {
    writerKind = kind;
  });

  describe('batching', () => {
    it('writes a full batch at once and the rest after the time bound, without flush()', async () => {
      const client = new FaultyClient(ch.client);
      const ledger = ledgerFor(client, 'batch', { batchRows: 3, flushIntervalMs: 150 });
      ledger.insert('position_state', stateRows('batch', 7));
      await until(async () => (await ch.count('position_state', `run_id = '${runId('batch')}'`)) === 6);
      expect(client.insertCalls).toBe(2);
      expect(ledger.health().queuedRows).toBe(1);
      await until(async () => (await ch.count('position_state', `run_id = '${runId('batch')}'`)) === 7);
      expect(client.insertCalls).toBe(3);
      expect(ledger.health()).toMatchObject({
        rowsWritten: 7,
        spoolDepth: 0,
        reachable: true,
        lastError: '',
      });
      await ledger.close();
    });

    it('insert() queues synchronously: nothing reaches ClickHouse before a bound is hit', async () => {
      const client = new FaultyClient(ch.client);
      const ledger = ledgerFor(client, 'sync', { batchRows: 100, flushIntervalMs: 60_000 });
      ledger.insert('position_state', stateRows('sync', 5));
      await new Promise((r) => setTimeout(r, 50));
      expect(client.insertCalls).toBe(0);
      await ledger.flush();
      expect(client.insertCalls).toBe(1);
      expect((await onceEach('sync')).rows).toBe(5);
      await ledger.close();
    });
  });

  describe('outage: spool, retry, exactly once', () => {
    it('spools while inserts fail, keeps order behind the spool, drains once ClickHouse is back', async () => {
      const client = new FaultyClient(ch.client);
      const errors: string[] = [];
      const ledger = ledgerFor(client, 'outage', { batchRows: 4, onError: (m: string) => errors.push(m) });
      ledger.insert('position_state', stateRows('outage', 4));
      await ledger.flush();
      client.failing = true;
      ledger.insert('position_state', stateRows('outage', 6, 5));
      await ledger.flush();
      expect(ledger.health()).toMatchObject({ reachable: false, spoolDepth: 2, rowsWritten: 4 });
      expect(ledger.health().lastError).toContain('ECONNREFUSED');
      expect(errors.length).toBeGreaterThan(0);
      expect(readdirSync(spoolOf('outage')).filter((f) => f.endsWith('.jsonl'))).toHaveLength(2);
      expect((await onceEach('outage')).rows).toBe(4);
      client.failing = false;
      // New rows arrive while the spool still holds older ones: they must land after them.
      ledger.insert('position_state', stateRows('outage', 3, 11));
      await ledger.flush();
      await until(() => ledger.health().spoolDepth === 0);
      const r = await onceEach('outage');
      expect(r).toEqual({ rows: 13, distinct: 13, seqs: range(13) });
      expect(ledger.health()).toMatchObject({ reachable: true, rowsWritten: 13 });
      await ledger.close();
    });

    it('retries on its own with back-off (no flush, no recoverSpool call)', async () => {
      const client = new FaultyClient(ch.client);
      const ledger = ledgerFor(client, 'backoff', { batchRows: 2, flushIntervalMs: 20 });
      client.failing = true;
      ledger.insert('position_state', stateRows('backoff', 4));
      await until(() => ledger.health().spoolDepth === 2);
      const failedSoFar = client.failedInserts;
      await new Promise((r) => setTimeout(r, 120));
      expect(client.failedInserts).toBeGreaterThan(failedSoFar);
      client.failing = false;
      await until(() => ledger.health().spoolDepth === 0);
      expect(await onceEach('backoff')).toEqual({ rows: 4, distinct: 4, seqs: range(4) });
      await ledger.close();
    });

    it('a lost acknowledgement (insert landed, client threw) is retried with the same token and not duplicated', async () => {
      const client = new FaultyClient(ch.client);
      const ledger = ledgerFor(client, 'lostack', { batchRows: 5 });
      client.failAfterInsert = 1;
      ledger.insert('position_state', stateRows('lostack', 5));
      await ledger.flush();
      expect(ledger.health().spoolDepth).toBe(1);
      expect((await onceEach('lostack')).rows).toBe(5);
      await ledger.recoverSpool();
      expect(client.insertCalls).toBe(2);
      expect(ledger.health().spoolDepth).toBe(0);
      expect(await onceEach('lostack')).toEqual({ rows: 5, distinct: 5, seqs: range(5) });
      await ledger.close();
    });
  });

  describe('restart with a non-empty spool', () => {
    it('a new ledger instance recovers the spool in order, exactly once, even for a batch that had landed', async () => {
      const dead = new FaultyClient(ch.client);
      const first = ledgerFor(dead, 'restart', { batchRows: 3 });
      // Batch 1 lands but its ack is lost; batches 2-3 never reach ClickHouse.
      dead.failAfterInsert = 1;
      first.insert('position_state', stateRows('restart', 3));
      await first.flush();
      dead.failing = true;
      first.insert('position_state', stateRows('restart', 6, 4));
      await first.close();
      expect(first.health().spoolDepth).toBe(3);
      expect((await onceEach('restart')).rows).toBe(3);

      const second = ledgerFor(ch.client, 'restart-2', { spoolDir: spoolOf('restart') });
      expect(second.health().spoolDepth).toBe(3);
      const recovered = await second.recoverSpool();
      expect(recovered).toEqual({ batches: 3, rows: 9, remaining: 0 });
      expect(await onceEach('restart')).toEqual({ rows: 9, distinct: 9, seqs: range(9) });
      // A third start finds nothing to do.
      const third = ledgerFor(ch.client, 'restart-3', { spoolDir: spoolOf('restart') });
      expect(await third.recoverSpool()).toEqual({ batches: 0, rows: 0, remaining: 0 });
      await second.close();
      await third.close();
    });
  });

  describe('poison batches and the guard', () => {
    it('a batch ClickHouse can never parse is quarantined; the batches behind it still land', async () => {
      const spool = new FileSpool(spoolOf('poison'));
      await spool.append({
        database: PINK.clickhouseDb,
        table: 'position_state',
        token: `${runId('poison')}:0`,
        rows: [{ ...stateRow('poison', 0), size: 'not a number' }],
      });
      // Left by an earlier run; this run's rows queue behind it.
      const ledger = ledgerFor(ch.client, 'poison', { batchRows: 2 });
      ledger.insert('position_state', stateRows('poison', 2));
      await ledger.flush();
      expect(ledger.health()).toMatchObject({ spoolDepth: 0, rowsQuarantined: 1, rowsWritten: 2 });
      expect(ledger.health().lastError).toMatch(/rejected for good/);
      expect(existsSync(path.join(spoolOf('poison'), 'rejected', '000000000001.jsonl'))).toBe(true);
      expect(await onceEach('poison')).toEqual({ rows: 2, distinct: 2, seqs: [1, 2] });
      await ledger.close();
    });

    it('a batch that keeps failing while ClickHouse answers is quarantined after poisonAfter tries; the rest land', async () => {
      const faulty = new FaultyClient(ch.client);
      const spool = new FileSpool(spoolOf('stuck'));
      const token = `${runId('stuck')}:0`;
      await spool.append({
        database: PINK.clickhouseDb,
        table: 'position_state',
        token,
        rows: [stateRow('stuck', 9)],
      });
      faulty.failToken = token;
      const ledger = ledgerFor(faulty, 'stuck', { batchRows: 2, poisonAfter: 4 });
      ledger.insert('position_state', stateRows('stuck', 2));
      await ledger.flush();
      // Behind the stuck batch, nothing lands yet: order is kept while it may still go in.
      expect(ledger.health()).toMatchObject({ rowsWritten: 0, rowsQuarantined: 0 });
      await until(() => ledger.health().spoolDepth === 0);
      expect(faulty.failedInserts).toBe(4);
      expect(ledger.health()).toMatchObject({ rowsQuarantined: 1, rowsWritten: 2 });
      expect(ledger.health().lastError).toMatch(
        /rejected for good.*failed 4 times in a row while ClickHouse answers/,
      );
      expect(existsSync(path.join(spoolOf('stuck'), 'rejected', '000000000001.jsonl'))).toBe(true);
      expect(await onceEach('stuck')).toEqual({ rows: 2, distinct: 2, seqs: [1, 2] });
      await ledger.close();
    });

    it('a batch failing while ClickHouse is down is kept, however many tries', async () => {
      const faulty = new FaultyClient(ch.client);
      faulty.failing = true;
      faulty.ping = async () => ({ success: false, error: new Error('connect ECONNREFUSED') });
      const ledger = ledgerFor(faulty, 'down', { poisonAfter: 2 });
      ledger.insert('position_state', stateRows('down', 1));
      await ledger.flush();
      await until(() => faulty.failedInserts >= 5);
      expect(ledger.health()).toMatchObject({ spoolDepth: 1, rowsQuarantined: 0 });
      faulty.failing = false;
      await until(() => ledger.health().spoolDepth === 0);
      expect(await onceEach('down')).toEqual({ rows: 1, distinct: 1, seqs: [1] });
      await ledger.close();
    });

    it('refuses rows for another namespace database at insert time', () => {
      const blue = lookupNamespace('blue');
      const ledger = new ClickHouseLedger({
        client: ch.client,
        database: blue.clickhouseDb,
        guard: new WriteGuard(PINK),
        engine: 'embedded',
        spoolDir: path.join(ch.dir, 'spool-guard'),
        ownsClient: false,
      });
      expect(() => ledger.insert('position_state', [stateRow('guard', 1)])).toThrow(WriteRefused);
      expect(ledger.health().queuedRows).toBe(0);
    });

    it('a spooled batch addressed to another database is quarantined, never inserted', async () => {
      const spoolDir = path.join(ch.dir, 'spool-foreign');
      await new FileSpool(spoolDir).append({
        database: lookupNamespace('green').clickhouseDb,
        table: 'position_state',
        token: 'foreign:1',
        rows: [stateRow('foreign', 1)],
      });
      const ledger = ledgerFor(ch.client, 'foreign', { spoolDir });
      expect(await ledger.recoverSpool()).toEqual({ batches: 0, rows: 0, remaining: 0 });
      expect(ledger.health().rowsQuarantined).toBe(1);
      expect(ch.alerts.some((a) => a.message.includes('dolphin_green.position_state'))).toBe(true);
      await ledger.close();
    });
  });
});
