/**
 * The main job, `npm start` (= `pink demo`), on embedded defaults in a fresh var directory:
 * it simulates the default dataset, replays it through the sim venue into embedded chDB,
 * proves the capital replay, and writes the report, in which (issue #18) every order's
 * slippage against its arrival price is the sim venue's configured slippage plus its
 * jitter, and the implementation shortfall's parts sum to the realized PnL.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pink } from './support/cli.js';

describe('pink demo (npm start)', () => {
  it('runs the main job end to end: capital replay EQUAL, report with arrival slippage and shortfall as configured', () => {
    const varDir = mkdtempSync(join(tmpdir(), 'pink-demo-'));
    const env = { PINK_VAR_DIR: varDir, PINK_CLICKHOUSE_DIR: join(varDir, 'clickhouse') };
    const r = pink(['demo'], env, 600_000);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /capital replay \(status_snapshots \+ trade_events deduplicated by trade_id\): [\d.]+ vs account [\d.]+: EQUAL \(1e-9\)/,
    );
    const line =
      /implementation shortfall, (\d+) trades \(USDT\): reference (-?[\d.]+) - delay (-?[\d.]+) - slippage (-?[\d.]+) - fees (-?[\d.]+) - funding (-?[\d.]+) - venue (-?[\d.]+) = realized (-?[\d.]+)/.exec(
        r.stdout,
      );
    expect(line, r.stdout).not.toBeNull();
    const [ref, delay, slip, fees, funding, venue, realized] = line!.slice(2).map(Number) as number[];
    expect(Number(line![1])).toBeGreaterThan(30); // the default dataset has >= 30 entries
    // Printed to the cent: the parts add up to within the rounding of seven numbers.
    expect(Math.abs(ref! - delay! - slip! - fees! - funding! - venue! - realized!)).toBeLessThanOrEqual(
      0.035,
    );

    const report = JSON.parse(readFileSync(join(varDir, 'report', 'report.json'), 'utf8')) as {
      execution: {
        slippage: { column: string; stats: { count: number; min: number; max: number; mean: number } }[];
        shortfall: {
          trades: number;
          maxIdentityError: number;
          total: { slippage: number; realized: number };
        };
      };
    };
    const sf = report.execution.shortfall;
    expect(sf.maxIdentityError).toBeLessThanOrEqual(1e-9);
    expect(sf.total.slippage).toBeGreaterThan(0);
    // The sim venue's defaults: 1 bps slippage plus |N(0,1)| x 1 bps of jitter, always a cost.
    const arrival = report.execution.slippage.find((s) => s.column === 'slippage_vs_arrival_bps')!.stats;
    expect(arrival.count).toBeGreaterThan(60);
    expect(arrival.min).toBeGreaterThanOrEqual(1 - 1e-6);
    expect(arrival.max).toBeLessThanOrEqual(1 + 6); // six standard deviations of the jitter
    expect(arrival.mean).toBeGreaterThan(1.5); // 1 + E|N(0,1)| = 1.8
    expect(arrival.mean).toBeLessThan(2.1);
  }, 600_000);
});
