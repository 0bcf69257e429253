/** Sensing (ALGORITHM.md §5) against a direct reference implementation, and the simulator's determinism. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../src/domain/random.js';
import { validateScan } from '../src/domain/scan.js';
import { writeSimulatedScans } from '../src/market/scan-file.js';
import { exactLeadingEigen, leadingEigen, Sensor } from '../src/market/sensing.js';
import { simulateScans } from '../src/market/simulator.js';
import { BlueV7Ref } from '../src/strategy/blue-v7-ref.js';

/** Jacobi eigenvalue algorithm: the textbook way, for checking power iteration. */
function jacobiMax(a: number[][]): { value: number; vector: number[] } {
  const n = a.length;
  const m = a.map((r) => [...r]);
  const v: number[][] = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)),
  );
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p]![q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(m[p]![q]!) < 1e-300) continue;
        const theta = (m[q]![q]! - m[p]![p]!) / (2 * m[p]![q]!);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k]![p]!;
          const mkq = m[k]![q]!;
          m[k]![p] = c * mkp - s * mkq;
          m[k]![q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p]![k]!;
          const mqk = m[q]![k]!;
          m[p]![k] = c * mpk - s * mqk;
          m[q]![k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
  }
  let best = 0;
  for (let i = 1; i < n; i++) if (m[i]![i]! > m[best]![best]!) best = i;
  return { value: m[best]![best]!, vector: v.map((r) => r[best]!) };
}

/** Direct (non-rolling) §5 on a whole panel: the reference the Sensor must match. */
function directScan(prices: number[][], t: number) {
  const n = prices[0]!.length;
  const ret = (s: number, i: number) => Math.log(prices[s]![i]! / prices[s - 1]![i]!);
  const L = (end: number, w: number) => {
    const cols = Array.from({ length: n }, (_, i) =>
      Array.from({ length: w }, (_, k) => ret(end - w + 1 + k, i)),
    );
    const sd = cols.map((c) => {
      const mu = c.reduce((a, b) => a + b, 0) / w;
      return Math.sqrt(c.reduce((a, b) => a + (b - mu) ** 2, 0) / (w - 1));
    });
    const idx = cols.map((_, i) => i).filter((i) => sd[i]! > 1e-10);
    const mean = cols.map((c) => c.reduce((a, b) => a + b, 0) / w);
    const corr = idx.map((i) =>
      idx.map((j) => {
        let s = 0;
        for (let k = 0; k < w; k++) s += (cols[i]![k]! - mean[i]!) * (cols[j]![k]! - mean[j]!);
        return s / (w - 1) / (sd[i]! * sd[j]!);
      }),
    );
    const e = idx.length ? jacobiMax(corr) : { value: 0, vector: [] };
    return { L: idx.length ? e.value / idx.length : 0, idx, vector: e.vector, sd };
  };
  const f = L(t, 50);
  const fPrev = L(t - 1, 50);
  const s = L(t, 150);
  const sPrev = L(t - 1, 150);
  const irp = new Array(n).fill(0);
  f.idx.forEach((i, a) => {
    irp[i] = Math.min(1, Math.abs(f.vector[a]!) * Math.sqrt(f.idx.length));
  });
  const sds = [...f.sd].sort((a, b) => a - b);
  const med = n % 2 ? sds[n >> 1]! : (sds[n / 2 - 1]! + sds[n / 2]!) / 2;
  return { velDiv: f.L - fPrev.L - (s.L - sPrev.L), irp, volOk: med >= 0.0002 };
}

function randomPanel(seed: number, bars: number, n: number, constantAsset = -1): number[][] {
  const r = seededRandom(seed);
  const p = Array.from({ length: n }, () => 10 + r() * 100);
  const out: number[][] = [];
  for (let t = 0; t < bars; t++) {
    const f = (r() - 0.5) * 0.004;
    for (let i = 0; i < n; i++)
      if (i !== constantAsset) p[i]! *= Math.exp(f * (0.5 + i / n) + (r() - 0.5) * 0.003);
    out.push([...p]);
  }
  return out;
}

