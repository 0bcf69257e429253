/**
 * The bingx venue's private websocket streams, end to end on loopback: venue ->
 * ccxt.pro.bingx (watchOrders / watchPositions / watchBalance over the listenKey stream)
 * -> the simulator's gzip-framed user stream. A pushed update wakes the venue so its next
 * drain() polls at once; with the stream refused, polling at the cadence carries on.
 */

import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BingxCcxtVenue,
  type BingxVenueConfig,
  createBingxVenue,
} from '../src/adapters/bingx/ccxt-venue.js';
import {
  type BingxSim,
  DEFAULT_SIM_CONTRACTS,
  hmacHex,
  startBingxSim,
} from '../src/adapters/bingx/sim-server.js';
import { ConfigError, loadConfig } from '../src/app/config.js';
import { LatestPrices } from '../src/app/pipeline.js';
import { createVenue } from '../src/app/venues.js';
import type { VenueFact } from '../src/domain/venue.js';
import { expectOneAckAndVenueTime, orderMaker } from './support/orders.js';

const KEY = 'sim-api-key-streams';
const SECRET = 'sim-api-secret-streams';
const extra = ['LTC', 'XRP', 'DOGE'].map((base) => ({
  ...DEFAULT_SIM_CONTRACTS[2]!,
  symbol: `${base}-USDT`,
}));
const MARKS: Record<string, number> = { 'LTC-USDT': 80, 'XRP-USDT': 0.5, 'DOGE-USDT': 0.2 };

let sim: BingxSim;
const open: BingxCcxtVenue[] = [];

beforeAll(async () => {
  sim = await startBingxSim({
    apiKey: KEY,
    apiSecret: SECRET,
    contracts: [...DEFAULT_SIM_CONTRACTS, ...extra],
    marks: MARKS,
    balance: 10_000,
    streamPingMs: 100,
  });
});

afterAll(async () => {
  for (const v of open) await v.close();
  await sim?.close();
});

async function venueWith(over: Partial<BingxVenueConfig>): Promise<BingxCcxtVenue> {
  const v = await createBingxVenue({
    environment: { BINGX_API_KEY: KEY, BINGX_API_SECRET: SECRET },
    baseUrl: sim.url,
    ordersPollMs: 5000,
    positionsPollMs: 5000,
    accountPollMs: 5000,
    fundingPollMs: 60_000,
    submitTimeoutMs: 2000,
    requestTimeoutMs: 2000,
    rateLimitMs: 1,
    fillGraceMs: 200,
    streamBackoffMs: 100,
    streamBackoffMaxMs: 400,
    ...over,
  });
  open.push(v);
  return v;
}

const order = orderMaker('ws', MARKS, 3500);

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Drains every 20 ms until `done(facts)` holds, returning the facts and when it held. */
async function drainUntil(
  v: BingxCcxtVenue,
  done: (facts: VenueFact[]) => boolean,
  ms: number,
): Promise<{ facts: VenueFact[]; at: number }> {
  const facts: VenueFact[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    facts.push(...(await v.drain(Date.now())));
    if (done(facts)) return { facts, at: Date.now() };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`condition not met in ${ms} ms; facts: ${JSON.stringify(facts)}`);
}

const fillsOf = (facts: VenueFact[], id: string) =>
  facts.filter((f) => f.kind === 'fill' && f.clientOrderId === id);
const doneOf = (facts: VenueFact[], id: string) =>
  facts.some((f) => f.kind === 'order_done' && f.clientOrderId === id);
/** The orders poll always reads the open orders (history only for active assets). */
const orderPolls = () => sim.control.books().requests['GET /openApi/swap/v2/trade/openOrders'] ?? 0;

