/** blue-v7-ref against ALGORITHM.md §3-§4, rule by rule, with hand-computed expectations. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { intentFromDecision, tradeIdFor } from '../src/domain/decision.js';
import type { Scan } from '../src/domain/scan.js';
import { BlueV7Ref } from '../src/strategy/blue-v7-ref.js';
import { ChainHasher, decisionHash, decisionLine, decisionTuple } from '../src/strategy/decision-log.js';

const CAP = { capital: 25_000 };
let n = 100;
function scan(vel_div: number, assets: Record<string, [number, number]>, vol_ok = true): Scan {
  n += 1;
  const a: Record<string, { price: number; irp: number }> = {};
  for (const [k, [price, irp]] of Object.entries(assets)) a[k] = { price, irp };
  return { ts: 1_747_742_400_000 + n * 5000, scan: n, vel_div, vol_ok, assets: a };
}

describe('blue-v7-ref: empty slot', () => {
  it('applies the first matching rule: VOL_GATE, NO_SIGNAL, EXTREME, NO_ASSET', () => {
    const s = new BlueV7Ref();
    expect(s.decide(scan(-0.03, { BTCUSDT: [100, 0.9] }, false), CAP).record.reason).toBe('VOL_GATE');
    expect(s.decide(scan(-0.019, { BTCUSDT: [100, 0.9] }), CAP).record.reason).toBe('NO_SIGNAL');
    expect(s.decide(scan(-0.0501, { BTCUSDT: [100, 0.9] }), CAP).record.reason).toBe('EXTREME');
    expect(s.decide(scan(-0.03, { BTCUSDT: [100, 0.44] }), CAP).record.reason).toBe('NO_ASSET');
    const none = s.decide(scan(-0.03, {}), CAP).record;
    expect(none).toMatchObject({
      action: 'NONE',
      asset: '',
      side: '',
      leverage: 0,
      bars_held: 0,
      fired: true,
    });
  });

  it('enters on the highest irp, ties to the smallest symbol, with the specified leverage', () => {
    const s = new BlueV7Ref();
    // confidence = (-0.02 - -0.035) / (-0.02 - -0.05) = 0.5 -> leverage floor((0.5 + 4.5*0.5)*100+0.5)/100 = 2.75
    const d = s.decide(
      scan(-0.035, { ETHUSDT: [3000, 0.8], BTCUSDT: [60000, 0.8], SOLUSDT: [150, 0.7] }),
      CAP,
    );
    expect(d.record).toMatchObject({
      action: 'ENTER',
      reason: 'ENTER',
      asset: 'BTCUSDT',
      side: 'SHORT',
      bars_held: 0,
    });
    const conf = (-0.02 - -0.035) / (-0.02 - -0.05);
    expect(d.record.leverage).toBe(Math.floor((0.5 + (5.0 - 0.5) * conf) * 100 + 0.5) / 100);
    expect(d.record.leverage).toBe(2.75);
    expect(d.order!.targetSize).toBeCloseTo((25_000 * 0.2 * 2.75) / 60000, 12);
  });

  it('vel_div exactly at the threshold fires and enters with minimum leverage; at the extreme enters with max', () => {
    const a = new BlueV7Ref();
    expect(a.decide(scan(-0.02, { BTCUSDT: [100, 0.45] }), CAP).record).toMatchObject({
      action: 'ENTER',
      leverage: 0.5,
      fired: true,
    });
    const b = new BlueV7Ref();
    expect(b.decide(scan(-0.05, { BTCUSDT: [100, 0.45] }), CAP).record).toMatchObject({
      action: 'ENTER',
      leverage: 5,
    });
  });
});

describe('blue-v7-ref: occupied slot', () => {
  function entered() {
    const s = new BlueV7Ref();
    s.decide(scan(-0.03, { BTCUSDT: [100, 0.9] }), CAP);
    return s;
  }

  it('counts bars, holds, reports NO_PRICE when the asset is missing', () => {
    const s = entered();
    expect(s.decide(scan(0, { BTCUSDT: [100, 0.1] }), CAP).record).toMatchObject({
      action: 'HOLD',
      reason: 'HOLD',
      bars_held: 1,
      asset: 'BTCUSDT',
      side: 'SHORT',
      leverage: 2,
    });
    expect(s.decide(scan(0, { ETHUSDT: [1, 1] }), CAP).record).toMatchObject({
      action: 'HOLD',
      reason: 'NO_PRICE',
      bars_held: 2,
    });
  });

  it('exits TP1 then TP2 (one leg per scan, the last exits the remainder) and starts a 3-scan cooldown', () => {
    const s = entered();
    // price 98.0 -> move 200 bps >= both legs, but only one leg per scan
    const d1 = s.decide(scan(0, { BTCUSDT: [98, 0.9] }), CAP);
    expect(d1.record).toMatchObject({ action: 'EXIT', reason: 'TP1', bars_held: 1 });
    expect(d1.order).toMatchObject({ leg: 0, fraction: 0.5, final: false });
    const d2 = s.decide(scan(0, { BTCUSDT: [98, 0.9] }), CAP);
    expect(d2.record).toMatchObject({ action: 'EXIT', reason: 'TP2', bars_held: 2 });
    expect(d2.order).toMatchObject({ leg: 1, final: true });
    for (let i = 0; i < 3; i++)
      expect(s.decide(scan(-0.03, { BTCUSDT: [98, 0.9] }), CAP).record.reason).toBe('COOLDOWN');
    expect(s.decide(scan(-0.03, { BTCUSDT: [98, 0.9] }), CAP).record.action).toBe('ENTER');
  });

  it('stop loss wins over take profit and max hold; the threshold is inclusive', () => {
    const s = entered();
    expect(s.decide(scan(0, { BTCUSDT: [102.5, 0.9] }), CAP).record).toMatchObject({
      action: 'EXIT',
      reason: 'STOP_LOSS',
    });
  });

  it('exits MAX_HOLD at 120 bars', () => {
    const s = entered();
    for (let i = 1; i < 120; i++)
      expect(s.decide(scan(0, { BTCUSDT: [100, 0.9] }), CAP).record.action).toBe('HOLD');
    expect(s.decide(scan(0, { BTCUSDT: [100, 0.9] }), CAP).record).toMatchObject({
      action: 'EXIT',
      reason: 'MAX_HOLD',
      bars_held: 120,
    });
  });

  it('venue overrides: entry failure empties without cooldown, vanished position empties with cooldown', () => {
    const a = entered();
    a.override('ENTRY_FAILED', a.openTradeId()!);
    expect(a.decide(scan(-0.03, { BTCUSDT: [100, 0.9] }), CAP).record.action).toBe('ENTER');
    const b = entered();
    b.override('POSITION_VANISHED', 'someone-else');
    expect(b.openTradeId()).not.toBeNull();
    b.override('POSITION_VANISHED', b.openTradeId()!);
    expect(b.decide(scan(-0.03, { BTCUSDT: [100, 0.9] }), CAP).record.reason).toBe('COOLDOWN');
  });

  it('saves and restores its memory', () => {
    const a = entered();
    const b = new BlueV7Ref();
    b.restoreState(a.saveState());
    const sc = scan(0, { BTCUSDT: [99, 0.9] });
    expect(b.decide(sc, CAP)).toEqual(a.decide(sc, CAP));
  });
});

describe('decision log format and hashes', () => {
  const record = {
    scan: 1042,
    ts: 1747742405000,
    fired: true,
    action: 'ENTER',
    asset: 'BTCUSDT',
    side: 'SHORT',
    leverage: 2.58,
    reason: 'ENTER',
    bars_held: 0,
  } as const;

  it('writes the fields in the specified order', () => {
    expect(decisionLine(record)).toBe(
      '{"scan":1042,"ts":1747742405000,"fired":true,"action":"ENTER","asset":"BTCUSDT","side":"SHORT","leverage":2.58,"reason":"ENTER","bars_held":0}',
    );
  });

  it('hashes the tuple with leverage to 2 decimals and chains from the empty string', () => {
    expect(decisionTuple(record)).toBe('1042|1|ENTER|BTCUSDT|SHORT|2.58|ENTER|0');
    expect(decisionTuple({ ...record, action: 'NONE', asset: '', side: '', leverage: 0, fired: false })).toBe(
      '1042|0|NONE|||0.00|ENTER|0',
    );
    const h = createHash('sha256').update('1042|1|ENTER|BTCUSDT|SHORT|2.58|ENTER|0').digest('hex');
    expect(decisionHash(record)).toBe(h);
    const chain = new ChainHasher();
    const h1 = chain.push(h);
    expect(h1).toBe(createHash('sha256').update(h).digest('hex'));
    expect(chain.push(h)).toBe(
      createHash('sha256')
        .update(h1 + h)
        .digest('hex'),
    );
  });
});

describe('blue-v7-ref: an adopted (RECOVERED) trade', () => {
  // A crash between an entry order and its journal entry leaves a venue position that the
  // restart adopts as `<asset>-R-<ms>`. The exits must name that trade: they used to name
  // `<asset>-T-<entry scan>`, which the kernel refused, so the position was never managed.
  it('exit intents carry the adopted trade id', () => {
    const s = new BlueV7Ref();
    s.adopt({
      tradeId: 'SOLUSDT-R-1796191343771',
      asset: 'SOLUSDT',
      side: 'SHORT',
      leverage: 1,
      entryReferencePrice: 100,
    });
    let intent = null;
    for (let i = 0; i < 200 && !intent; i++)
      intent = intentFromDecision(s.decide(scan(0, { SOLUSDT: [90, 0.9] }), CAP));
    expect(intent).toMatchObject({ kind: 'EXIT', tradeId: 'SOLUSDT-R-1796191343771', asset: 'SOLUSDT' });
  });

  it('entry and exit intents of an ordinary trade keep naming it by its entry scan', () => {
    const s = new BlueV7Ref();
    const enter = intentFromDecision(s.decide(scan(-0.05, { BTCUSDT: [100, 0.9] }), CAP));
    expect(enter).toMatchObject({ kind: 'ENTER', tradeId: tradeIdFor('BTCUSDT', n) });
    let exit = null;
    for (let i = 0; i < 200 && !exit; i++)
      exit = intentFromDecision(s.decide(scan(0, { BTCUSDT: [90, 0.9] }), CAP));
    expect(exit).toMatchObject({ kind: 'EXIT', tradeId: enter?.tradeId });
  });
});
