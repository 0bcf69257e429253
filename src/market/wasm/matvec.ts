/**
 * The dense matrix-vector product of sensing in WebAssembly SIMD (matvec.wat): about
 * three times the JavaScript loop, with bit-identical results (same order of operations).
 * The matrix lives in the module's memory, so the caller fills it in place.
 */
import { MATVEC_WASM_BASE64 } from './matvec-wasm.js';

type MatVecFn = (m: number, v: number, out: number, k: number) => void;

/** Compiled once; null where this runtime has no WebAssembly SIMD (the caller uses JavaScript). */
const MODULE: WebAssembly.Module | null = (() => {
  try {
    return new WebAssembly.Module(Buffer.from(MATVEC_WASM_BASE64, 'base64'));
  } catch {
    return null;
  }
})();

const PAGE = 65_536;

export class WasmMatVec {
  private k = -1;
  private matrixView = new Float64Array(0);
  private vView = new Float64Array(0);
  private outView = new Float64Array(0);

  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly matvec: MatVecFn,
  ) {}

  /** A new product with its own memory, or null when WebAssembly SIMD is not available. */
  static create(): WasmMatVec | null {
    if (!MODULE) return null;
    const { exports } = new WebAssembly.Instance(MODULE);
    return new WasmMatVec(exports.memory as WebAssembly.Memory, exports.matvec as MatVecFn);
  }

  /** The k x k matrix (row-major) that `multiply` uses, to be filled by the caller. */
  matrix(k: number): Float64Array {
    if (k !== this.k) this.layout(k);
    return this.matrixView;
  }

  /** out = M v for the matrix last returned by `matrix` (v and out of length k). */
  multiply(v: Float64Array, out: Float64Array): void {
    this.vView.set(v);
    this.matvec(0, this.vView.byteOffset, this.outView.byteOffset, this.k);
    out.set(this.outView);
  }

  /** Matrix, then v, then out, in the module's memory (grown when k needs more). */
  private layout(k: number): void {
    const bytes = (k * k + 2 * k) * 8;
    const missing = bytes - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / PAGE));
    const buffer = this.memory.buffer;
    this.matrixView = new Float64Array(buffer, 0, k * k);
    this.vView = new Float64Array(buffer, k * k * 8, k);
    this.outView = new Float64Array(buffer, (k * k + k) * 8, k);
    this.k = k;
  }
}
