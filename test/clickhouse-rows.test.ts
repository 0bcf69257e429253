/**
 * chTs formats DateTime64(3, 'UTC') text by arithmetic (Date is ~1 us a call); it must
 * agree with the ISO text Date produces, at every instant, and read back with msFromChTs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chTs, msFromChTs } from '../src/adapters/clickhouse/rows.js';
import type { DecisionRecord } from '../src/domain/decision.js';
import { decisionJson } from '../src/execution/trade-story.js';

/** The reference: Date's ISO text, 'T' and 'Z' dropped. */
const viaDate = (ms: number) => new Date(Math.round(ms)).toISOString().replace('T', ' ').replace('Z', '');
const MAX_DATE_MS = 8.64e15;

describe('chTs', () => {
  it('matches Date at any instant Date can represent, fractions rounded', () => {
    const instant = fc.oneof(
      fc.integer({ min: -MAX_DATE_MS, max: MAX_DATE_MS }),
      fc.integer({ min: 0, max: 4_102_444_800_000 }),
      fc.double({ min: -1e13, max: 1e13, noNaN: true }),
      fc.constantFrom(
        -62_167_219_200_000,
        -62_167_219_200_001,
        253_402_300_799_999,
        253_402_300_800_000,
        -1,
        0,
      ),
    );
    // Pairs, so the one-instant memo and the per-day cache are both crossed.
    fc.assert(
      fc.property(instant, instant, (a, b) => {
        expect(chTs(a)).toBe(viaDate(a));
        expect(chTs(b)).toBe(viaDate(b));
        expect(chTs(a)).toBe(viaDate(a));
      }),
      { numRuns: 5000 },
    );
  });

  it('reads back as the same millisecond', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), (ms) => {
        expect(msFromChTs(chTs(ms))).toBe(ms);
      }),
    );
  });

  it('refuses what is not an instant', () => {
    expect(() => chTs(Number.NaN)).toThrow(/not a finite epoch ms/);
    expect(() => chTs(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('decisionJson (a trade story keeps each decision as text)', () => {
  it('is exactly JSON.stringify of the record with decision_hash added', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 20 });
    const num = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY),
    );
    fc.assert(
      fc.property(
        fc.record({
          scan: num,
          ts: num,
          fired: fc.boolean(),
          action: fc.constantFrom('NONE', 'HOLD', 'ENTER', 'EXIT'),
          asset: text,
          side: fc.constantFrom('LONG', 'SHORT', ''),
          leverage: num,
          reason: text,
          bars_held: num,
        }),
        text,
        (r, hash) => {
          const record = r as unknown as DecisionRecord;
          expect(decisionJson(record, hash)).toBe(JSON.stringify({ ...record, decision_hash: hash }));
        },
      ),
      { numRuns: 500 },
    );
  });
});