describe('bingx user streams (ccxt watch*) with polling as the fallback', () => {
  it('a pushed update wakes the venue: the fill arrives well before the 5 s poll cadence', async () => {
    const v = await venueWith({});
    await waitFor(() => v.streamHealth().connected, 3000, 'stream connected');
    const o = order('ETHUSDT', 'BUY', 0.1);
    const t0 = Date.now();
    await v.submit(o);
    const { facts, at } = await drainUntil(
      v,
      (f) =>
        fillsOf(f, o.clientOrderId).length === 1 &&
        f.some((x) => x.kind === 'position' && x.asset === 'ETHUSDT'),
      2000,
    );
    expect(at - t0).toBeLessThan(1000);
    expect(fillsOf(facts, o.clientOrderId)[0]).toMatchObject({ qty: 0.1, price: 3500, side: 'BUY' });
    const health = v.streamHealth();
    expect(health).toMatchObject({ enabled: true, connected: true, errors: 0, lastError: null });
    expect(health.updatesBy.orders).toBeGreaterThan(0);
    expect(health.updatesBy.orders).toBeGreaterThanOrEqual(2); // NEW, then TRADE
    expect(health.updatesBy.account).toBeGreaterThan(0);
    // ccxt answers the simulator's gzip "Ping" frames with "Pong"
    await waitFor(() => sim.control.streamStats().pongs > 0, 2000, 'a Pong');
    // the exit comes back just as fast
    const x = order('ETHUSDT', 'SELL', 0.1, { reduceOnly: true });
    const t1 = Date.now();
    await v.submit(x);
    const exit = await drainUntil(
      v,
      (f) =>
        doneOf(f, x.clientOrderId) &&
        f.some((p) => p.kind === 'position' && p.asset === 'ETHUSDT' && p.qty === 0),
      2000,
    );
    expect(exit.at - t1).toBeLessThan(1000);
    await v.close();
    expect(v.streamHealth().connected).toBe(false);
    await waitFor(() => sim.control.streamStats().open === 0, 2000, 'socket closed by close()');
  });

  it('with the stream refused, fills still arrive by polling at the cadence; the stream comes back', async () => {
    sim.control.setStreams(false);
    try {
      await refusedThenBack();
    } finally {
      sim.control.setStreams(true);
    }
  });

  async function refusedThenBack(): Promise<void> {
    const v = await venueWith({ ordersPollMs: 1500, positionsPollMs: 1500, accountPollMs: 3000 });
    await waitFor(() => v.streamHealth().errors > 0, 3000, 'a stream error');
    // Align with a poll, so the next one is a full cadence away.
    const before = orderPolls();
    await drainUntil(v, () => orderPolls() > before, 3000);
    const o = order('LTCUSDT', 'SELL', 0.5);
    const t0 = Date.now();
    await v.submit(o);
    const { facts, at } = await drainUntil(v, (f) => doneOf(f, o.clientOrderId), 4000);
    expect(fillsOf(facts, o.clientOrderId)).toHaveLength(1);
    expect(at - t0).toBeGreaterThan(1000); // it waited for the cadence: nothing woke the venue
    expect(at - t0).toBeLessThan(2500);
    const health = v.streamHealth();
    expect(health.connected).toBe(false);
    expect(health.updates).toBe(0);
    expect(health.lastError).toMatch(/503|Unexpected server response|NetworkError/);
    expect(health.backoffMs).toBeGreaterThan(0);
    expect(sim.control.streamStats().refused).toBeGreaterThan(0);

    // Trading goes on: the exit is reported by polling too.
    const x = order('LTCUSDT', 'BUY', 0.5, { reduceOnly: true });
    await v.submit(x);
    const exit = await drainUntil(
      v,
      (f) =>
        doneOf(f, x.clientOrderId) &&
        f.some((p) => p.kind === 'position' && p.asset === 'LTCUSDT' && p.qty === 0),
      4000,
    );
    expect(fillsOf(exit.facts, x.clientOrderId)).toHaveLength(1);

    // The stream is accepted again: the venue reconnects by itself and is woken again.
    sim.control.setStreams(true);
    await waitFor(() => v.streamHealth().connected, 3000, 'reconnected');
    const again = order('LTCUSDT', 'BUY', 0.5);
    const t1 = Date.now();
    await v.submit(again);
    const fast = await drainUntil(v, (f) => fillsOf(f, again.clientOrderId).length === 1, 2000);
    expect(fast.at - t1).toBeLessThan(1000);
    expect(v.streamHealth().updatesBy.orders).toBeGreaterThan(0);

    // A stream that drops while connected is a failure too; polling carries the next fill.
    const errorsBefore = v.streamHealth().errors;
    sim.control.setStreams(false);
    await waitFor(() => v.streamHealth().errors > errorsBefore, 3000, 'drop noticed');
    expect(v.streamHealth().connected).toBe(false);
    const close = order('LTCUSDT', 'SELL', 0.5, { reduceOnly: true });
    await v.submit(close);
    await drainUntil(v, (f) => fillsOf(f, close.clientOrderId).length === 1, 4000);
    await v.close();
  }

  it('a client that resets the connection after a refused upgrade does not take the simulator down', async () => {
    sim.control.setStreams(false);
    try {
      const port = Number(new URL(sim.url).port);
      for (let i = 0; i < 5; i += 1) {
        const answer = await new Promise<string>((resolve, reject) => {
          const s = connect(port, '127.0.0.1', () =>
            s.write(
              'GET /swap-market?listenKey=x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n' +
                'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
            ),
          );
          s.once('data', (d) => {
            s.resetAndDestroy(); // an RST, as a client that drops a refused socket at once sends
            resolve(String(d));
          });
          s.once('error', reject);
        });
        expect(answer).toMatch(/^HTTP\/1.1 503/);
      }
      await new Promise((r) => setTimeout(r, 200)); // the reset reaches the simulator's socket
      expect(sim.control.streamStats().refused).toBeGreaterThanOrEqual(5);
    } finally {
      sim.control.setStreams(true);
    }
  });

  it('no fill is reported twice when both the stream and the polls see it', async () => {
    // Polls every 50 ms and a wake on every push: each fill is read by several polls.
    const v = await venueWith({
      ordersPollMs: 50,
      positionsPollMs: 50,
      accountPollMs: 100,
      streamWakeGapMs: 0,
    });
    await waitFor(() => v.streamHealth().connected, 3000, 'stream connected');
    sim.control.setPartialFills(4, 120);
    try {
      const o = order('XRPUSDT', 'BUY', 40);
      await v.submit(o);
      const { facts } = await drainUntil(v, (f) => doneOf(f, o.clientOrderId), 4000);
      // Keep draining a while: late polls and late pushes must not repeat anything.
      const until = Date.now() + 600;
      while (Date.now() < until) {
        facts.push(...(await v.drain(Date.now())));
        await new Promise((r) => setTimeout(r, 20));
      }
      const fills = fillsOf(facts, o.clientOrderId);
      const simFills = sim.control.books().fills.filter((f) => f.clientOrderId === o.clientOrderId);
      expect(simFills).toHaveLength(4);
      expect(fills).toHaveLength(4);
      expect(new Set(fills.map((f) => (f.kind === 'fill' ? f.fillId : ''))).size).toBe(4);
      expect(fills.reduce((s, f) => s + (f.kind === 'fill' ? f.qty : 0), 0)).toBeCloseTo(40, 9);
      expect(
        facts.filter((f) => f.kind === 'order_done' && f.clientOrderId === o.clientOrderId),
      ).toHaveLength(1);
      const record = sim.control.books().orders.find((x) => x.clientOrderId === o.clientOrderId)!;
      expectOneAckAndVenueTime(facts, o.clientOrderId, record.time);
      expect(v.streamHealth().updatesBy.orders).toBeGreaterThanOrEqual(5); // NEW + 4 fills
    } finally {
      sim.control.setPartialFills(1, 100);
    }
    await v.close();
  });

  it('streams: false polls only and opens no socket', async () => {
    const openBefore = sim.control.streamStats().accepted;
    const v = await venueWith({ streams: false, ordersPollMs: 300, positionsPollMs: 300 });
    const o = order('DOGEUSDT', 'BUY', 50);
    await v.submit(o);
    await drainUntil(v, (f) => fillsOf(f, o.clientOrderId).length === 1, 3000);
    expect(v.streamHealth()).toMatchObject({ enabled: false, connected: false, updates: 0, errors: 0 });
    expect(sim.control.streamStats().accepted).toBe(openBefore);
    await v.close();
  });

  it('a FUNDING_FEE account update wakes the funding poll: the payment arrives long before its 60 s cadence', async () => {
    const v = await venueWith({});
    await waitFor(() => v.streamHealth().connected, 3000, 'stream connected');
    const o = order('XRPUSDT', 'BUY', 1000);
    await v.submit(o);
    await drainUntil(v, (f) => fillsOf(f, o.clientOrderId).length === 1, 2000);
    const t0 = Date.now();
    sim.control.fund('XRPUSDT', 0.001);
    const { facts, at } = await drainUntil(v, (f) => f.some((x) => x.kind === 'funding'), 3000);
    expect(at - t0).toBeLessThan(2000);
    // A long pays a positive rate (the exact amount is bingx-venue.e2e.test.ts's business).
    const funding = facts.find((x) => x.kind === 'funding') as { asset: string; amount: number };
    expect(funding.asset).toBe('XRPUSDT');
    expect(funding.amount).toBeGreaterThan(0);
    await v.submit(order('XRPUSDT', 'SELL', 1000, { reduceOnly: true }));
  });

  it('closing the venue releases its listenKey (BingX would keep it alive for 60 minutes)', async () => {
    const before = sim.control.streamStats().listenKeys;
    const v = await venueWith({});
    await waitFor(() => v.streamHealth().connected, 3000, 'stream connected');
    expect(sim.control.streamStats().listenKeys).toBe(before + 1);
    await v.close();
    expect(sim.control.streamStats().listenKeys).toBe(before);
    expect(v.streamHealth().lastError).toBeNull();
  });

  it('a failed release is recorded without the key, and close() still completes', async () => {
    const v = await venueWith({});
    await waitFor(() => v.streamHealth().connected, 3000, 'stream connected');
    const key = (v as unknown as { exchange: { options: { listenKey: string } } }).exchange.options.listenKey;
    // Someone else deleted it first: BingX answers the venue's DELETE with an error.
    const q = new URLSearchParams({ listenKey: key, timestamp: String(Date.now()) }).toString();
    await fetch(`${sim.url}/openApi/user/auth/userDataStream?${q}&signature=${hmacHex(SECRET, q)}`, {
      method: 'DELETE',
      headers: { 'X-BX-APIKEY': KEY },
    });
    await v.close();
    const { lastError } = v.streamHealth();
    expect(lastError).toMatch(/^listenKey release: /);
    expect(lastError).not.toContain(key);
  });

  it('simulator: listenKeys are created, extended, deleted; unknown keys are refused', async () => {
    const signed = (method: string, params: Record<string, string>) => {
      const q = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
      const url = `${sim.url}/openApi/user/auth/userDataStream?${q}&signature=${hmacHex(SECRET, q)}`;
      return fetch(url, { method, headers: { 'X-BX-APIKEY': KEY } });
    };
    const created = await signed('POST', {});
    const { listenKey } = (await created.json()) as { listenKey: string };
    expect(listenKey).toMatch(/^[0-9a-f]{64}$/);
    expect((await signed('PUT', { listenKey })).status).toBe(200);
    expect((await signed('PUT', { listenKey: 'nope' })).status).toBe(404);
    const bad = await fetch(`${sim.url}/openApi/user/auth/userDataStream`, {
      method: 'POST',
      headers: { 'X-BX-APIKEY': 'wrong' },
    });
    expect(((await bad.json()) as { code: number }).code).toBe(100413);
    expect((await signed('DELETE', { listenKey })).status).toBe(200);
    expect((await signed('DELETE', { listenKey })).status).toBe(404);
    const refusedBefore = sim.control.streamStats().refused;
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`${sim.url.replace('http', 'ws')}/swap-market?listenKey=${listenKey}`);
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    ws.terminate();
    expect(status).toBe(401);
    expect(sim.control.streamStats().refused).toBe(refusedBefore + 1);
  });
});

