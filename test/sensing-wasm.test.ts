/**
 * Sensing's dense kernel in WebAssembly SIMD (src/market/wasm): the committed module is
 * the one its source assembles to, it is active on this runtime, and it gives exactly the
 * JavaScript kernel's figures, bit for bit: matrices, products, and scans.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assembleDense } from '../scripts/build-wasm.mjs';
import { seededRandom } from '../src/domain/random.js';
import { JsDenseKernel } from '../src/market/dense-kernel.js';
import { Sensor } from '../src/market/sensing.js';
import { WasmDenseKernel } from '../src/market/wasm/dense.js';
import { DENSE_WASM_BASE64 } from '../src/market/wasm/dense-wasm.js';

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

describe('sensing kernel in WebAssembly', () => {
  it('the committed module is what dense.wat assembles to (npm run build:wasm)', async () => {
    expect(DENSE_WASM_BASE64).toBe(await assembleDense());
  });

  it('is available on this runtime (otherwise sensing silently runs the slower loop)', () => {
    expect(WasmDenseKernel.create(4)).not.toBeNull();
  });

  it('adds, builds and multiplies exactly as the JavaScript kernel does, any subset of assets', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 1e6 }), (n, seed) => {
        const r = seededRandom(seed);
        const wasm = WasmDenseKernel.create(n)!;
        const js = new JsDenseKernel(n);
        for (const kernel of [wasm, js]) expect(kernel.cross).toHaveLength(n * n);
        const fill = (pick: (k: JsDenseKernel | WasmDenseKernel) => Float64Array, value: () => number) => {
          const values = Array.from({ length: pick(js).length }, value);
          pick(js).set(values);
          pick(wasm).set(values);
        };
        // Bars enter and leave the sums, as in a window; with random means and scales the
        // correlations then exceed +-1, which exercises the clamp.
        for (let bar = 0; bar < 5; bar++) {
          const entering = Float64Array.from({ length: n }, () => r() - 0.5);
          const leaving = bar % 2 ? Float64Array.from({ length: n }, () => r() - 0.5) : null;
          js.add(entering, leaving);
          wasm.add(entering, leaving);
        }
        expect(wasm.cross).toEqual(js.cross);
        expect(wasm.sum).toEqual(js.sum);
        fill(
          (k) => k.mean,
          () => r() - 0.5,
        );
        fill(
          (k) => k.scale,
          () => r() * 2,
        );
        const idx = Array.from({ length: n }, (_, i) => i).filter(() => r() < 0.8);
        const k = idx.length;
        js.build(idx);
        wasm.build(idx);
        expect(wasm.matrix()).toEqual(js.matrix());
        const v = Float64Array.from({ length: k }, () => r() - 0.5);
        const a = new Float64Array(k);
        const b = new Float64Array(k);
        wasm.multiply(v, a);
        js.multiply(v, b);
        expect(a).toEqual(b);
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
