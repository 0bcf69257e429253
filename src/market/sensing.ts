/**
 * The sensing stage of ALGORITHM.md §5: from a price panel to scans. Pure.
 *
 * Per bar, for the fast (50) and slow (150) windows of log returns, the Pearson
 * correlation matrix of the assets with non-zero variance, its largest eigenvalue
 * divided by the number of those assets (L_w), and for the fast window the leading
 * eigenvector (irp). Rolling sums keep a bar O(N^2); they are recomputed exactly from
 * the window every RESYNC_BARS bars so floating error cannot drift. The leading
 * eigenpair comes from power iteration warm-started at the previous bar's vector.
 */
import type { Scan } from '../domain/scan.js';

export const FAST = 50;
export const SLOW = 150;
export const VOL_OK_MIN = 0.0002;
const RESYNC_BARS = 1000;
const ZERO_VARIANCE = 1e-20;

/** Rolling window of returns with sums and cross-product sums. */
class Window {
  readonly sum: Float64Array;
  readonly cross: Float64Array;
  private readonly ring: Float64Array;
  private count = 0;
  private head = 0;
  private sinceResync = 0;
  vector: Float64Array | null = null;

  constructor(
    readonly size: number,
    readonly n: number,
  ) {
    this.sum = new Float64Array(n);
    this.cross = new Float64Array(n * n);
    this.ring = new Float64Array(size * n);
  }

  get full(): boolean {
    return this.count >= this.size;
  }

  push(r: Float64Array): void {
    const { n } = this;
    const slot = this.head * n;
    const { sum, cross } = this;
    if (this.full) {
      const out = this.ring.subarray(slot, slot + n);
      for (let i = 0; i < n; i++) {
        const ri = r[i]!;
        const li = out[i]!;
        sum[i]! += ri - li;
        const row = i * n;
        for (let j = i; j < n; j++) cross[row + j]! += ri * r[j]! - li * out[j]!;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const ri = r[i]!;
        sum[i]! += ri;
        const row = i * n;
        for (let j = i; j < n; j++) cross[row + j]! += ri * r[j]!;
      }
    }
    this.ring.set(r, slot);
    this.head = (this.head + 1) % this.size;
    if (this.count < this.size) this.count += 1;
    if (++this.sinceResync >= RESYNC_BARS) this.resync();
  }

  /** Exact sums from the window contents (stops floating drift). */
  private resync(): void {
    const { n } = this;
    this.sinceResync = 0;
    this.sum.fill(0);
    this.cross.fill(0);
    for (let k = 0; k < this.count; k++) {
      const row = this.ring.subarray(k * n, k * n + n);
      for (let i = 0; i < n; i++) {
        this.sum[i]! += row[i]!;
        for (let j = i; j < n; j++) this.cross[i * n + j]! += row[i]! * row[j]!;
      }
    }
  }

  variance(i: number): number {
    const w = this.count;
    const v = (this.cross[i * this.n + i]! - (this.sum[i]! * this.sum[i]!) / w) / (w - 1);
    return v > ZERO_VARIANCE ? v : 0;
  }

  /** Correlation matrix over the assets with variance; returns the included indices. */
  private sd: Float64Array | null = null;
  private matrix = new Float64Array(0);

  correlation(): { idx: number[]; m: Float64Array } {
    const { n } = this;
    const w = this.count;
    this.sd ??= new Float64Array(n);
    const sd = this.sd;
    const idx: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = this.variance(i);
      if (v > 0) {
        sd[i] = Math.sqrt(v);
        idx.push(i);
      }
    }
    const k = idx.length;
    if (this.matrix.length !== k * k) this.matrix = new Float64Array(k * k);
    const m = this.matrix;
    for (let a = 0; a < k; a++) {
      const i = idx[a]!;
      m[a * k + a] = 1;
      for (let b = a + 1; b < k; b++) {
        const j = idx[b]!;
        const cov = (this.cross[i * n + j]! - (this.sum[i]! * this.sum[j]!) / w) / (w - 1);
        let c = cov / (sd[i]! * sd[j]!);
        if (c > 1) c = 1;
        else if (c < -1) c = -1;
        m[a * k + b] = c;
        m[b * k + a] = c;
      }
    }
    return { idx, m };
  }
}

