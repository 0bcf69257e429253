/**
 * The crash-point x venue-event matrix through the real process: `pink run --venue bingx`
 * (ccxt -> loopback BingX-protocol simulator, which lives in this test process and keeps
 * trading while PINK is dead). PINK_FAULT_KILL_AT makes the runtime SIGKILL itself exactly
 * at one effect; then the venue acts (an external close, an add, a liquidation, funding, or
 * nothing); then a restart runs to the end of the data. Afterwards the venue and PINK's
 * books agree: the slot owns what the venue holds, the account's position is the venue's,
 * and PINK's capital moved exactly as the venue wallet did (every fill and funding payment
 * booked once, with the venue's numbers). The default suite runs every crash point with two
 * venue events; PINK_LONG=1 runs the whole matrix.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type BingxSim, startBingxSim } from '../src/adapters/bingx/sim-server.js';
import type { JournalState } from '../src/adapters/files/journal.js';
import { writeSyntheticScans } from '../src/app/simtest/synthetic-scans.js';
import { genericContract } from '../src/app/venues.js';
import { CLI, cliEnv, REPO } from './support/cli.js';

const LONG = process.env.PINK_LONG === '1';
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
const KEY = 'matrix-test-key-0123456789';
const SECRET = 'matrix-test-secret-abcdefghijklmnopqrstuvwxyz';
const WALLET = 1_000_000;
const CAPITAL = 25_000;

const root = mkdtempSync(join(tmpdir(), 'pink-matrix-'));
const data = join(root, 'scans.jsonl');
writeSyntheticScans(data, { scans: 260, seed: 5, symbols: SYMBOLS });
const first = JSON.parse(readFileSync(data, 'utf8').split('\n')[0]!) as {
  assets: Record<string, { price: number }>;
};

afterAll(() => rmSync(root, { recursive: true, force: true }));

type VenueEvent = (sim: BingxSim, symbol: string) => void;
/** Set up before the first run: market orders fill in pieces, so fills go on while PINK is dead. */
const SETUP: Record<string, (sim: BingxSim) => void> = {
  'partial fills continue': (sim) => sim.control.setPartialFills(3, 700),
};
const EVENTS: Record<string, VenueEvent> = {
  nothing: () => {},
  'partial fills continue': () => {},
  'external close': (sim, symbol) => sim.control.externalClose(symbol),
  'external add': (sim, symbol) => {
    const pos = sim.control.books().positions.find((p) => p.symbol === symbol);
    if (pos) sim.control.externalAdd(symbol, Math.abs(pos.qty) / 2);
  },
  liquidation: (sim, symbol) => sim.control.liquidate(symbol),
  funding: (sim, symbol) => sim.control.fund(symbol, 0.001),
};

const POINTS = [
  'after-write-ahead-entry',
  'after-submit-entry',
  'after-fill-drain',
  'after-write-ahead-exit',
  'after-submit-exit',
];

function run(dir: string, sim: BingxSim, extra: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [CLI, 'run', '--venue', 'bingx', '--data', data, '--interval-ms', '10'], {
    cwd: REPO,
    env: cliEnv(join(dir, 'var'), {
      PINK_BINGX_BASE_URL: sim.url,
      PINK_BINGX_POLL_MS: '30',
      PINK_BINGX_STREAMS: '0',
      DOLPHIN_BINGX_ENV: 'VST',
      BINGX_API_KEY: KEY,
      BINGX_API_SECRET: SECRET,
      PINK_CAPITAL: String(CAPITAL),
      ...extra,
    }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

function finished(child: ChildProcess): Promise<{ code: number | null; signal: string | null; err: string }> {
  let err = '';
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString();
  });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, err })));
}

async function scenario(point: string, eventName: string): Promise<void> {
  const dir = mkdtempSync(join(root, 'case-'));
  const sim = await startBingxSim({
    apiKey: KEY,
    apiSecret: SECRET,
    balance: WALLET,
    contracts: SYMBOLS.map(genericContract),
  });
  try {
    for (const a of SYMBOLS) sim.control.setMark(`${a.slice(0, -4)}-USDT`, first.assets[a]?.price ?? 100);
    SETUP[eventName]?.(sim);
    const dying = await finished(run(dir, sim, { PINK_FAULT_KILL_AT: point }));
    await new Promise((r) => setTimeout(r, 2_500)); // down a while: pieces keep filling
    // Orders of the restarted run fill at once, so nothing is still filling when the books are compared.
    sim.control.setPartialFills(1, 0);
    expect(dying.signal, `${point} was never reached:\n${dying.err.slice(-1500)}`).toBe('SIGKILL');
    // While PINK is down the venue acts on whatever position there is.
    const held = sim.control.books().positions.find((p) => Math.abs(p.qty) > 1e-9);
    if (held) EVENTS[eventName]!(sim, held.symbol);
    const rest = await finished(run(dir, sim));
    expect(rest.code, rest.err.slice(-3000)).toBe(0);
    expect(rest.err).toMatch(/ready/);

    const journal = JSON.parse(
      readFileSync(join(dir, 'var', 'run', 'pink-journal.json'), 'utf8'),
    ) as JournalState;
    const books = sim.control.books();
    const open = books.positions.filter((p) => Math.abs(p.qty) > 1e-9);
    const story = rest.err
      .split('\n')
      .filter((l) => /correction|recovery|ready|trade |stopping/.test(l))
      .join('\n');
    // Every venue position owned by the slot's trade, with the venue's size.
    if (journal.trade) {
      expect(
        open.map((p) => p.symbol.replace('-', '')),
        story,
      ).toEqual([journal.trade.asset]);
      if (!journal.trade.order) expect(Math.abs(open[0]!.qty)).toBeCloseTo(journal.trade.remainingQty, 6);
    } else {
      expect(open, story).toEqual([]);
    }
    expect(journal.account.qty).toBeCloseTo(
      open.reduce((s, p) => s + p.qty, 0),
      6,
    );
    // PINK's capital moved as the venue wallet did: realized PnL, fees and funding, each once.
    const a = journal.account;
    const pinkChange = a.realized - a.fees - a.funding;
    expect(
      pinkChange,
      rest.err
        .split('\n')
        .filter((l) => /correction|recovery/.test(l))
        .join('\n'),
    ).toBeCloseTo(books.balance - WALLET, 4);
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * At most `n` scenarios at once: each spends most of its time waiting (paced scans, polls,
 * the time down), and each has its own simulator, var directory and ports, so a few share
 * the machine without touching each other.
 */
function limiter(n: number): <T>(job: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: Array<() => void> = [];
  return async (job) => {
    if (running >= n) await new Promise<void>((resolve) => queue.push(resolve));
    running += 1;
    try {
      return await job();
    } finally {
      running -= 1;
      queue.shift()?.();
    }
  };
}

describe.concurrent('crash-point x venue-event matrix through pink run --venue bingx', () => {
  const events = LONG ? Object.keys(EVENTS) : ['partial fills continue', 'liquidation'];
  const slot = limiter(Number(process.env.PINK_MATRIX_CONCURRENCY ?? 3));
  for (const point of POINTS)
    for (const eventName of events)
      it(
        `kill -9 ${point} | while down: ${eventName}`,
        () => slot(() => scenario(point, eventName)),
        600_000,
      );
});
