/** BoundedSet (deduplication memory of the venue, the normalizer and the command processor). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedSet } from '../src/domain/bounded-set.js';

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
