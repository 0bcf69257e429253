/**
 * Property tests: random intent sequences against the real sim venue with random
 * faults (partial fills, rejects, duplicate/reordered callbacks, lost acks, unknown
 * submit outcomes, external closes, liquidations, funding). Invariants are checked
 * after every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccountProjection } from '../src/domain/account.js';
import type { CanonicalEvent } from '../src/domain/events.js';
import { KernelHarness } from './support/kernel-harness.js';

type Step =
  | { kind: 'enter'; size: number; price: number }
  | { kind: 'exit'; fraction: number; final: boolean; price: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'external'; liquidation: boolean };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('enter' as const),
    size: fc.double({ min: 0.01, max: 5, noNaN: true }),
    price: fc.double({ min: 50, max: 150, noNaN: true }),
  }),
  fc.record({
    kind: fc.constant('exit' as const),
    fraction: fc.constantFrom(0.25, 0.5, 1, 1.5),
    final: fc.boolean(),
    price: fc.double({ min: 50, max: 150, noNaN: true }),
  }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
  fc.record({ kind: fc.constant('external' as const), liquidation: fc.boolean() }),
);

const faultsArb = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  latencyMs: fc.integer({ min: 0, max: 200 }),
  ackMs: fc.integer({ min: 0, max: 50 }),
  partialFills: fc.integer({ min: 1, max: 4 }),
  feeRate: fc.constantFrom(0, 0.0005),
  rejectRate: fc.constantFrom(0, 0.1, 0.3),
  duplicateRate: fc.constantFrom(0, 0.2),
  reorderRate: fc.constantFrom(0, 0.3),
  dropAckRate: fc.constantFrom(0, 0.3),
  submitTimeoutRate: fc.constantFrom(0, 0.2),
  fundingIntervalMs: fc.constant(60_000),
});

function checkInvariants(h: KernelHarness, initial: number): void {
  const events: CanonicalEvent[] = h.events;
  // Size never negative.
  for (const e of events) if (e.type === 'lifecycle') expect(e.size).toBeGreaterThanOrEqual(0);
  const view = h.kernel.view();
  if (view) expect(view.remainingQty).toBeGreaterThanOrEqual(0);
  // At most one terminal event per trade.
  const closed = events.filter((e) => e.type === 'trade_closed').map((e) => e.trade.tradeId);
  expect(new Set(closed).size).toBe(closed.length);
  // Capital = initial + confirmed realized - fees - funding, recomputed from the events.
  let realized = 0;
  let fees = 0;
  let funding = 0;
  for (const e of events) {
    if (e.type === 'fill') {
      realized += e.realizedPnl;
      fees += e.fee;
    } else if (e.type === 'funding') funding += e.amount;
  }
  expect(h.account.capital).toBeCloseTo(initial + realized - fees - funding, 6);
  // The account's position is the venue's position (for the asset traded).
  expect(h.account.positionQty).toBeCloseTo(h.venue.positionOf('BTCUSDT'), 9);
}

describe('kernel properties under venue faults', () => {
  it('keeps every invariant after every step', async () => {
    await fc.assert(
      fc.asyncProperty(
        faultsArb,
        fc.array(stepArb, { minLength: 1, maxLength: 40 }),
        async (faults, steps) => {
          const h = new KernelHarness({ ...faults, slippageBps: 0, slippageJitterBps: 0 });
          // No terminal event before the venue reports the position gone.
          const emit = h.events.push.bind(h.events);
          h.events.push = (...es: CanonicalEvent[]) => {
            for (const e of es)
              if (e.type === 'trade_closed') expect(h.venue.positionOf(e.trade.asset)).toBe(0);
            return emit(...es);
          };
          let tradeNo = 0;
          const closedIds = new Set<string>();
          for (const step of steps) {
            const current = h.kernel.view()?.tradeId ?? `BTCUSDT-T-${String(tradeNo).padStart(12, '0')}`;
            if (step.kind === 'enter') {
              tradeNo += 1;
              await h.enter(
                `BTCUSDT-T-${String(tradeNo).padStart(12, '0')}`,
                'BTCUSDT',
                step.size,
                step.price,
              );
            } else if (step.kind === 'exit') {
              const out = await h.exit(current, 'BTCUSDT', step.fraction, step.final, 'TP1', step.price);
              // A closed slot refuses exits.
              if (closedIds.has(current)) expect(out.accepted).toBe(false);
            } else if (step.kind === 'advance') {
              await h.settle(step.ms);
            } else {
              h.venue.injectExternalClose('BTCUSDT', h.now, step.liquidation);
              await h.settle(1);
            }
            for (const e of h.events) if (e.type === 'trade_closed') closedIds.add(e.trade.tradeId);
            checkInvariants(h, 25_000);
          }
          // Let everything land, then the slot agrees with the venue.
          await h.settle(120_000);
          await h.settle(120_000);
          checkInvariants(h, 25_000);
          const v = h.kernel.view();
          if (!v) expect(h.venue.positionOf('BTCUSDT')).toBe(0);
        },
      ),
      { numRuns: Number(process.env.PINK_PROPERTY_RUNS ?? 300) },
    );
  });
});

describe('kernel regressions found by the property above', () => {
  // Seed -1306297473: an external close between the two partial fills of an entry. The
  // venue's flat report came before the second fill, which re-opened the position; the
  // kernel closed the trade on that stale report and left the venue short 0.005 with no
  // trade (a ghost close).
  it('a fill of the entry after a flat report re-opens the trade instead of closing it', async () => {
    const h = new KernelHarness({
      seed: 1,
      latencyMs: 5,
      ackMs: 0,
      partialFills: 2,
      feeRate: 0,
      slippageBps: 0,
      slippageJitterBps: 0,
    });
    await h.enter('BTCUSDT-T-000000000001', 'BTCUSDT', 0.01, 50);
    for (let i = 0; i < 4; i++) {
      h.venue.injectExternalClose('BTCUSDT', h.now, false);
      await h.settle(1);
    }
    await h.settle(120_000);
    await h.settle(120_000);
    expect(h.venue.positionOf('BTCUSDT')).toBe(-0.005);
    expect(h.events.filter((e) => e.type === 'trade_closed')).toEqual([]);
    expect(h.kernel.view()).toMatchObject({ tradeId: 'BTCUSDT-T-000000000001', asset: 'BTCUSDT' });
    checkInvariants(h, 25_000);
  });
});

describe('account projection: SET_CAPITAL sets exactly the amount given', () => {
  it('after any fills, fees and funding, capital equals the target to the last digit, and a journal round trip keeps it', () => {
    const money = fc.double({ min: -1e4, max: 1e4, noNaN: true, noDefaultInfinity: true });
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 1e7, noNaN: true, noDefaultInfinity: true }),
        fc.array(fc.tuple(money, fc.double({ min: 0.01, max: 1e5, noNaN: true }), money), { maxLength: 8 }),
        fc.double({ min: 0.01, max: 1e9, noNaN: true, noDefaultInfinity: true }),
        (initial, moves, target) => {
          const a = new AccountProjection(initial);
          for (const [qty, price, funding] of moves) {
            if (qty !== 0) a.applyFill(qty, price, Math.abs(qty) * price * 0.0005, 1);
            a.applyFunding(funding / 100, 2);
          }
          const before = a.capital;
          const delta = a.setCapital(target, 3);
          expect(a.capital).toBe(target);
          expect(delta).toBe(target - before);
          expect(AccountProjection.fromState(a.exportState()).capital).toBe(target);
          // Once money moves again, capital follows the books from the set amount.
          a.applyFunding(1, 4);
          expect(Math.abs(a.capital - (target - 1))).toBeLessThan(1e-6 + 1e-12 * (target + 1e7));
        },
      ),
      { numRuns: Number(process.env.PINK_PROPERTY_RUNS ?? 300) },
    );
  });
});