describe('sensing (ALGORITHM.md §5)', () => {
  it('emits the first scan at the first bar where both windows are full at t and t-1', () => {
    const panel = randomPanel(1, 160, 4);
    const sensor = new Sensor(['A', 'B', 'C', 'D']);
    const firsts: number[] = [];
    panel.forEach((p, t) => {
      const s = sensor.push(1000 * t, Float64Array.from(p));
      if (s) firsts.push(s.scan);
    });
    expect(firsts[0]).toBe(151);
    expect(firsts).toHaveLength(160 - 151);
  });

  it('matches the direct reference (eigenvalue, vel_div, irp, vol_ok), zero-variance assets left out', () => {
    for (const [seed, n, constant] of [
      [2, 6, -1],
      [3, 9, 4],
      [4, 2, -1],
      [5, 1, -1],
      [9, 5, -1], // odd k: the product's last row is done on its own
    ] as const) {
      const panel = randomPanel(seed, 400, n, constant);
      const sensor = new Sensor(Array.from({ length: n }, (_, i) => `S${i}`));
      panel.forEach((p, t) => {
        const scan = sensor.push(t, Float64Array.from(p));
        if (!scan || t % 37 !== 0) return;
        const ref = directScan(panel, t);
        expect(scan.vel_div).toBeCloseTo(ref.velDiv, 9);
        expect(scan.vol_ok).toBe(ref.volOk);
        Object.values(scan.assets).forEach((q, i) => {
          expect(q.irp).toBeCloseTo(ref.irp[i]!, 6);
        });
        if (constant >= 0) expect(scan.assets[`S${constant}`]!.irp).toBe(0);
      });
    }
  });

  it('the Gram form (many assets) matches the reference and the dense form', () => {
    for (const [seed, n, constant] of [
      [6, 7, 2],
      [7, 12, -1],
    ] as const) {
      const panel = randomPanel(seed, 300, n, constant);
      const names = Array.from({ length: n }, (_, i) => `S${i}`);
      const gram = new Sensor(names, 'gram');
      panel.forEach((p, t) => {
        const scan = gram.push(t, Float64Array.from(p));
        if (!scan || t % 29 !== 0) return;
        const ref = directScan(panel, t);
        expect(scan.vel_div).toBeCloseTo(ref.velDiv, 9);
        expect(scan.vol_ok).toBe(ref.volOk);
        Object.values(scan.assets).forEach((q, i) => {
          expect(q.irp).toBeCloseTo(ref.irp[i]!, 6);
        });
      });
    }
    // Large panels (where `auto` picks the Gram form): both forms agree bar by bar.
    const n = 320;
    const panel = randomPanel(8, 200, n);
    const names = Array.from({ length: n }, (_, i) => `S${i}`);
    const dense = new Sensor(names, 'dense');
    const gram = new Sensor(names, 'gram');
    let compared = 0;
    panel.forEach((p, t) => {
      const a = dense.push(t, Float64Array.from(p));
      const b = gram.push(t, Float64Array.from(p));
      expect(b === null).toBe(a === null);
      if (!a || !b) return;
      compared += 1;
      expect(b.vel_div).toBeCloseTo(a.vel_div, 9);
      for (const name of names) expect(b.assets[name]!.irp).toBeCloseTo(a.assets[name]!.irp, 6);
    });
    expect(compared).toBeGreaterThan(40);
  });

  it('power iteration finds the leading eigenpair of random correlation-like matrices', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 1e6 }), (k, seed) => {
        const r = seededRandom(seed);
        const x = Array.from({ length: k }, () => Array.from({ length: 30 }, () => r() - 0.5));
        const g = x.map((a) => x.map((b) => a.reduce((s, v, i) => s + v * b[i]!, 0)));
        const c = g.map((row, i) => row.map((v, j) => v / Math.sqrt(g[i]![i]! * g[j]![j]!)));
        const e = leadingEigen(Float64Array.from(c.flat()), k, null);
        const ref = jacobiMax(c);
        expect(e.value).toBeCloseTo(ref.value, 6);
        expect(e.value / k).toBeLessThanOrEqual(1 + 1e-9);
        expect(e.value / k).toBeGreaterThanOrEqual(1 / k - 1e-9);
      }),
      { numRuns: 100 },
    );
  });

  it('finds the leading eigenvalue when the top two nearly tie (power iteration alone stalls)', () => {
    // Found by the property above (k 2, seed 356250): correlation 0.0008, so the two
    // eigenvalues are 1 +- 0.0008 and 2,000 power steps left the value wrong at 3e-5.
    const r = seededRandom(356250);
    const x = Array.from({ length: 2 }, () => Array.from({ length: 30 }, () => r() - 0.5));
    const g = x.map((a) => x.map((b) => a.reduce((s, v, i) => s + v * b[i]!, 0)));
    const c = g.map((row, i) => row.map((v, j) => v / Math.sqrt(g[i]![i]! * g[j]![j]!)));
    expect(leadingEigen(Float64Array.from(c.flat()), 2, null).value).toBeCloseTo(1 + Math.abs(c[0]![1]!), 12);
    // 40 assets, nearly uncorrelated: eigenvalues crowd around 1; warm or cold start.
    const k = 40;
    const m = new Float64Array(k * k);
    for (let i = 0; i < k; i++)
      for (let j = 0; j <= i; j++) {
        const v = i === j ? 1 : ((((i * 31 + j * 17) % 13) - 6) / 6) * 1e-4;
        m[i * k + j] = v;
        m[j * k + i] = v;
      }
    const ref = jacobiMax(Array.from({ length: k }, (_, i) => Array.from(m.subarray(i * k, (i + 1) * k))));
    for (const start of [null, Float64Array.from({ length: k }, (_, i) => (i % 2 ? 1 : -1) / Math.sqrt(k))]) {
      const e = leadingEigen(m, k, start);
      expect(e.value).toBeCloseTo(ref.value, 12);
      const dot = ref.vector.reduce((s, v, i) => s + v * e.vector[i]!, 0);
      expect(Math.abs(dot)).toBeCloseTo(1, 8);
    }
  });

  it('the exact solver agrees with the reference on random symmetric matrices', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 1e6 }), (k, seed) => {
        const r = seededRandom(seed);
        const a = Array.from({ length: k }, () => new Array<number>(k).fill(0));
        for (let i = 0; i < k; i++)
          for (let j = 0; j <= i; j++) a[i]![j] = a[j]![i] = r() - 0.5 + (i === j ? k : 0);
        const e = exactLeadingEigen(Float64Array.from(a.flat()));
        const ref = jacobiMax(a);
        expect(e.value).toBeCloseTo(ref.value, 10);
        const dot = ref.vector.reduce((s, v, i) => s + v * e.vector[i]!, 0);
        expect(Math.abs(dot)).toBeCloseTo(1, 6);
      }),
      { numRuns: 100 },
    );
  });
});

