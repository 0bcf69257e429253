/**
 * The numbered cases of the exchange-led recovery issue, one test each, on the in-process
 * venue that keeps trading while PINK is down (test/support/crash-world.ts). Each failed on
 * the recovery that concluded from the open-order list alone.
 */
import { describe, expect, it } from 'vitest';
import { CrashWorld } from './support/crash-world.js';

const SOL = 'SOLUSDT';

async function world() {
  const w = new CrashWorld();
  w.setPrice(SOL, 100);
  w.setPrice('ETHUSDT', 3_000);
  return { w, p: await w.boot() };
}

describe('exchange-led recovery: the numbered cases', () => {
  it('1: an entry that filled while PINK was down is the trade, not ENTRY_EXPIRED; no second position', async () => {
    const { w, p } = await world();
    await p.enter('T1', SOL, 'SHORT', 10);
    await p.checkpoint();
    w.crash(p);
    w.advance(30_000);
    const q = await w.boot();
    const view = q.kernel.view();
    expect(view).toMatchObject({ tradeId: 'T1', stage: 'POSITION_OPENED', pendingOrder: null });
    expect(view!.remainingQty).toBeCloseTo(10, 9);
    expect(q.events.some((e) => e.type === 'lifecycle' && e.state === 'ENTRY_EXPIRED')).toBe(false);
    const entryFills = q.events.filter((e) => e.type === 'fill' && e.purpose === 'ENTRY');
    expect(entryFills).toHaveLength(2);
    // The venue's own prices and fees, not the journal's.
    const venueFills = (await w.venue.history(0, [SOL])).filter((f) => f.kind === 'fill');
    expect(entryFills.map((e) => e.type === 'fill' && e.fee)).toEqual(
      venueFills.map((f) => f.kind === 'fill' && f.fee),
    );
    const refused = await q.enter('T2', 'ETHUSDT', 'LONG', 1);
    expect(refused).toMatchObject({ accepted: false });
    expect(w.venue.positionOf('ETHUSDT')).toBe(0);
    expect(await w.violations(q, [SOL, 'ETHUSDT'])).toEqual([]);
  });

  it("2: a final exit that filled while down closes the trade once, at the venue's fill prices, with its fee", async () => {
    const { w, p } = await world();
    await p.openShort('T1', SOL, 10);
    w.setPrice(SOL, 95);
    await p.exit(1, true, 'TP1');
    await p.checkpoint();
    w.crash(p);
    w.advance(30_000);
    const q = await w.boot();
    expect(q.kernel.view()).toBeNull();
    const closed = q.events.filter((e) => e.type === 'trade_closed');
    expect(closed).toHaveLength(1);
    const trade = closed[0]!.type === 'trade_closed' ? closed[0]!.trade : null;
    const exitFills = (await w.venue.history(0, [SOL])).filter((f) => f.kind === 'fill' && f.side === 'BUY');
    const avgExit =
      exitFills.reduce((s, f) => s + (f.kind === 'fill' ? f.qty * f.price : 0), 0) /
      exitFills.reduce((s, f) => s + (f.kind === 'fill' ? f.qty : 0), 0);
    expect(trade!.exitPrice).toBeCloseTo(avgExit, 9);
    expect(trade!.pnl).toBeGreaterThan(40); // short from ~100 to ~95, 10 units
    const fees = (await w.venue.history(0, [SOL])).reduce((s, f) => s + (f.kind === 'fill' ? f.fee : 0), 0);
    expect(trade!.fees).toBeCloseTo(fees, 9);
    expect(q.account.positionQty).toBe(0);
    expect(await w.violations(q, [SOL])).toEqual([]);
  });

  it('3: an exit lost on the way is looked up after the restart and sent again under the next attempt id', async () => {
    const { w, p } = await world();
    await p.openShort('T1', SOL, 10);
    w.venue.loseNextSubmits(1);
    await p.exit(1, true, 'STOP_LOSS');
    await p.checkpoint();
    w.crash(p);
    w.advance(30_000);
    const q = await w.boot();
    const resent = q.events.find((e) => e.type === 'correction' && e.what === 'EXIT_RESUBMITTED');
    expect(resent).toBeDefined();
    const view = q.kernel.view();
    expect(view?.pendingOrder?.clientOrderId).toMatch(/-x0a1$/);
    for (let i = 0; i < 5; i++) {
      w.advance(1_000);
      await q.poll();
    }
    expect(w.venue.positionOf(SOL)).toBe(0);
    expect(q.kernel.view()).toBeNull();
    expect(await w.violations(q, [SOL])).toEqual([]);
  });

  it('4: a restart in the middle of an exit delivers the fills from before it; the trade does not wait forever', async () => {
    const { w, p } = await world();
    await p.openShort('T1', SOL, 10);
    await p.exit(1, true, 'TP1');
    await p.checkpoint();
    w.advance(1_200); // first exit fill made and read by the dying process, not checkpointed
    await p.poll();
    w.crash(p);
    w.advance(1_000); // the second fill happens while PINK is down
    const q = await w.boot();
    expect(q.kernel.view()).toBeNull();
    const exitFills = q.events.filter((e) => e.type === 'fill' && e.purpose === 'EXIT');
    expect(exitFills).toHaveLength(2);
    expect(await w.violations(q, [SOL])).toEqual([]);
  });

  it('6: a TP1 leg filled while down gets its exit-leg row and the venue fee; funding while down is booked', async () => {
    const { w, p } = await world();
    await p.openShort('T1', SOL, 10);
    await p.exit(0.5, false, 'TP1');
    await p.checkpoint();
    w.crash(p);
    w.venue.injectFunding(SOL, 0.0001, w.now + 10_000);
    w.advance(30_000);
    const q = await w.boot();
    const legs = q.events.filter((e) => e.type === 'exit_leg');
    expect(legs).toHaveLength(1);
    const row = legs[0]!.type === 'exit_leg' ? legs[0]!.row : null;
    expect(row).toMatchObject({ trade_id: 'T1', reason: 'TP1' });
    expect(row!.remaining_qty).toBeCloseTo(5, 9);
    // The leg's fills carry the venue's fees (booked into the trade and the account).
    const venueExitFees = (await w.venue.history(0, [SOL]))
      .filter((f) => f.kind === 'fill' && f.side === 'BUY')
      .reduce((sum, f) => sum + (f.kind === 'fill' ? f.fee : 0), 0);
    const bookedExitFees = q.events
      .filter((e) => e.type === 'fill' && e.purpose === 'EXIT')
      .reduce((sum, e) => sum + (e.type === 'fill' ? e.fee : 0), 0);
    expect(venueExitFees).toBeGreaterThan(0);
    expect(bookedExitFees).toBeCloseTo(venueExitFees, 12);
    expect(q.kernel.view()?.remainingQty).toBeCloseTo(5, 9);
    const funding = q.events.filter((e) => e.type === 'funding');
    expect(funding).toHaveLength(1);
    expect(funding[0]).toMatchObject({ tradeId: 'T1' });
    expect(await w.violations(q, [SOL])).toEqual([]);
  });

  it('9: a crash during recovery books nothing twice (deterministic ids)', async () => {
    const { w, p } = await world();
    await p.enter('T1', SOL, 'SHORT', 10);
    await p.checkpoint();
    w.crash(p);
    w.advance(30_000);
    // The first recovery dies before its checkpoint: its events are lost, the venue unchanged.
    const first = await w.boot({ checkpoint: false });
    const firstIds = first.events
      .filter((e) => e.type === 'fill')
      .map((e) => (e.type === 'fill' ? e.fillId : ''));
    expect(firstIds.length).toBeGreaterThan(0);
    w.crash(first);
    const second = await w.boot();
    const secondIds = second.events
      .filter((e) => e.type === 'fill')
      .map((e) => (e.type === 'fill' ? e.fillId : ''));
    expect(secondIds).toEqual(firstIds);
    expect(await w.violations(second, [SOL])).toEqual([]);
  });
});

