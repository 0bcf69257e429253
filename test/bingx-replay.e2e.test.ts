/** A full replay through ccxt -> the BingX-protocol simulator equals the sim venue's, with every order milestone. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SIM_VENUE } from '../src/adapters/sim/sim-venue.js';
import { runReplay } from '../src/app/replay.js';
import { writeSyntheticScans } from '../src/app/simtest/synthetic-scans.js';
import { assetsOf, createVenue } from '../src/app/venues.js';
import type { CanonicalEvent, OrderEvent } from '../src/domain/events.js';
import { BlueV7Ref } from '../src/strategy/blue-v7-ref.js';
import { decisionLine } from '../src/strategy/decision-log.js';

describe('replay through ccxt and the BingX simulator', () => {
  it('produces the same decision log as the sim venue and every order goes requested -> sent -> acknowledged -> executed -> reflected', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pink-bx-'));
    const data = join(dir, 'scans.jsonl');
    writeSyntheticScans(data, { scans: 700, seed: 21, symbols: ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'] });
    // Where the run is, for a failure message that says more than "timed out".
    const progress = { scans: 0, venueLog: [] as string[] };
    const run = async (venue: 'sim' | 'bingx-sim') => {
      const events: CanonicalEvent[] = [];
      const assets = await assetsOf(data);
      const replaying = runReplay({
        dataPath: data,
        strategy: new BlueV7Ref(),
        namespace: 'pink',
        initialCapital: 25_000,
        strict: true,
        sinks: [(e) => events.push(e)],
        ...(venue === 'bingx-sim'
          ? {
              venue: async (marks) =>
                (
                  await createVenue(
                    { kind: 'bingx-sim', assets, log: (l) => progress.venueLog.push(l) },
                    marks,
                  )
                ).venue,
              realTimeVenue: true,
              between: async (pipeline) => {
                progress.scans += 1;
                const view = pipeline.kernel.view();
                progress.venueLog.splice(0, Math.max(0, progress.venueLog.length - 20));
                if (view?.pendingOrder)
                  progress.venueLog.push(`in flight: ${JSON.stringify(view.pendingOrder)}`);
              },
            }
          : {}),
      });
      let watchdog: NodeJS.Timeout | undefined;
      const stuck = new Promise<never>((_, reject) => {
        watchdog = setTimeout(
          () =>
            reject(
              new Error(
                `${venue} replay stuck after ${progress.scans} scans:\n${progress.venueLog.join('\n')}`,
              ),
            ),
          150_000,
        );
      });
      const r = await Promise.race([replaying, stuck]).finally(() => clearTimeout(watchdog));
      return { r, events };
    };
    const sim = await run('sim');
    const bx = await run('bingx-sim');
    const log = (events: CanonicalEvent[]) =>
      events.flatMap((e) => (e.type === 'decision' ? [decisionLine(e.record)] : []));
    expect(log(bx.events)).toEqual(log(sim.events));
    expect(bx.r.summary.trades).toBeGreaterThan(3);
    expect(bx.r.summary.trades).toBe(sim.r.summary.trades);
    expect(bx.r.unsettled, progress.venueLog.join('\n')).toBe(0);
    const byOrder = new Map<string, string[]>();
    for (const e of bx.events)
      if (e.type === 'order')
        byOrder.set(e.clientOrderId, [...(byOrder.get(e.clientOrderId) ?? []), (e as OrderEvent).milestone]);
    expect(byOrder.size).toBeGreaterThan(6);
    const required = ['REQUESTED', 'SENT', 'ACKNOWLEDGED', 'FILLED', 'REFLECTED'];
    for (const [id, milestones] of byOrder) {
      const positions = required.map((m) => milestones.indexOf(m));
      expect(
        positions.every((p) => p >= 0),
        `${id}: ${milestones.join(' -> ')}`,
      ).toBe(true);
      expect(
        [...positions].sort((a, b) => a - b),
        `${id} order`,
      ).toEqual(positions);
    }
    // Arrival = the venue's own market when the order left (its ticker), which is where the
    // simulator fills a market order: no slippage against it. On the sim venue: the scan's price.
    const orders = (events: CanonicalEvent[], milestone: string) =>
      events.filter((e): e is OrderEvent => e.type === 'order' && e.milestone === milestone);
    for (const e of orders(bx.events, 'SENT'))
      expect(e.arrivalSource, e.clientOrderId).toBe('venue_mid_at_submit');
    for (const e of orders(sim.events, 'SENT')) expect(e.arrivalSource).toBe('scan_price_at_submit');
    const reflected = orders(bx.events, 'REFLECTED').filter((e) => e.filledQty > 0);
    expect(reflected.length).toBeGreaterThan(6);
    for (const e of reflected) expect(e.avgPrice / e.arrivalPrice, e.clientOrderId).toBeCloseTo(1, 12);
    // The venue's own acceptance time (its order record's `time`, ms, its clock) is known for
    // every order by the time it is reflected, and is not after its first fill (whose venue
    // time BingX gives in whole seconds), nor acknowledged twice.
    for (const e of reflected) {
      const fills = bx.events.flatMap((f) =>
        f.type === 'fill' && f.clientOrderId === e.clientOrderId ? [f.ts] : [],
      );
      expect(e.venueAckTs, e.clientOrderId).toBeGreaterThan(0);
      expect(e.venueAckTs, e.clientOrderId).toBeLessThan(Math.min(...fills) + 1000);
    }
    for (const [id, milestones] of byOrder)
      expect(
        milestones.filter((m) => m === 'ACKNOWLEDGED'),
        id,
      ).toHaveLength(1);
    // The sim venue's: exactly its configured ack latency after the order left.
    for (const e of orders(sim.events, 'REFLECTED').filter((o) => o.filledQty > 0)) {
      const sent = orders(sim.events, 'SENT').find((s) => s.clientOrderId === e.clientOrderId)!;
      expect(e.venueAckTs - sent.ts, e.clientOrderId).toBe(DEFAULT_SIM_VENUE.ackMs);
    }
    const closed = bx.events.filter((e) => e.type === 'trade_closed');
    expect(new Set(closed.map((e) => e.type === 'trade_closed' && e.trade.tradeId)).size).toBe(closed.length);
  }, 180_000);
});
