/**
 * Arrival price = the market at submission (issue #18, 1). The kernel takes the asset's
 * price in the latest scan as the order leaves; the sim venue fills at that same mark plus
 * its configured slippage. So, over any seed: with k bps of slippage and no jitter, every
 * filled order's slippage against arrival is exactly k (zero at zero), whatever the
 * strategy's decision price was, and with jitter it stays within k plus the jitter drawn.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ARRIVAL_SOURCE } from '../src/domain/events.js';
import { type ExecutionQuality, TradeStoryCollector } from '../src/execution/trade-story.js';
import { replaySynthetic } from './support/synthetic-replay.js';

const dir = mkdtempSync(join(tmpdir(), 'pink-arrival-'));

/** The execution_quality records of a replay of `scans` synthetic scans on the sim venue. */
async function qualityOf(
  seed: number,
  sim: { slippageBps: number; slippageJitterBps: number; partialFills: number },
) {
  const stories = new TradeStoryCollector();
  const records: ExecutionQuality[] = [];
  const keep = (outs: ReturnType<TradeStoryCollector['drain']>) => {
    for (const o of outs) if (o.kind === 'execution_quality') records.push(o.record);
  };
  await replaySynthetic({
    dir,
    scans: 800,
    seed,
    sim: { seed, ...sim },
    sinks: [(e) => keep(stories.observe(e))],
  });
  keep(stories.drain(true));
  return records.filter((r) => r.filled_qty > 0);
}

describe('arrival price: the market at submission', () => {
  it('with k bps of slippage and no jitter, every fill is k bps from arrival (0 at 0), over seeds', async () => {
    let orders = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000 }),
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 })),
        fc.integer({ min: 1, max: 3 }),
        async (seed, k, partialFills) => {
          const filled = await qualityOf(seed, { slippageBps: k, slippageJitterBps: 0, partialFills });
          orders += filled.length;
          for (const r of filled) {
            expect(r.arrival_price_source).toBe(ARRIVAL_SOURCE);
            expect(r.slippage_vs_arrival_bps).toBeCloseTo(k, 6);
          }
        },
      ),
      { numRuns: 12 },
    );
    expect(orders).toBeGreaterThan(24); // the property was tried on real fills
  }, 120_000);

  it('with jitter, within the configured slippage plus the jitter drawn, never from another price', async () => {
    const filled = await qualityOf(7, { slippageBps: 1, slippageJitterBps: 1, partialFills: 1 });
    expect(filled.length).toBeGreaterThan(2);
    for (const r of filled) {
      expect(r.slippage_vs_arrival_bps!).toBeGreaterThanOrEqual(1 - 1e-9);
      expect(r.slippage_vs_arrival_bps!).toBeLessThan(1 + 6); // |N(0,1)| bps: 6 sigma
    }
  }, 60_000);
});