describe('market simulator', () => {
  it('writes byte-identical files for the same seed, different ones for another seed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pink-sim-'));
    const opts = { scans: 400, assets: 8, seed: 7 };
    await writeSimulatedScans(join(dir, 'a.jsonl'), opts);
    await writeSimulatedScans(join(dir, 'b.jsonl'), opts);
    await writeSimulatedScans(join(dir, 'c.jsonl'), { ...opts, seed: 8 });
    const hash = (f: string) =>
      createHash('sha256')
        .update(readFileSync(join(dir, f)))
        .digest('hex');
    expect(hash('a.jsonl')).toBe(hash('b.jsonl'));
    expect(hash('a.jsonl')).not.toBe(hash('c.jsonl'));
    const lines = readFileSync(join(dir, 'a.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(400);
    let last: number | null = null;
    for (const l of lines) {
      const c = validateScan(JSON.parse(l), last);
      expect(c.ok).toBe(true);
      if (c.ok) last = c.scan.scan;
    }
  });

  it('the default dataset (20000 x 20, seed 42) has >= 30 entries and every exit reason', () => {
    const s = new BlueV7Ref();
    const reasons = new Map<string, number>();
    for (const scan of simulateScans({ scans: 20_000, assets: 20, seed: 42 })) {
      const r = s.decide(scan, { capital: 25_000 }).record.reason;
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
    expect(reasons.get('ENTER')).toBeGreaterThanOrEqual(30);
    for (const r of ['TP1', 'TP2', 'STOP_LOSS', 'MAX_HOLD'])
      expect(reasons.get(r) ?? 0, r).toBeGreaterThan(0);
  });
});
