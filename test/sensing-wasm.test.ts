/**
 * Sensing's dense product in WebAssembly SIMD (src/market/wasm): the committed module is
 * the one its source assembles to, it is active on this runtime, and it gives exactly the
 * JavaScript product's figures, bit for bit, scan by scan.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assembleMatvec } from '../scripts/build-wasm.mjs';
import { seededRandom } from '../src/domain/random.js';
import { Sensor } from '../src/market/sensing.js';
import { WasmMatVec } from '../src/market/wasm/matvec.js';
import { MATVEC_WASM_BASE64 } from '../src/market/wasm/matvec-wasm.js';

/** A price panel whose assets stand still for stretches: k changes from bar to bar. */
function panel(seed: number, bars: number, n: number): number[][] {
  const r = seededRandom(seed);
  const p = Array.from({ length: n }, () => 10 + r() * 100);
  const frozen = Array.from({ length: n }, () => {
    const from = Math.floor(r() * bars);
    return r() < 0.3 ? [from, from + 60 + Math.floor(r() * 200)] : [-1, -1];
  });
  return Array.from({ length: bars }, (_, t) => {
    const f = (r() - 0.5) * 0.004;
    for (let i = 0; i < n; i++) {
      const [from, to] = frozen[i]!;
      if (t >= from! && t < to!) continue;
      p[i]! *= Math.exp(f * (0.5 + i / n) + (r() - 0.5) * 0.003);
    }
    return [...p];
  });
}

describe('sensing product in WebAssembly', () => {
  it('the committed module is what matvec.wat assembles to (npm run build:wasm)', async () => {
    expect(MATVEC_WASM_BASE64).toBe(await assembleMatvec());
  });

  it('is available on this runtime (otherwise sensing silently runs the slower loop)', () => {
    expect(WasmMatVec.create()).not.toBeNull();
  });

  it('multiplies exactly as the JavaScript loop does, any k', () => {
    const product = WasmMatVec.create()!;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 1e6 }), (k, seed) => {
        const r = seededRandom(seed);
        const m = product.matrix(k);
        for (let i = 0; i < k * k; i++) m[i] = r() * 2 - 1;
        const v = Float64Array.from({ length: k }, () => r() - 0.5);
        const out = new Float64Array(k);
        product.multiply(v, out);
        // The reference order: per row, even and odd columns summed apart, then added.
        for (let row = 0; row < k; row++) {
          let even = 0;
          let odd = 0;
          for (let c = 0; c < k; c++) {
            if (c % 2 === 0) even += m[row * k + c]! * v[c]!;
            else odd += m[row * k + c]! * v[c]!;
          }
          expect(out[row]).toBe(even + odd);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('sensing gives bit-identical scans with either product, while k and the memory change', () => {
    for (const [seed, n] of [
      [1, 1],
      [2, 3],
      [3, 9],
      [4, 50],
      [5, 120], // the slow window's 120 x 120 matrix outgrows the module's first memory page
    ] as const) {
      const names = Array.from({ length: n }, (_, i) => `S${i}`);
      const wasm = new Sensor(names, 'dense');
      const js = new Sensor(names, 'dense', 'js');
      let scans = 0;
      panel(seed, 500, n).forEach((prices, t) => {
        const a = wasm.push(t, Float64Array.from(prices));
        const b = js.push(t, Float64Array.from(prices));
        expect(a).toEqual(b);
        if (a) scans += 1;
      });
      expect(scans).toBeGreaterThan(300);
    }
  });
});
