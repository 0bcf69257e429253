/**
 * The sensing stage of ALGORITHM.md §5: from a price panel to scans. Pure.
 *
 * Per bar, for the fast (50) and slow (150) windows of log returns, the Pearson
 * correlation matrix of the assets with non-zero variance, its largest eigenvalue
 * divided by the number of those assets (L_w), and for the fast window the leading
 * eigenvector (irp). Rolling sums keep the per-bar update cheap (cross products for a
 * dense matrix while N is small, per-asset sums for the Gram form when N is large); they
 * are recomputed exactly from the window every RESYNC_BARS bars so floating error cannot
 * drift. The leading eigenpair comes from power iteration warm-started at the previous
 * bar's vector, stopped when its estimated error is below 1e-8; when the top two
 * eigenvalues nearly tie and that has not happened after 500 steps, Jacobi rotations
 * solve the matrix exactly.
 */
import type { Scan } from '../domain/scan.js';
import { type DenseKernel, JsDenseKernel } from './dense-kernel.js';
import { WasmDenseKernel } from './wasm/dense.js';

export const FAST = 50;
export const SLOW = 150;
export const VOL_OK_MIN = 0.0002;
const RESYNC_BARS = 1000;
const ZERO_VARIANCE = 1e-20;

/** The assets with variance and the product v -> C v with their correlation matrix C. */
interface Correlation {
  readonly idx: number[];
  readonly multiply: (v: Float64Array, out: Float64Array) => void;
}

interface SensingWindow {
  readonly full: boolean;
  vector: Float64Array | null;
  push(r: Float64Array): void;
  variance(i: number): number;
  correlation(): Correlation;
}

/** The cheaper representation for a window of `size` bars over `n` assets (same figures either way). */
export type WindowForm = 'auto' | 'dense' | 'gram';
/** The dense product: WebAssembly SIMD where available (`auto`) or JavaScript; same figures. */
export type ProductKind = 'auto' | 'js';

function windowFor(size: number, n: number, form: WindowForm, product: ProductKind): SensingWindow {
  // Per power step: dense k^2, Gram 2wk; the dense form also pays k^2 per bar for its sums.
  const gram = form === 'gram' || (form === 'auto' && 2 * size < n);
  return gram ? new GramWindow(size, n) : new DenseWindow(size, n, product);
}

/**
 * The ring of the last `size` bars of returns; subclasses keep their running sums in
 * `add` (a bar enters, and `leaving` leaves when the ring is full). Every RESYNC_BARS
 * bars the sums are rebuilt from the ring so floating error cannot drift.
 */
abstract class RingWindow implements SensingWindow {
  protected readonly ring: Float64Array;
  protected count = 0;
  private head = 0;
  private sinceResync = 0;
  vector: Float64Array | null = null;

  constructor(
    readonly size: number,
    readonly n: number,
  ) {
    this.ring = new Float64Array(size * n);
  }

  get full(): boolean {
    return this.count >= this.size;
  }

  push(r: Float64Array): void {
    const slot = this.head * this.n;
    this.add(r, this.full ? this.ring.subarray(slot, slot + this.n) : null);
    this.ring.set(r, slot);
    this.head = (this.head + 1) % this.size;
    if (this.count < this.size) this.count += 1;
    if (++this.sinceResync >= RESYNC_BARS) this.resync();
  }

  /** Exact sums from the window contents (stops floating drift). */
  private resync(): void {
    this.sinceResync = 0;
    this.clearSums();
    for (let k = 0; k < this.count; k++) this.add(this.ring.subarray(k * this.n, (k + 1) * this.n), null);
  }

  protected abstract add(r: Float64Array, leaving: Float64Array | null): void;
  protected abstract clearSums(): void;
  abstract variance(i: number): number;
  abstract correlation(): Correlation;
}

/**
 * Sums and cross-product sums: O(N^2) per bar, and a dense correlation matrix.
 * Cheapest while N is small against the window length.
 */
class DenseWindow extends RingWindow {
  /** The sums and the matrix arithmetic: WebAssembly SIMD or JavaScript, same results. */
  private readonly kernel: DenseKernel;

  constructor(size: number, n: number, product: ProductKind) {
    super(size, n);
    this.kernel = (product === 'js' ? null : WasmDenseKernel.create(n)) ?? new JsDenseKernel(n);
  }

  protected add(r: Float64Array, leaving: Float64Array | null): void {
    this.kernel.add(r, leaving);
  }

  protected clearSums(): void {
    this.kernel.sum.fill(0);
    this.kernel.cross.fill(0);
  }

  variance(i: number): number {
    const w = this.count;
    const { cross, sum } = this.kernel;
    const v = (cross[i * this.n + i]! - (sum[i]! * sum[i]!) / w) / (w - 1);
    return v > ZERO_VARIANCE ? v : 0;
  }

