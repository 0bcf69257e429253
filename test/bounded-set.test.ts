/** BoundedSet and WindowedSet (deduplication memory of the venue, the normalizer and the command processor). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedSet, WindowedSet } from '../src/domain/bounded-set.js';

describe('BoundedSet', () => {
  it('behaves as a list of distinct keys that drops its oldest beyond the limit (model-based)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'), {
          maxLength: 200,
        }),
        (limit, keys) => {
          const set = new BoundedSet(limit);
          const model: string[] = [];
          for (const k of keys) {
            const fresh = !model.includes(k);
            if (fresh) model.push(k);
            if (model.length > limit) model.shift();
            expect(set.add(k)).toBe(fresh);
            expect(set.values()).toEqual(model);
            expect(set.size).toBeLessThanOrEqual(limit);
            for (const m of model) expect(set.has(m)).toBe(true);
          }
        },
      ),
    );
  });

  it('refuses a limit that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN])
      expect(() => new BoundedSet(bad)).toThrow(`BoundedSet limit must be a positive integer, got ${bad}`);
  });
});

describe('WindowedSet', () => {
  it('remembers a key for the window after it was first added, never more than the limit (model-based)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 8 }),
        // Steps of the clock, backwards ones included (a clock set back forgets nothing).
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), fc.integer({ min: -5, max: 20 })), {
          maxLength: 200,
        }),
        (windowMs, limit, steps) => {
          const set = new WindowedSet(windowMs, limit);
          let model: Array<{ key: string; at: number }> = [];
          let now = 1_000;
          for (const [key, step] of steps) {
            now += step;
            // The model: drop the oldest while they have aged out, stopping at the first that has not.
            const firstYoung = model.findIndex((m) => now - m.at < windowMs);
            model = firstYoung === -1 ? [] : model.slice(firstYoung);
            const fresh = !model.some((m) => m.key === key);
            if (fresh) model.push({ key, at: now });
            if (model.length > limit) model.shift();
            expect(set.add(key, now)).toBe(fresh);
            expect(set.size).toBe(model.length);
            expect(set.size).toBeLessThanOrEqual(limit);
          }
        },
      ),
    );
  });

  it('forgets a key once the window has passed, and only then', () => {
    const set = new WindowedSet(1_000, 10);
    expect(set.add('fill:1', 0)).toBe(true);
    expect(set.add('fill:1', 999)).toBe(false);
    expect(set.add('fill:1', 1_000)).toBe(true);
    expect(set.size).toBe(1);
  });

  it('refuses a window or a limit that makes no sense', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => new WindowedSet(bad, 1)).toThrow(
        `WindowedSet window must be a positive number of ms, got ${bad}`,
      );
    for (const bad of [0, 1.5])
      expect(() => new WindowedSet(1, bad)).toThrow(
        `WindowedSet limit must be a positive integer, got ${bad}`,
      );
  });
});
