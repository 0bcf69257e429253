/**
 * The order goes out before its decision is hashed and recorded (that work is off the
 * scan -> submit path), yet every sink still sees a scan's decision before the events
 * its order raised.
 */
import { describe, expect, it } from 'vitest';
import { LatestPrices, Pipeline } from '../src/app/pipeline.js';
import { simVenueFor, watchSubmits } from '../src/app/replay.js';
import { AccountProjection } from '../src/domain/account.js';
import { tradeIdFor } from '../src/domain/decision.js';
import type { CanonicalEvent } from '../src/domain/events.js';
import { simulateScans } from '../src/market/simulator.js';
import { BlueV7Ref } from '../src/strategy/blue-v7-ref.js';

describe('pipeline: submit first, decision first in the event stream', () => {
  it('at every submit the scan has no decision event yet; the next event is that decision', async () => {
    const marks = new LatestPrices();
    const events: CanonicalEvent[] = [];
    let scanInStep = -1;
    const submits: Array<{ scan: number; seen: number }> = [];
    const venue = watchSubmits(simVenueFor(marks, { seed: 7 }), () => {
      submits.push({ scan: scanInStep, seen: events.length });
    });
    const pipeline = new Pipeline({
      strategy: new BlueV7Ref(),
      venue,
      account: new AccountProjection(25_000),
      marks,
      namespace: 'pink',
      sink: (e) => events.push(e),
    });
    for (const scan of simulateScans({ scans: 4000, assets: 5, seed: 11 })) {
      scanInStep = scan.scan;
      await pipeline.process(scan, 'test');
    }
    const decided = (i: number, scan: number) => {
      const e = events[i];
      return e?.type === 'decision' && e.record.scan === scan;
    };
    expect(submits.length).toBeGreaterThan(5);
    for (const s of submits) {
      // Nothing of this scan's decision was recorded when the order went out...
      expect(events.slice(0, s.seen).some((e) => e.type === 'decision' && e.record.scan === s.scan)).toBe(
        false,
      );
      // ...and the first event after it is that decision (the kernel's events were held behind it).
      expect(decided(s.seen, s.scan)).toBe(true);
    }
    // The first event of every trade comes after the decision that entered it.
    const enters = events.flatMap((e, i) =>
      e.type === 'decision' && e.record.action === 'ENTER'
        ? [{ i, id: tradeIdFor(e.record.asset, e.record.scan) }]
        : [],
    );
    expect(enters.length).toBeGreaterThan(5);
    for (const { i, id } of enters) {
      const first = events.findIndex((e) => 'tradeId' in e && e.tradeId === id);
      expect(first).toBeGreaterThan(i);
    }
  });
});