  /** Correlation matrix over the assets with variance; returns the included indices. */
  correlation(): Correlation {
    const { n, kernel } = this;
    const { sum, scale, mean } = kernel;
    const w = this.count;
    const idx: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = this.variance(i);
      if (v > 0) {
        scale[i] = 1 / Math.sqrt(v * (w - 1));
        mean[i] = sum[i]! / w;
        idx.push(i);
      }
    }
    kernel.build(idx);
    return { idx, multiply: kernel.multiply };
  }
}

/**
 * Per-asset sums and sums of squares only. The correlation
 * matrix is never built: with Z the standardized returns (w x k), C = Z'Z / (w - 1),
 * so C v = Z'(Z v) / (w - 1) costs 2wk instead of k^2 per power step.
 */
class GramWindow extends RingWindow {
  private readonly sum: Float64Array;
  private readonly sumSq: Float64Array;
  private z = new Float64Array(0);
  private zv = new Float64Array(0);

  constructor(size: number, n: number) {
    super(size, n);
    this.sum = new Float64Array(n);
    this.sumSq = new Float64Array(n);
  }

  protected add(r: Float64Array, out: Float64Array | null): void {
    const { n, sum, sumSq } = this;
    for (let i = 0; i < n; i++) {
      const ri = r[i]!;
      const li = out ? out[i]! : 0;
      sum[i]! += ri - li;
      sumSq[i]! += ri * ri - li * li;
    }
  }

  protected clearSums(): void {
    this.sum.fill(0);
    this.sumSq.fill(0);
  }

  variance(i: number): number {
    const w = this.count;
    const v = (this.sumSq[i]! - (this.sum[i]! * this.sum[i]!) / w) / (w - 1);
    return v > ZERO_VARIANCE ? v : 0;
  }

  /**
   * Standardizes the window over the assets with variance; returns their indices and
   * the product v -> C v with their Pearson correlation matrix C.
   */
  correlation(): Correlation {
    const { n } = this;
    const w = this.count;
    const idx: number[] = [];
    for (let i = 0; i < n; i++) if (this.variance(i) > 0) idx.push(i);
    const k = idx.length;
    if (this.z.length !== w * k) this.z = new Float64Array(w * k);
    if (this.zv.length !== w) this.zv = new Float64Array(w);
    const { z, zv } = this;
    for (let a = 0; a < k; a++) {
      const i = idx[a]!;
      const mean = this.sum[i]! / w;
      // Scaled so that Z'Z is the correlation matrix itself (the 1/(w-1) folded in).
      const scale = 1 / Math.sqrt(this.variance(i) * (w - 1));
      for (let t = 0; t < w; t++) z[t * k + a] = (this.ring[t * n + i]! - mean) * scale;
    }
    const multiply = (v: Float64Array, out: Float64Array) => {
      for (let t = 0; t < w; t++) {
        let s = 0;
        const row = t * k;
        for (let a = 0; a < k; a++) s += z[row + a]! * v[a]!;
        zv[t] = s;
      }
      out.fill(0);
      for (let t = 0; t < w; t++) {
        const x = zv[t]!;
        const row = t * k;
        for (let a = 0; a < k; a++) out[a]! += z[row + a]! * x;
      }
    };
    return { idx, multiply };
  }
}

/** Leading eigenpair of a symmetric PSD matrix by power iteration (deterministic). */
export function leadingEigen(
  m: Float64Array,
  k: number,
  start: Float64Array | null,
): { value: number; vector: Float64Array } {
  return leadingEigenOf(
    (v, out) => {
      for (let a = 0; a < k; a++) {
        let s = 0;
        const row = a * k;
        for (let b = 0; b < k; b++) s += m[row + b]! * v[b]!;
        out[a] = s;
      }
    },
    k,
    start,
  );
}

/** Power steps before the exact solver takes over (a near-tie of the top two eigenvalues). */
const MAX_POWER_STEPS = 500;

/** As leadingEigen, for a matrix given by its product with a vector. */
export function leadingEigenOf(
  multiply: (v: Float64Array, out: Float64Array) => void,
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
  let lastDelta = 0;
  for (let iter = 0; iter < MAX_POWER_STEPS; iter++) {
    multiply(v, next);
    let norm = 0;
    let rayleigh = 0;
    for (let a = 0; a < k; a++) {
      const x = next[a]!;
      norm += x * x;
      rayleigh += x * v[a]!;
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
    // Stop when the vector's remaining error is below 1e-8: with the convergence ratio rho
    // estimated from two successive steps, that error is about delta * rho / (1 - rho).
    // A small step alone is not enough: when the top two eigenvalues nearly tie, rho is
    // close to 1 and the steps are small long before the vector is right.
    const rho = lastDelta > 0 ? delta / lastDelta : 1;
    if (delta <= 1e-14 || (rho < 1 && (delta * rho) / (1 - rho) <= 1e-8)) return { value, vector: v };
    lastDelta = delta;
  }
  // Power iteration converges as rho^steps; at a near-tie that is too slow, so solve exactly.
  return exactLeadingEigen(explicitMatrix(multiply, k));
}

/** The k x k matrix behind `multiply`, column by column (row-major; it is symmetric). */
function explicitMatrix(multiply: (v: Float64Array, out: Float64Array) => void, k: number): Float64Array {
  const m = new Float64Array(k * k);
  const unit = new Float64Array(k);
  const column = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    unit.fill(0);
    unit[c] = 1;
    multiply(unit, column);
    for (let r = 0; r < k; r++) m[r * k + c] = column[r]!;
  }
  return m;
}