/** Leading eigenpair of a symmetric PSD matrix by power iteration (deterministic). */
export function leadingEigen(
  m: Float64Array,
  k: number,
  start: Float64Array | null,
): { value: number; vector: Float64Array } {
  if (k === 0) return { value: 0, vector: new Float64Array(0) };
  // Start from the previous vector plus a small fixed irregular component: a symmetric
  // start can sit exactly on a lesser eigenvector (e.g. [1,1] for a negative 2x2 correlation).
  let v = new Float64Array(k);
  const warm = start && start.length === k;
  for (let a = 0; a < k; a++)
    v[a] = (warm ? start[a]! : 0) + (warm ? 1e-3 : 1) * (1 + ((a * 7919) % 17) / 17);
  let len = 0;
  for (let a = 0; a < k; a++) len += v[a]! * v[a]!;
  len = Math.sqrt(len);
  for (let a = 0; a < k; a++) v[a] = v[a]! / len;
  let next = new Float64Array(k);
  let value = 0;
  for (let iter = 0; iter < 2000; iter++) {
    let norm = 0;
    let rayleigh = 0;
    for (let a = 0; a < k; a++) {
      let s = 0;
      const row = a * k;
      for (let b = 0; b < k; b++) s += m[row + b]! * v[b]!;
      next[a] = s;
      norm += s * s;
      rayleigh += s * v[a]!;
    }
    norm = Math.sqrt(norm);
    if (norm === 0) {
      v.fill(1 / Math.sqrt(k));
      continue;
    }
    let delta = 0;
    for (let a = 0; a < k; a++) {
      const x = next[a]! / norm;
      delta = Math.max(delta, Math.abs(x - v[a]!));
      next[a] = x;
    }
    [v, next] = [next, v];
    // The Rayleigh quotient is accurate to the square of the vector's error.
    value = rayleigh;
    if (delta <= 1e-8) break;
  }
  return { value, vector: v };
}

function median(xs: number[]): number {
  const s = xs.sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Turns a price panel into scans, one bar at a time. */
export class Sensor {
  private readonly fast: Window;
  private readonly slow: Window;
  private readonly returns: Float64Array;
  private prev: Float64Array | null = null;
  private bar = -1;
  private lastFast: number | null = null;
  private lastSlow: number | null = null;

  constructor(readonly symbols: readonly string[]) {
    const n = symbols.length;
    this.fast = new Window(FAST, n);
    this.slow = new Window(SLOW, n);
    this.returns = new Float64Array(n);
  }

  /** Feeds the bar closing at `ts`; returns a scan once both windows are full at t and t-1. */
  push(ts: number, prices: Float64Array): Scan | null {
    this.bar += 1;
    const prev = this.prev;
    this.prev = Float64Array.from(prices);
    if (!prev) return null;
    for (let i = 0; i < prices.length; i++) this.returns[i] = Math.log(prices[i]! / prev[i]!);
    this.fast.push(this.returns);
    this.slow.push(this.returns);
    if (!this.slow.full) return null;
    const f = this.fast.correlation();
    const fe = leadingEigen(f.m, f.idx.length, this.fast.vector);
    this.fast.vector = fe.vector;
    const s = this.slow.correlation();
    const se = leadingEigen(s.m, s.idx.length, this.slow.vector);
    this.slow.vector = se.vector;
    const lFast = f.idx.length ? fe.value / f.idx.length : 0;
    const lSlow = s.idx.length ? se.value / s.idx.length : 0;
    const before = { fast: this.lastFast, slow: this.lastSlow };
    this.lastFast = lFast;
    this.lastSlow = lSlow;
    if (before.fast === null || before.slow === null) return null;
    const velDiv = lFast - before.fast - (lSlow - before.slow);
    const irp = new Float64Array(this.symbols.length);
    const sqrtN = Math.sqrt(f.idx.length);
    f.idx.forEach((i, a) => {
      irp[i] = Math.min(1, Math.abs(fe.vector[a]!) * sqrtN);
    });
    const sds: number[] = [];
    for (let i = 0; i < this.symbols.length; i++) sds.push(Math.sqrt(this.fast.variance(i)));
    const assets: Record<string, { price: number; irp: number }> = {};
    this.symbols.forEach((sym, i) => {
      assets[sym] = { price: prices[i]!, irp: irp[i]! };
    });
    return { ts, scan: this.bar, vel_div: velDiv, vol_ok: median(sds) >= VOL_OK_MIN, assets };
  }
}
