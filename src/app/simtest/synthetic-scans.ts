/**
 * Deterministic synthetic scans for tests and the fault simulator: random walks with
 * a signal distribution that exercises every branch of the algorithm quickly (the
 * sensing model of ALGORITHM.md §5 is slower and is used by `pink simulate`).
 */
import { writeFileSync } from 'node:fs';
import { seededRandom } from '../../domain/random.js';

export interface SyntheticOptions {
  readonly scans: number;
  readonly seed: number;
  readonly symbols?: readonly string[];
  /** Line numbers (1-based, in the output) to replace with broken content. */
  readonly badLines?: ReadonlyMap<number, string>;
  /** Bar spacing (default 5000 ms). */
  readonly barMs?: number;
}

export function syntheticScanLines(o: SyntheticOptions): string[] {
  const rnd = seededRandom(o.seed);
  const symbols = o.symbols ?? ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT', 'DOGEUSDT'];
  const px = new Map(symbols.map((s, i) => [s, 10 ** (i % 4) * (1 + rnd())]));
  const lines: string[] = [];
  for (let i = 0; i < o.scans; i++) {
    const assets: Record<string, { price: number; irp: number }> = {};
    for (const s of symbols) {
      if (rnd() < 0.01) continue; // an asset missing now and then (NO_PRICE)
      const p = px.get(s)! * Math.exp((rnd() - 0.5) * 0.008);
      px.set(s, p);
      assets[s] = { price: Number(p.toPrecision(10)), irp: Math.round(rnd() * 10000) / 10000 };
    }
    const vel_div = Math.round((rnd() - 0.72) * 0.12 * 1e6) / 1e6;
    lines.push(
      JSON.stringify({
        ts: 1_747_742_400_000 + i * (o.barMs ?? 5000),
        scan: i * 2,
        vel_div,
        vol_ok: rnd() > 0.08,
        assets,
      }),
    );
  }
  if (o.badLines) for (const [at, text] of o.badLines) lines.splice(at - 1, 0, text);
  return lines;
}

export function writeSyntheticScans(path: string, o: SyntheticOptions): void {
  writeFileSync(path, `${syntheticScanLines(o).join('\n')}\n`);
}
