/**
 * Port of reference_test_pink_multi_exit_groundwork.py.txt to this kernel:
 * two-leg exit closes once, overshooting final leg clamps, trade_exit_legs rows.
 */
import { describe, expect, it } from 'vitest';
import { EXIT_LEG_COLUMNS } from '../src/domain/exit-legs.js';
import { KernelHarness } from './support/kernel-harness.js';

const REFERENCE_LEG_COLUMNS = [
  'ts', 'date', 'strategy', 'trade_id', 'chain_root_trade_id', 'chain_head_leg_id',
  'chain_prev_leg_id', 'chain_seq', 'chain_token', 'chain_mode', 'exit_leg_id',
  'exit_seq', 'command_id', 'source', 'reason', 'asset', 'side', 'entry_price',
  'exit_price', 'fraction', 'capital_before', 'capital_after', 'exit_notional',
  'remaining_notional', 'remaining_qty', 'pnl_pct_leg', 'pnl_leg',
  'pnl_realized_total', 'bars_held',
]; // biome-ignore format: mirrors the reference list

const TRADE = 'BTCUSDT-T-000000000001';

describe('multi-leg exit groundwork (reference port)', () => {
  it('two-leg exit closes once, realized PnL accrues per leg, closed slot refuses further exits', async () => {
    const h = new KernelHarness();
    await h.enter(TRADE, 'BTCUSDT', 1.0, 100);
    expect(h.kernel.view()?.stage).toBe('POSITION_OPENED');

    const first = await h.exit(TRADE, 'BTCUSDT', 0.5, false, 'TP1', 90);
    expect(first.accepted).toBe(true);
    const afterLeg1 = h.kernel.view();
    expect(afterLeg1).not.toBeNull();
    expect(afterLeg1!.stage).toBe('POSITION_UPDATED');
    expect(afterLeg1!.remainingQty).toBeCloseTo(0.5, 9);
    expect(afterLeg1!.realized).toBeGreaterThan(0);
    const realizedAfterLeg1 = afterLeg1!.realized;

    const second = await h.exit(TRADE, 'BTCUSDT', 0.5, true, 'TP2', 90);
    expect(second.accepted).toBe(true);
    expect(h.kernel.view()).toBeNull();
    const closed = h.of('trade_closed');
    expect(closed).toHaveLength(1);
    expect(closed[0]!.trade.size).toBeCloseTo(1.0, 9);
    expect(closed[0]!.trade.pnl).toBeGreaterThan(realizedAfterLeg1);
    expect(closed[0]!.trade.pnl).toBeCloseTo(10, 9); // SHORT 1.0 from 100 to 90

    const third = await h.exit(TRADE, 'BTCUSDT', 0.5, true, 'TP3', 90);
    expect(third.accepted).toBe(false);
    expect(h.of('trade_closed')).toHaveLength(1);
    await expect(h.venue.snapshot()).resolves.toMatchObject({ positions: [] });
  });

  it('a final leg asking for more than remains is clamped: size never negative, closes once', async () => {
    const h = new KernelHarness();
    await h.enter(TRADE, 'BTCUSDT', 1.0, 100);
    await h.exit(TRADE, 'BTCUSDT', 0.5, false, 'TP1', 90);
    expect(h.kernel.view()!.remainingQty).toBeCloseTo(0.5, 9);
    // Final leg requests the full initial size (1.0) but only 0.5 remains.
    await h.exit(TRADE, 'BTCUSDT', 1.0, false, 'TP2', 90);
    const sizes = h.of('lifecycle').map((e) => e.size);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(0);
    expect(h.of('trade_closed')).toHaveLength(1);
    const orders = h.of('order').filter((o) => o.milestone === 'REQUESTED' && o.purpose === 'EXIT');
    expect(orders[1]!.qty).toBeCloseTo(0.5, 9);
    expect(h.account.positionQty).toBe(0);
  });

  it('emits one trade_exit_legs row per leg with the reference column set and per-leg deltas', async () => {
    const h = new KernelHarness();
    await h.enter(TRADE, 'BTCUSDT', 1.0, 100);
    await h.exit(TRADE, 'BTCUSDT', 0.5, false, 'TP1', 90);
    await h.exit(TRADE, 'BTCUSDT', 0.5, true, 'TP2', 80);
    const legs = h.of('exit_leg').map((e) => e.row);
    expect(legs).toHaveLength(2);
    expect([...EXIT_LEG_COLUMNS].sort()).toEqual([...REFERENCE_LEG_COLUMNS].sort());
    const [leg0, leg1] = legs as [(typeof legs)[0], (typeof legs)[0]];
    for (const row of legs) {
      expect(Object.keys(row).sort()).toEqual([...REFERENCE_LEG_COLUMNS].sort());
      expect(row.strategy).toBe('pink');
      expect(row.source).toBe('ditav2');
      expect(row.chain_root_trade_id).toBe(TRADE);
    }
    expect(leg0.exit_seq).toBe(0);
    expect(leg0.chain_seq).toBe(0);
    expect(leg0.exit_leg_id).toBe(`${TRADE}:leg0`);
    expect(leg0.chain_prev_leg_id).toBe('');
    expect(leg0.fraction).toBeCloseTo(0.5, 9);
    expect(leg0.pnl_leg).toBeCloseTo(5, 9); // 0.5 * (100 - 90)
    expect(leg0.pnl_realized_total).toBeCloseTo(5, 9);
    expect(leg0.capital_before).toBeCloseTo(25_000, 6);
    expect(leg0.capital_after).toBeCloseTo(25_005, 6);
    expect(leg0.remaining_qty).toBeCloseTo(0.5, 9);
    expect(leg0.exit_notional).toBeCloseTo(0.5 * 90, 6);

    expect(leg1.exit_seq).toBe(1);
    expect(leg1.chain_prev_leg_id).toBe(`${TRADE}:leg0`);
    expect(leg1.pnl_leg).toBeCloseTo(10, 9); // 0.5 * (100 - 80): the increment, not the total
    expect(leg1.pnl_realized_total).toBeCloseTo(15, 9);
    expect(leg1.capital_before).toBeCloseTo(25_005, 6);
    expect(leg1.capital_after).toBeCloseTo(25_015, 6);
    expect(leg1.remaining_qty).toBeCloseTo(0, 9);
    expect(leg1.exit_notional).toBeCloseTo(0.5 * 80, 6);
  });
});