describe('a final exit means flat', () => {
  it('an add on the venue while the final exit was in flight (PINK down) is exited too, without another decision', async () => {
    const { w, p } = await world();
    await p.openShort('T1', SOL, 10);
    await p.exit(1, true, 'TP1');
    await p.checkpoint();
    w.crash(p);
    w.venue.injectExternalAdd(SOL, 4, w.now + 500); // before the exit's fills
    w.advance(30_000);
    const q = await w.boot();
    for (let i = 0; i < 5; i++) {
      w.advance(1_000);
      await q.poll();
    }
    expect(q.events.some((e) => e.type === 'correction' && e.what === 'FINAL_EXIT_REMAINDER')).toBe(true);
    expect(w.venue.positionOf(SOL)).toBe(0);
    expect(q.kernel.view()).toBeNull();
    expect(await w.violations(q, [SOL])).toEqual([]);
  });
});

describe('exchange-led recovery touches only what is PINK’s (case 9)', () => {
  const slowSim = {
    seed: 3,
    latencyMs: 600_000,
    ackMs: 10,
    partialFills: 1,
    feeRate: 0.0005,
    slippageBps: 0,
    slippageJitterBps: 0,
    fundingIntervalMs: 1e12,
  };
  const order = (clientOrderId: string, ts: number) => ({
    clientOrderId,
    tradeId: 'x',
    asset: 'ETHUSDT',
    side: 'BUY' as const,
    qty: 1,
    reduceOnly: false,
    type: 'MARKET' as const,
    leverage: 1,
    referencePrice: 3_000,
    ts,
  });

  it("leaves an operator's own open order alone and says so; cancels PINK's stray ones", async () => {
    const w = new CrashWorld(slowSim);
    w.setPrice('ETHUSDT', 3_000);
    const p = await w.boot();
    w.crash(p);
    await w.venue.submit(order('manual-by-operator', w.now));
    await w.venue.submit(order('pkstrayt1-e0', w.now));
    const q = await w.boot();
    expect(q.report!.foreignOrders).toEqual(['manual-by-operator']);
    expect(q.report!.cancelledOrders).toEqual(['pkstrayt1-e0']);
    expect(w.venue.orderStatus('manual-by-operator')).toBe('OPEN');
    expect(w.venue.orderStatus('pkstrayt1-e0')).toBe('CANCELLED');
    expect(q.events.some((e) => e.type === 'correction' && e.what === 'FOREIGN_ORDER_LEFT')).toBe(true);
  });

  it('a cancel that fails is retried and said; one that keeps failing stops start-up naming the order and the error', async () => {
    const w = new CrashWorld(slowSim);
    w.setPrice('ETHUSDT', 3_000);
    w.crash(await w.boot());
    await w.venue.submit(order('pkstrayt2-e0', w.now));
    const cancel = w.venue.cancel.bind(w.venue);
    let failures = 2;
    w.venue.cancel = async (id, asset) => {
      if (failures-- > 0) throw new Error('bingx 100500: internal error');
      return cancel(id, asset);
    };
    const q = await w.boot();
    expect(q.report!.cancelledOrders).toEqual(['pkstrayt2-e0']);
    expect(q.events.filter((e) => e.type === 'correction' && e.what === 'RECOVERY_RETRY')).toHaveLength(2);
    await w.venue.submit(order('pkstrayt3-e0', w.now));
    w.venue.cancel = async () => {
      throw new Error('bingx 100500: internal error');
    };
    await expect(w.boot()).rejects.toThrow(
      /recovery stopped: cancel of pkstrayt3-e0 \(ETHUSDT\) failed 3 times \(last: bingx 100500: internal error\)/,
    );
  });
});