describe('createVenue passes the setting through', () => {
  it('bingx-sim: streams by default, polling only with streams: false', async () => {
    type WithHealth = { streamHealth(): { enabled: boolean; connected: boolean } };
    const on = await createVenue({ kind: 'bingx-sim', assets: ['BTCUSDT'] }, new LatestPrices());
    const off = await createVenue(
      { kind: 'bingx-sim', assets: ['BTCUSDT'], streams: false },
      new LatestPrices(),
    );
    try {
      const onHealth = () => (on.venue as unknown as WithHealth).streamHealth();
      await waitFor(() => onHealth().connected, 3000, 'bingx-sim stream connected');
      expect((off.venue as unknown as WithHealth).streamHealth()).toMatchObject({
        enabled: false,
        connected: false,
      });
    } finally {
      await on.venue.close();
      await off.venue.close();
    }
  });
});

describe('PINK_BINGX_STREAMS', () => {
  it('defaults to on, reads 1/0/true/false and refuses anything else naming the variable', () => {
    expect(loadConfig({ env: {} }).bingx.streams).toBe(true);
    expect(loadConfig({ env: { PINK_BINGX_STREAMS: '0' } }).bingx.streams).toBe(false);
    expect(loadConfig({ env: { PINK_BINGX_STREAMS: 'false' } }).bingx.streams).toBe(false);
    expect(loadConfig({ env: { PINK_BINGX_STREAMS: 'TRUE' } }).bingx.streams).toBe(true);
    expect(loadConfig({ env: { PINK_BINGX_STREAMS: '1' } }).bingx.streams).toBe(true);
    expect(() => loadConfig({ env: { PINK_BINGX_STREAMS: 'maybe' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { PINK_BINGX_STREAMS: 'maybe' } })).toThrow(/PINK_BINGX_STREAMS/);
  });
});
