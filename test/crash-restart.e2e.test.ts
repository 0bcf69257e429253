/**
 * Crash-restart against the BingX-protocol simulator: `pink run` as a child process
 * (ccxt -> loopback simulator), killed with SIGKILL at seeded random points and
 * restarted; afterwards the journal, the ledger and the simulator's books agree.
 * PINK_LONG=1 runs at least 30 kills; the default suite runs a handful.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BingxSim, startBingxSim } from '../src/adapters/bingx/sim-server.js';
import type { JournalState } from '../src/adapters/files/journal.js';
import { writeSyntheticScans } from '../src/app/simtest/synthetic-scans.js';
import { genericContract } from '../src/app/venues.js';
import { seededRandom } from '../src/domain/random.js';
import { clientOrderIdFor } from '../src/domain/venue.js';
import { CLI, cliEnv, REPO } from './support/cli.js';

const LONG = process.env.PINK_LONG === '1';
const KILLS = LONG ? 30 : 4;
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
const KEY = 'crash-test-key-0123456789';
const SECRET = 'crash-test-secret-abcdefghijklmnopqrstuvwxyz';

let sim: BingxSim;
const dir = mkdtempSync(join(tmpdir(), 'pink-crash-'));
const data = join(dir, 'scans.jsonl');

beforeAll(async () => {
  writeSyntheticScans(data, { scans: LONG ? 3000 : 900, seed: 5, symbols: SYMBOLS });
  const first = JSON.parse(readFileSync(data, 'utf8').split('\n')[0]!) as {
    assets: Record<string, { price: number }>;
  };
  sim = await startBingxSim({
    apiKey: KEY,
    apiSecret: SECRET,
    balance: 1_000_000,
    contracts: SYMBOLS.map(genericContract),
  });
  for (const a of SYMBOLS) sim.control.setMark(`${a.slice(0, -4)}-USDT`, first.assets[a]?.price ?? 100);
});

afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(): ChildProcess {
  return spawn(process.execPath, [CLI, 'run', '--venue', 'bingx', '--data', data, '--interval-ms', '15'], {
    cwd: REPO,
    env: cliEnv(join(dir, 'var'), {
      PINK_BINGX_BASE_URL: sim.url,
      PINK_BINGX_POLL_MS: '40',
      DOLPHIN_BINGX_ENV: 'VST',
      BINGX_API_KEY: KEY,
      BINGX_API_SECRET: SECRET,
    }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('crash-restart against the BingX-protocol simulator', () => {
  it(`survives ${KILLS} SIGKILLs: the slot matches the venue, no order twice, nothing invented`, async () => {
    const rnd = seededRandom(LONG ? 1234 : 99);
    const logs: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      const child = start();
      child.stderr?.on('data', (b: Buffer) => logs.push(b.toString()));
      const done = exited(child);
      await new Promise((r) => setTimeout(r, 600 + rnd() * 1800));
      child.kill('SIGKILL');
      await done;
    }
    // Final run to the end of the file (it stops by itself when the source ends).
    const last = start();
    let err = '';
    last.stderr?.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const code = await exited(last);
    expect(err).toMatch(/ready/);
    expect(code, err.slice(-2000)).toBe(0);
    expect(err).toMatch(/ready/);
    expect(err).not.toMatch(/already running/);

    const journal = JSON.parse(
      readFileSync(join(dir, 'var', 'run', 'pink-journal.json'), 'utf8'),
    ) as JournalState;
    const books = sim.control.books();
    const open = books.positions.filter((p) => Math.abs(p.qty) > 1e-9);
    // The slot matches the venue.
    if (journal.trade) {
      expect(open).toHaveLength(1);
      expect(open[0]!.symbol.replace('-', '')).toBe(journal.trade.asset);
      expect(Math.abs(open[0]!.qty)).toBeCloseTo(journal.trade.remainingQty, 6);
    } else {
      expect(open).toEqual([]);
    }
    // No order placed twice for one intent: one entry order per trade reached the book.
    const entries = books.orders.filter((o) => /-e\d+$/.test(o.clientOrderId ?? ''));
    const perTrade = new Map<string, number>();
    for (const o of entries) {
      const trade = (o.clientOrderId ?? '').replace(/-e\d+$/, '');
      perTrade.set(trade, (perTrade.get(trade) ?? 0) + 1);
    }
    for (const [trade, n] of perTrade) expect(n, trade).toBe(1);
    expect(perTrade.size).toBeGreaterThan(0);
    // The account follows the venue position.
    const venueQty = open.reduce((s, p) => s + p.qty, 0);
    expect(journal.account.qty).toBeCloseTo(venueQty, 6);
    expect(existsSync(join(dir, 'var', 'run', 'pink.lock'))).toBe(false);

    // The ledger survived every SIGKILL: exactly one terminal trade_events row for each trade
    // that entered on the venue and is no longer open, and none for anything else.
    const prefix = (id: string) => id.replace(/-e\d+$/, '');
    const entered = new Set(
      entries.filter((o) => o.executedQty > 0).map((o) => prefix(o.clientOrderId ?? '')),
    );
    if (journal.trade) entered.delete(prefix(clientOrderIdFor(journal.trade.id, 'e', 0)));
    const rows = execFileSync(
      process.execPath,
      [join(REPO, 'test/support/dump-ledger.mjs'), join(dir, 'var', 'clickhouse'), 'dolphin_pink'],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { table: string; trade_id?: string });
    const terminal = rows.filter((r) => r.table === 'trade_events').map((r) => r.trade_id ?? '');
    expect(new Set(terminal).size, 'duplicate terminal rows').toBe(terminal.length);
    // A kill between an entry order and its journal entry leaves a venue position that the
    // restart adopts as `<asset>-R-<ms>` (DESIGN.md §4): that trade carries on the entry.
    const isAdopted = (id: string) => /-R-\d+$/.test(id);
    const own = new Set(
      terminal.filter((id) => !isAdopted(id)).map((id) => prefix(clientOrderIdFor(id, 'e', 0))),
    );
    for (const id of own) expect(entered, `terminal row for ${id}, which never entered`).toContain(id);
    const adoptedRows = terminal.filter(isAdopted).length;
    const adoptedOpen = journal.trade && isAdopted(journal.trade.id) ? 1 : 0;
    expect(entered.size - own.size, 'entered trades without a terminal row').toBe(adoptedRows + adoptedOpen);
  }, 600_000);
});
