/**
 * The arithmetic of sensing's dense form (DenseWindow in sensing.ts): the window's sums,
 * the correlation matrix built from them, and its product with a vector. Two engines with
 * bit-identical results: this JavaScript one and WebAssembly SIMD (wasm/dense.ts), which
 * the sensor prefers where the runtime has it.
 */

export interface DenseKernel {
  /** Cross-product sums, n x n row-major (upper triangle used), and per-asset sums. */
  readonly cross: Float64Array;
  readonly sum: Float64Array;
  /** Per asset: mean and 1 / sqrt(variance * (w - 1)), set by the caller before `build`. */
  readonly mean: Float64Array;
  readonly scale: Float64Array;
  /** A bar of returns enters the sums; `leaving`, when given, is the bar that leaves. */
  add(r: Float64Array, leaving: Float64Array | null): void;
  /** Fills the correlation matrix of the assets `idx` (k of them) from the sums. */
  build(idx: readonly number[]): void;
  /** out = C v with the matrix of the last `build` (v and out of length k). */
  multiply(v: Float64Array, out: Float64Array): void;
  /** The matrix of the last `build`, k x k row-major (tests compare the engines). */
  matrix(): Float64Array;
}

export class JsDenseKernel implements DenseKernel {
  readonly cross: Float64Array;
  readonly sum: Float64Array;
  readonly mean: Float64Array;
  readonly scale: Float64Array;
  private built = new Float64Array(0);
  private k = 0;

  constructor(private readonly n: number) {
    this.cross = new Float64Array(n * n);
    this.sum = new Float64Array(n);
    this.mean = new Float64Array(n);
    this.scale = new Float64Array(n);
  }

  add(r: Float64Array, leaving: Float64Array | null): void {
    const { n, sum, cross } = this;
    for (let i = 0; i < n; i++) {
      const ri = r[i]!;
      const row = i * n;
      if (leaving) {
        const li = leaving[i]!;
        sum[i]! += ri - li;
        for (let j = i; j < n; j++) cross[row + j]! += ri * r[j]! - li * leaving[j]!;
      } else {
        sum[i]! += ri;
        for (let j = i; j < n; j++) cross[row + j]! += ri * r[j]!;
      }
    }
  }

  build(idx: readonly number[]): void {
    const { n, cross, sum, mean, scale } = this;
    const k = idx.length;
    if (this.built.length !== k * k) this.built = new Float64Array(k * k);
    this.k = k;
    const m = this.built;
    // corr_ij = (cross_ij - sum_i * mean_j) * scale_i * scale_j: no division per pair.
    for (let a = 0; a < k; a++) {
      const i = idx[a]!;
      const row = i * n;
      const si = sum[i]!;
      const scaleI = scale[i]!;
      m[a * k + a] = 1;
      for (let b = a + 1; b < k; b++) {
        const j = idx[b]!;
        let c = (cross[row + j]! - si * mean[j]!) * scaleI * scale[j]!;
        if (c > 1) c = 1;
        else if (c < -1) c = -1;
        m[a * k + b] = c;
        m[b * k + a] = c;
      }
    }
  }

  matrix(): Float64Array {
    return this.built;
  }

  readonly multiply = (v: Float64Array, out: Float64Array): void => {
    const { k, built: m } = this;
    let r = 0;
    // Two rows at a time, two accumulators each: each v[c] is loaded once for both rows
    // and the additions do not wait on each other.
    for (; r + 1 < k; r += 2) {
      let a0 = 0;
      let a1 = 0;
      let b0 = 0;
      let b1 = 0;
      const ra = r * k;
      const rb = ra + k;
      let c = 0;
      for (; c + 1 < k; c += 2) {
        const v0 = v[c]!;
        const v1 = v[c + 1]!;
        a0 += m[ra + c]! * v0;
        a1 += m[ra + c + 1]! * v1;
        b0 += m[rb + c]! * v0;
        b1 += m[rb + c + 1]! * v1;
      }
      if (c < k) {
        a0 += m[ra + c]! * v[c]!;
        b0 += m[rb + c]! * v[c]!;
      }
      out[r] = a0 + a1;
      out[r + 1] = b0 + b1;
    }
    if (r < k) {
      // The last row of an odd k: the same even/odd split, so every row sums alike.
      let s0 = 0;
      let s1 = 0;
      const row = r * k;
      let c = 0;
      for (; c + 1 < k; c += 2) {
        s0 += m[row + c]! * v[c]!;
        s1 += m[row + c + 1]! * v[c + 1]!;
      }
      if (c < k) s0 += m[row + c]! * v[c]!;
      out[r] = s0 + s1;
    }
  };
}
