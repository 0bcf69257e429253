/** Account-event volume control (DESIGN.md §7): field-level changes, interval, cap, alert, debug. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/app/config.js';
import type { AccountSnapshot } from '../src/domain/account.js';
import {
  type AccountVolumeConfig,
  AccountVolumeControl,
  materialChanges,
} from '../src/domain/account-volume.js';

const BASE: AccountSnapshot = {
  ts: 0,
  initialCapital: 25_000,
  adjustments: 0,
  capital: 25_000,
  equity: 25_000,
  realizedPnl: 0,
  unrealizedPnl: 0,
  fees: 0,
  funding: 0,
  openNotional: 0,
  openPositions: 0,
  leverage: 0,
  positionQty: 0,
  avgEntryPrice: 0,
  markPrice: 0,
};

const snap = (over: Partial<AccountSnapshot>): AccountSnapshot => ({ ...BASE, ...over });

describe('materialChanges', () => {
  it('compares field by field against tolerances, not a fingerprint', () => {
    expect(materialChanges(BASE, snap({ equity: 25_000 * (1 + 5e-5) }))).toEqual([]);
    expect(materialChanges(BASE, snap({ equity: 25_000 * (1 + 2e-4) }))).toEqual(['equity']);
    expect(materialChanges(BASE, snap({ leverage: 0.0005 }))).toEqual([]);
    expect(materialChanges(BASE, snap({ leverage: 0.002 }))).toEqual(['leverage']);
    expect(materialChanges(BASE, snap({ capital: 25_000.00001, positionQty: -0.5 }))).toEqual([
      'capital',
      'positionQty',
    ]);
    expect(materialChanges(BASE, snap({ markPrice: 123, avgEntryPrice: 4 }))).toEqual([]);
  });
});

describe('AccountVolumeControl', () => {
  it('writes the first snapshot, suppresses an unchanged one, and jitter inside the interval', () => {
    const v = new AccountVolumeControl();
    expect(v.offer(BASE, 'START', 0)).toMatchObject({
      write: true,
      table: 'account_events',
      reason: 'first',
    });
    expect(v.offer(BASE, 'POLL', 10_000)).toMatchObject({ write: false, reason: 'unchanged' });
    expect(v.offer(snap({ equity: 25_010 }), 'MARK', 10_500)).toMatchObject({
      write: true,
      reason: 'material: equity',
    });
    expect(v.offer(snap({ equity: 25_020 }), 'MARK', 11_000)).toMatchObject({
      write: false,
      reason: 'min_interval',
    });
    expect(v.offer(snap({ equity: 25_020 }), 'MARK', 12_600)).toMatchObject({ write: true });
    expect(v.counters()).toMatchObject({
      offered: 5,
      written: 3,
      suppressed: { unchanged: 1, min_interval: 1, cap: 0 },
    });
  });

  it('never suppresses position, capital or open notional: inside the interval and over the cap', () => {
    const v = new AccountVolumeControl({ capRowsPerSec: 0.002, windowMs: 1000 * 1000 }); // budget: 2 rows
    v.offer(BASE, 'START', 0);
    v.offer(snap({ equity: 25_100 }), 'MARK', 5000);
    expect(v.offer(snap({ equity: 25_300 }), 'MARK', 10_000)).toMatchObject({ write: false, reason: 'cap' });
    const d = v.offer(
      snap({ equity: 25_300, positionQty: -1, openNotional: 100, openPositions: 1 }),
      'FILL',
      10_001,
    );
    expect(d).toMatchObject({ write: true, table: 'account_events' });
    expect(d.reason).toMatch(/^never-suppressed: .*positionQty/);
    expect(
      v.offer(
        snap({ equity: 25_300, positionQty: -1, openNotional: 100, openPositions: 1, capital: 24_999 }),
        'FEE',
        10_002,
      ).write,
    ).toBe(true);
    expect(v.counters().windowsOverCap).toBe(1);
  });

  it('alerts when the cap is exceeded in more than 3 consecutive windows, and counts it', () => {
    const v = new AccountVolumeControl({ capRowsPerSec: 0.01, windowMs: 100_000 }); // budget: 1 row per window
    const alerts: string[] = [];
    let qty = 0;
    for (let w = 0; w < 6; w++)
      for (let i = 0; i < 3; i++) {
        qty -= 1; // a fill each time: never suppressed, so each window goes over its budget
        const d = v.offer(snap({ positionQty: qty }), 'FILL', w * 100_000 + i * 10_000);
        if (d.alert) alerts.push(d.alert);
      }
    expect(v.counters().windowsOverCap).toBe(6);
    expect(alerts).toHaveLength(3); // the 4th, 5th and 6th consecutive windows over the cap
    expect(alerts[0]).toContain('for 4 consecutive');
    expect(v.counters().alerts).toBe(3);
  });

  it('a window under the cap breaks the streak; so does a gap', () => {
    const v = new AccountVolumeControl({ capRowsPerSec: 0.01, windowMs: 100_000 });
    let qty = 0;
    const burst = (w: number) => {
      const out: (string | undefined)[] = [];
      for (let i = 0; i < 3; i++)
        out.push(v.offer(snap({ positionQty: --qty }), 'FILL', w * 100_000 + i).alert);
      return out.filter(Boolean);
    };
    for (const w of [0, 1, 2]) burst(w);
    v.offer(snap({ positionQty: --qty }), 'FILL', 3 * 100_000); // window 3: one row, under budget
    expect([4, 5, 6].flatMap(burst)).toEqual([]);
    expect([8, 9, 10].flatMap(burst)).toEqual([]); // window 7 empty: a gap restarts the count
    expect(burst(11)).toHaveLength(1);
  });

  it('debug mode writes every snapshot to account_events_debug and material ones to account_events too', () => {
    const v = new AccountVolumeControl({ debug: true });
    expect(v.offer(BASE, 'START', 0).tables).toEqual(['account_events', 'account_events_debug']);
    const d = v.offer(BASE, 'POLL', 100);
    expect(d).toMatchObject({ write: true, table: 'account_events_debug', tables: ['account_events_debug'] });
    expect(v.counters()).toMatchObject({ written: 1, writtenDebug: 2 });
  });
});

// ---- properties ---------------------------------------------------------------------------------

const fieldChange = fc.record({
  dtMs: fc.integer({ min: 0, max: 5000 }),
  kind: fc.constantFrom('qty', 'capital', 'notional', 'equity', 'none'),
  delta: fc.double({ min: -1000, max: 1000, noNaN: true }).filter((d) => Math.abs(d) > 1e-3),
});

describe('properties', () => {
  it('no material change of position, capital or open notional is ever suppressed', () => {
    fc.assert(
      fc.property(
        fc.array(fieldChange, { minLength: 1, maxLength: 300 }),
        fc.record({
          cap: fc.double({ min: 0.001, max: 5, noNaN: true }),
          interval: fc.integer({ min: 0, max: 60_000 }),
        }),
        (steps, cfg) => {
          const v = new AccountVolumeControl({ capRowsPerSec: cfg.cap, minIntervalMs: cfg.interval });
          let s = BASE;
          let now = 0;
          v.offer(s, 'START', now);
          for (const st of steps) {
            now += st.dtMs;
            const prev = s;
            if (st.kind === 'qty') s = { ...s, positionQty: s.positionQty + st.delta / 100 };
            if (st.kind === 'capital') s = { ...s, capital: s.capital + st.delta };
            if (st.kind === 'notional') s = { ...s, openNotional: Math.abs(s.openNotional + st.delta) };
            if (st.kind === 'equity') s = { ...s, equity: s.equity + st.delta };
            const d = v.offer(s, 'X', now);
            const critical =
              prev.positionQty !== s.positionQty ||
              prev.capital !== s.capital ||
              prev.openNotional !== s.openNotional;
            if (critical && !d.tables.includes('account_events')) return false;
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });

  it('equity-only jitter stays under the cap in every window (and under one row per interval)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            dtMs: fc.integer({ min: 1, max: 3000 }),
            jitter: fc.double({ min: -0.01, max: 0.01, noNaN: true }),
          }),
          { minLength: 1, maxLength: 2000 },
        ),
        fc.record({
          cap: fc.double({ min: 0.02, max: 5, noNaN: true }),
          interval: fc.integer({ min: 0, max: 5000 }),
        }),
        (steps, cfg) => {
          const windowMs = 60_000;
          const v = new AccountVolumeControl({
            capRowsPerSec: cfg.cap,
            minIntervalMs: cfg.interval,
            windowMs,
          });
          const perWindow = new Map<number, number>();
          let now = 0;
          let lastWrite = Number.NEGATIVE_INFINITY;
          v.offer(BASE, 'START', now);
          perWindow.set(0, 1);
          lastWrite = 0;
          for (const st of steps) {
            now += st.dtMs;
            const d = v.offer(snap({ equity: 25_000 * (1 + st.jitter) }), 'MARK', now);
            if (!d.write) continue;
            if (now - lastWrite < cfg.interval) return false;
            lastWrite = now;
            const w = Math.floor(now / windowMs);
            perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
          }
          return [...perWindow.values()].every((n) => n <= v.windowBudget) && v.counters().alerts === 0;
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('configuration (every threshold configurable)', () => {
  it('defaults to DESIGN.md §7 and takes every threshold from the file or the environment', () => {
    const d = loadConfig({ env: {} }).accountEvents;
    expect(d).toMatchObject({
      minIntervalMs: 2000,
      capRowsPerSec: 5,
      windowMs: 900_000,
      alertAfterWindows: 3,
    });
    const e = loadConfig({
      env: {
        PINK_ACCOUNT_EVENTS_MIN_INTERVAL_MS: '500',
        PINK_ACCOUNT_EVENTS_CAP_ROWS_PER_SEC: '2.5',
        PINK_ACCOUNT_EVENTS_WINDOW_MS: '60000',
        PINK_ACCOUNT_EVENTS_ALERT_AFTER_WINDOWS: '5',
        PINK_ACCOUNT_EVENTS_DEBUG: 'true',
      },
    }).accountEvents;
    expect(e).toMatchObject({
      minIntervalMs: 500,
      capRowsPerSec: 2.5,
      windowMs: 60_000,
      alertAfterWindows: 5,
      debug: true,
    });
    // The ledger sink builds its control from these settings (app/ledger.ts).
    const control = new AccountVolumeControl(e as Partial<AccountVolumeConfig>);
    expect(control.config.minIntervalMs).toBe(500);
  });

  it('refuses bad thresholds naming the variable or the setting', () => {
    expect(() => loadConfig({ env: { PINK_ACCOUNT_EVENTS_CAP_ROWS_PER_SEC: '0' } })).toThrow(
      /PINK_ACCOUNT_EVENTS_CAP_ROWS_PER_SEC: accountEvents\.capRowsPerSec/,
    );
    expect(() => loadConfig({ env: { PINK_ACCOUNT_EVENTS_DEBUG: 'yes' } })).toThrow(
      /PINK_ACCOUNT_EVENTS_DEBUG="yes" must be 1, 0, true or false/,
    );
  });
});
