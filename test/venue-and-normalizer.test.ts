/** The sim venue (deterministic, configurable) and event normalization. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SIM_FINISHED_ORDERS_KEPT, SIM_HISTORY_MS, SimVenue } from '../src/adapters/sim/sim-venue.js';
import { seededRandom } from '../src/domain/random.js';
import type { OrderRequest, VenueFact } from '../src/domain/venue.js';
import { FACT_DEDUP_MAX_KEYS, FACT_DEDUP_WINDOW_MS, FactNormalizer } from '../src/execution/normalizer.js';
import { loadStrategy } from '../src/strategy/loader.js';
import { pink, REPO } from './support/cli.js';

const order = (
  id: string,
  side: 'BUY' | 'SELL',
  qty: number,
  ts: number,
  reduceOnly = false,
): OrderRequest => ({
  clientOrderId: id,
  tradeId: 't',
  asset: 'BTCUSDT',
  side,
  qty,
  reduceOnly,
  type: 'MARKET',
  leverage: 1,
  referencePrice: 100,
  ts,
});

async function script(seed: number, cfg: Record<string, number>): Promise<VenueFact[]> {
  const v = new SimVenue({ seed, ...cfg }, { price: () => 100 }, seededRandom(seed));
  await v.submit(order('a', 'SELL', 1, 0));
  const early = await v.drain(1000);
  await v.submit(order('b', 'BUY', 0.5, 1000, true));
  return [...early, ...(await v.drain(10_000))];
}

describe('sim venue', () => {
  it('is deterministic by seed and applies latency, partial fills, fees and slippage', async () => {
    const cfg = {
      latencyMs: 300,
      ackMs: 20,
      partialFills: 3,
      feeRate: 0.001,
      slippageBps: 10,
      slippageJitterBps: 5,
    };
    const a = await script(9, cfg);
    expect(a).toEqual(await script(9, cfg));
    expect(a).not.toEqual(await script(10, cfg));
    const fills = a.filter((f) => f.kind === 'fill');
    expect(fills.filter((f) => f.clientOrderId === 'a')).toHaveLength(3);
    const first = fills[0]!;
    if (first.kind !== 'fill') throw new Error('unreachable');
    expect(first.ts).toBe(100);
    expect(first.price).toBeLessThan(100 * (1 - 10 / 10000) + 1e-9); // a SELL fills below the mark
    expect(first.fee).toBeCloseTo(first.qty * first.price * 0.001, 12);
    expect(a.find((f) => f.kind === 'ack')?.ts).toBe(20);
    const last = a.filter((f) => f.kind === 'position').at(-1);
    expect(last?.kind === 'position' && last.qty).toBeCloseTo(-0.5, 12);
  });

  it('rejects by rate and refuses a reduce-only order with no position', async () => {
    const v = new SimVenue({ seed: 1, rejectRate: 1 }, { price: () => 100 }, seededRandom(1));
    await v.submit(order('x', 'SELL', 1, 0));
    expect((await v.drain(1000)).map((f) => f.kind)).toEqual(['reject']);
    const w = new SimVenue({ seed: 1 }, { price: () => 100 }, seededRandom(1));
    await w.submit(order('y', 'BUY', 1, 0, true));
    const facts = await w.drain(1000);
    expect(facts[0]).toMatchObject({ kind: 'reject', reason: 'no position to close' });
  });

  it('remembers open orders and the newest finished ones, not every order it ever saw', async () => {
    const v = new SimVenue({ seed: 1, latencyMs: 10, ackMs: 1 }, { price: () => 100 }, seededRandom(1));
    const kept = SIM_FINISHED_ORDERS_KEPT;
    for (let i = 0; i < kept + 501; i++) {
      await v.submit(order(`o${i}`, i % 2 ? 'BUY' : 'SELL', 1, 1000 + i * 100));
      if (i >= 1) await v.drain(1000 + i * 100); // everything before this one has finished
    }
    expect(v.ordersPlaced()).toBe(kept + 501);
    expect(v.ordersRemembered()).toBe(kept);
    expect(await v.lookup('o0')).toEqual({ found: false });
    expect(await v.lookup(`o${kept + 500}`)).toMatchObject({ found: true });
    expect(await v.lookup('o600')).toMatchObject({ found: true, status: 'FILLED' });
    // A client id sent twice within the remembered window is still placed once.
    await v.submit(order(`o${kept + 499}`, 'SELL', 1, 1000 + (kept + 501) * 100));
    expect(v.ordersPlaced()).toBe(kept + 501);
    // Open orders are never forgotten, however many there are.
    const slow = new SimVenue({ seed: 1, latencyMs: 1e9, ackMs: 1 }, { price: () => 100 }, seededRandom(1));
    for (let i = 0; i < kept + 10; i++) await slow.submit(order(`s${i}`, 'SELL', 1, i));
    expect(slow.ordersRemembered()).toBe(kept + 10);
    expect(await slow.lookup('s0')).toMatchObject({ found: true, status: 'OPEN' });
  });
});

describe('fact normalizer', () => {
  const fill = (fillId: string): VenueFact => ({
    kind: 'fill',
    clientOrderId: 'a',
    exchangeOrderId: '1',
    fillId,
    asset: 'BTCUSDT',
    side: 'SELL',
    qty: 1,
    price: 1,
    fee: 0,
    liquidation: false,
    ts: 1,
  });
  it('drops duplicate callbacks by exchange id and keeps one terminal state per order', () => {
    const n = new FactNormalizer();
    const out = n.normalize(
      [
        fill('f1'),
        fill('f1'),
        { kind: 'ack', clientOrderId: 'a', exchangeOrderId: '1', ts: 1 },
        { kind: 'ack', clientOrderId: 'a', exchangeOrderId: '1', ts: 2 },
        {
          kind: 'order_done',
          clientOrderId: 'a',
          exchangeOrderId: '1',
          status: 'FILLED',
          filledQty: 1,
          ts: 3,
        },
        {
          kind: 'order_done',
          clientOrderId: 'a',
          exchangeOrderId: '1',
          status: 'CANCELLED',
          filledQty: 1,
          ts: 4,
        },
        fill('f2'),
      ],
      0,
    );
    expect(out.map((f) => (f.kind === 'fill' ? f.fillId : f.kind))).toEqual([
      'f1',
      'ack',
      'order_done',
      'f2',
    ]);
    expect(n.stats()).toEqual({ passed: 4, duplicates: 3 });
  });

  it('remembers a fact for a day of the runtime clock, so a long run holds a day of keys, not a lifetime', () => {
    const n = new FactNormalizer();
    const t0 = 1_747_742_400_000;
    expect(n.normalize([fill('f1')], t0)).toHaveLength(1);
    // Repeated within the window (a callback twice, a poll's overlap, a recovery's history): dropped.
    expect(n.normalize([fill('f1')], t0 + FACT_DEDUP_WINDOW_MS - 1)).toHaveLength(0);
    // A year of facts, one a minute: what is remembered stays a day's worth.
    const minute = 60_000;
    for (let i = 0; i < 365 * 24 * 60; i++) n.normalize([fill(`y${i}`)], t0 + i * minute);
    expect(n.rememberedKeys()).toBe(FACT_DEDUP_WINDOW_MS / minute);
    const last = t0 + (365 * 24 * 60 - 1) * minute;
    expect(n.normalize([fill(`y${365 * 24 * 60 - 1}`)], last)).toHaveLength(0);
    expect(n.normalize([fill(`y${365 * 24 * 60 - FACT_DEDUP_WINDOW_MS / minute}`)], last)).toHaveLength(0);
    // A burst within the window is capped by count.
    const burst = new FactNormalizer(FACT_DEDUP_WINDOW_MS, 100);
    for (let i = 0; i < 1_000; i++) burst.normalize([fill(`b${i}`)], t0);
    expect(burst.rememberedKeys()).toBe(100);
    expect(FACT_DEDUP_MAX_KEYS).toBeGreaterThan(FACT_DEDUP_WINDOW_MS / minute);
  });

  it('the sim venue keeps a day of history: a long run holds a day of facts, and recovery still reads its minutes', async () => {
    const v = new SimVenue({ seed: 3 }, { price: () => 100 }, seededRandom(3));
    const hour = 3_600_000;
    // An order filled every hour for six weeks: ~2,000 history records.
    const hours = 1_000;
    for (let i = 0; i < hours; i++) {
      await v.submit(order(`h${i}`, i % 2 ? 'BUY' : 'SELL', 1, i * hour));
      await v.drain(i * hour + 60_000);
    }
    const end = (hours - 1) * hour + 60_000;
    const held = await v.history(0, ['BTCUSDT']);
    const lastDay = held.filter((f) => f.ts >= end - SIM_HISTORY_MS);
    // A day's records, plus at most one trim step (256) of older ones: not six weeks.
    expect(lastDay.length).toBeGreaterThanOrEqual(48);
    expect(held.length).toBeLessThanOrEqual(lastDay.length + 257);
    // What recovery reads (the last hours) is all there.
    const recent = await v.history(end - 3 * hour, ['BTCUSDT']);
    const filled = recent.flatMap((f) => (f.kind === 'fill' ? [f.clientOrderId] : []));
    expect(new Set(filled)).toEqual(new Set([`h${hours - 3}`, `h${hours - 2}`, `h${hours - 1}`]));
  });

  it('passes a position only when it changed and never lets a stale report override a newer one', () => {
    const n = new FactNormalizer();
    const pos = (qty: number, ts: number): VenueFact => ({
      kind: 'position',
      asset: 'BTCUSDT',
      qty,
      entryPrice: 1,
      ts,
    });
    const out = n.normalize([pos(-1, 10), pos(-1, 11), pos(0, 20), pos(-1, 15), pos(0, 21)], 0);
    expect(out.map((f) => (f.kind === 'position' ? f.qty : null))).toEqual([-1, 0]);
  });

  it('passes the same position again when a fill of that asset came since (opened and closed between two polls)', () => {
    const n = new FactNormalizer();
    const pos = (qty: number, ts: number): VenueFact => ({
      kind: 'position',
      asset: 'BTCUSDT',
      qty,
      entryPrice: 0,
      ts,
    });
    const fill = (id: string, asset: string, side: 'BUY' | 'SELL'): VenueFact => ({
      kind: 'fill',
      clientOrderId: 'c',
      exchangeOrderId: 'e',
      fillId: id,
      asset,
      side,
      qty: 1,
      price: 1,
      fee: 0,
      liquidation: false,
      ts: 1,
    });
    const positions = (facts: VenueFact[]) =>
      n.normalize(facts, 0).map((f) => (f.kind === 'position' ? f.qty : f.kind));
    expect(positions([pos(0, 10)])).toEqual([0]); // flat after the previous trade
    // Entry and exit both filled before the next position poll: it reads 0 again, and that
    // 0 is news (the position after those fills), as is the next one after the exit fill.
    expect(positions([fill('in', 'BTCUSDT', 'SELL'), pos(0, 20)])).toEqual(['fill', 0]);
    expect(positions([fill('out', 'BTCUSDT', 'BUY'), pos(0, 30)])).toEqual(['fill', 0]);
    expect(positions([pos(0, 40)])).toEqual([]); // nothing since: a repeat
    expect(positions([fill('other', 'ETHUSDT', 'BUY'), pos(0, 50)])).toEqual(['fill']); // another asset's fill
    expect(positions([fill('out', 'BTCUSDT', 'BUY'), pos(0, 60)])).toEqual([]); // a duplicate fill is no news
  });
});

describe('strategy by configuration', () => {
  it('loads a strategy module by path and refuses a module without createStrategy', async () => {
    const s = await loadStrategy(join(REPO, 'test/fixtures/hold-forever-strategy.mjs'));
    expect(s.name).toBe('hold-forever');
    await expect(loadStrategy(join(REPO, 'test/fixtures/independent_v7_ref.py'))).rejects.toThrow(
      /neither a built-in|createStrategy/,
    );
    await expect(loadStrategy('no-such-strategy')).rejects.toThrow(/no-such-strategy/);
  });

  it('replay uses the module named by PINK_ALGORITHM', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pink-plug-'));
    const data = join(dir, 's.jsonl');
    writeFileSync(
      data,
      `${JSON.stringify({ ts: 1, scan: 1, vel_div: -0.03, vol_ok: true, assets: { BTCUSDT: { price: 1, irp: 0.9 } } })}\n`,
    );
    const r = pink(['replay', '--data', data, '--decisions', join(dir, 'd.jsonl')], {
      PINK_ALGORITHM: join(REPO, 'test/fixtures/hold-forever-strategy.mjs'),
    });
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'd.jsonl'), 'utf8')).toContain('PLUGGED_IN');
  });
});
