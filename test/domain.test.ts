/** Namespace registry, write guard and scan validation. */
import { describe, expect, it } from 'vitest';
import { lookupNamespace, resolveNamespace, WriteGuard, WriteRefused } from '../src/domain/namespaces.js';
import { validateScan } from '../src/domain/scan.js';

describe('namespace registry', () => {
  it('maps pink to its own surfaces', () => {
    expect(lookupNamespace('pink')).toMatchObject({
      clickhouseDb: 'dolphin_pink',
      stateMap: 'DOLPHIN_STATE_PINK',
      pnlMap: 'DOLPHIN_PNL_PINK',
      commandQueue: 'pink_runtime_commands',
      capitalMirrorKey: 'pink_capital_update_latest',
      traderId: 'DOLPHIN-PINK-001',
    });
  });

  it('refuses unknown names and new prod* names, never falling back', () => {
    expect(() => lookupNamespace('purple')).toThrow(/unknown strategy "purple"/);
    expect(() => lookupNamespace('prodpink')).toThrow(/prod/);
    expect(lookupNamespace('prodgreen').clickhouseDb).toBe('dolphin_prodgreen');
  });

  it('validates environment overrides against the registry', () => {
    expect(resolveNamespace({}).strategy).toBe('pink');
    expect(resolveNamespace({ DOLPHIN_STATE_MAP: 'DOLPHIN_STATE_PINK' }).stateMap).toBe('DOLPHIN_STATE_PINK');
    expect(() => resolveNamespace({ DOLPHIN_STATE_MAP: 'DOLPHIN_STATE_BLUE' })).toThrow(/DOLPHIN_STATE_MAP/);
    expect(() => resolveNamespace({ DOLPHIN_V7_JOURNAL_DB: 'dolphin' })).toThrow(/DOLPHIN_V7_JOURNAL_DB/);
    expect(() => resolveNamespace({ DOLPHIN_STRATEGY_NAME: 'prodpink' })).toThrow(/prod/);
  });

  it('the write guard refuses and alerts on any target outside the namespace', () => {
    const alerts: WriteRefused[] = [];
    const guard = new WriteGuard(lookupNamespace('pink'), (r) => alerts.push(r));
    guard.check({ kind: 'clickhouse', database: 'dolphin_pink', table: 'trade_events' });
    guard.check({ kind: 'map', map: 'DOLPHIN_PNL_PINK', key: '2026-11-22' });
    guard.check({ kind: 'queue', queue: 'pink_runtime_commands' });
    expect(() => guard.check({ kind: 'clickhouse', database: 'dolphin', table: 'trade_events' })).toThrow(
      WriteRefused,
    );
    expect(() => guard.check({ kind: 'map', map: 'DOLPHIN_FEATURES', key: 'x' })).toThrow(/refused/);
    expect(() => guard.check({ kind: 'queue', queue: 'blue_runtime_commands' })).toThrow(/refused/);
    expect(alerts).toHaveLength(3);
  });
});

describe('scan validation (ALGORITHM.md §1)', () => {
  const good = {
    ts: 1747742405000,
    scan: 10,
    vel_div: -0.03,
    vol_ok: true,
    assets: { BTCUSDT: { price: 1, irp: 0.5 } },
  };
  const cases: Array<[string, unknown, RegExp]> = [
    ['not an object', [1], /JSON object/],
    ['ts fractional', { ...good, ts: 1.5 }, /"ts" must be an integer/],
    ['ts missing', { ...good, ts: undefined }, /"ts".*missing/],
    ['scan string', { ...good, scan: '10' }, /"scan" must be an integer/],
    ['vel_div null', { ...good, vel_div: null }, /"vel_div" must be a finite number/],
    ['vol_ok string', { ...good, vol_ok: 'true' }, /"vol_ok" must be a boolean/],
    ['assets array', { ...good, assets: [] }, /"assets" must be an object/],
    ['price zero', { ...good, assets: { BTCUSDT: { price: 0, irp: 0.5 } } }, /assets.BTCUSDT.price/],
    ['irp above 1', { ...good, assets: { BTCUSDT: { price: 1, irp: 1.01 } } }, /assets.BTCUSDT.irp/],
    ['quote not object', { ...good, assets: { BTCUSDT: 3 } }, /assets.BTCUSDT must be an object/],
  ];
  it.each(cases)('refuses %s, naming the field', (_name, value, message) => {
    const r = validateScan(value, null);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(message);
  });

  it('requires strictly increasing scan numbers, gaps allowed, and accepts empty assets', () => {
    expect(validateScan(good, 9).ok).toBe(true);
    expect(validateScan({ ...good, scan: 50 }, 9).ok).toBe(true);
    const r = validateScan(good, 10);
    expect(r.ok).toBe(false);
    expect(validateScan({ ...good, assets: {} }, null).ok).toBe(true);
  });
});