/**
 * Leading eigenpair of a symmetric matrix by cyclic Jacobi rotations: exact to rounding
 * whatever the eigenvalue gaps, at O(k^3) a sweep. Only the fallback of leadingEigenOf.
 */
export function exactLeadingEigen(matrix: Float64Array): { value: number; vector: Float64Array } {
  const k = Math.round(Math.sqrt(matrix.length));
  const a = Float64Array.from(matrix);
  const vectors = new Float64Array(k * k);
  for (let i = 0; i < k; i++) vectors[i * k + i] = 1;
  let scale = 0;
  for (let i = 0; i < k * k; i++) scale += a[i]! * a[i]!;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += a[p * k + q]! * a[p * k + q]!;
    if (off <= 1e-30 * scale) break;
    for (let p = 0; p < k; p++)
      for (let q = p + 1; q < k; q++) {
        const apq = a[p * k + q]!;
        if (apq === 0) continue;
        // The rotation that zeroes a[p][q]: tan(phi) = t, the smaller root of t^2 + 2 theta t = 1.
        const theta = (a[q * k + q]! - a[p * k + p]!) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        rotate(a, k, p, q, c, s, 1, k); // columns p and q
        rotate(a, k, p, q, c, s, k, 1); // rows p and q
        rotate(vectors, k, p, q, c, s, 1, k);
      }
  }
  let best = 0;
  for (let i = 1; i < k; i++) if (a[i * k + i]! > a[best * k + best]!) best = i;
  const vector = new Float64Array(k);
  for (let r = 0; r < k; r++) vector[r] = vectors[r * k + best]!;
  return { value: a[best * k + best]!, vector };
}

/** x_p, x_q <- c x_p - s x_q, s x_p + c x_q over lines p and q (stride picks columns or rows). */
function rotate(
  m: Float64Array,
  k: number,
  p: number,
  q: number,
  c: number,
  s: number,
  lineStride: number,
  step: number,
): void {
  for (let i = 0; i < k; i++) {
    const ip = i * step + p * lineStride;
    const iq = i * step + q * lineStride;
    const xp = m[ip]!;
    const xq = m[iq]!;
    m[ip] = c * xp - s * xq;
    m[iq] = s * xp + c * xq;
  }
}

/** Median; sorts `xs` in place (a typed array sorts numerically without a comparator). */
function median(xs: Float64Array): number {
  const s = xs.sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Turns a price panel into scans, one bar at a time. */
export class Sensor {
  private readonly fast: SensingWindow;
  private readonly slow: SensingWindow;
  private readonly returns: Float64Array;
  private readonly sds: Float64Array;
  private prev: Float64Array | null = null;
  private bar = -1;
  private lastFast: number | null = null;
  private lastSlow: number | null = null;

  /**
   * `form` chooses the window representation and `product` the dense product's engine
   * (tests compare them); the defaults take the cheaper.
   */
  constructor(
    readonly symbols: readonly string[],
    form: WindowForm = 'auto',
    product: ProductKind = 'auto',
  ) {
    const n = symbols.length;
    this.fast = windowFor(FAST, n, form, product);
    this.slow = windowFor(SLOW, n, form, product);
    this.returns = new Float64Array(n);
    this.sds = new Float64Array(n);
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
    const fe = leadingEigenOf(f.multiply, f.idx.length, this.fast.vector);
    this.fast.vector = fe.vector;
    const s = this.slow.correlation();
    const se = leadingEigenOf(s.multiply, s.idx.length, this.slow.vector);
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
    const sds = this.sds;
    for (let i = 0; i < sds.length; i++) sds[i] = Math.sqrt(this.fast.variance(i));
    const assets: Record<string, { price: number; irp: number }> = {};
    this.symbols.forEach((sym, i) => {
      assets[sym] = { price: prices[i]!, irp: irp[i]! };
    });
    return { ts, scan: this.bar, vel_div: velDiv, vol_ok: median(sds) >= VOL_OK_MIN, assets };
  }
}
