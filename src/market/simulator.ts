/**
 * The market simulator: a correlated multi-asset price panel with regime changes,
 * deterministic by seed. One common factor drives every asset (beta per asset);
 * a Markov regime sets factor and idiosyncratic volatility and drift; occasional
 * common shocks of random size make correlation structure jump in and out of the
 * sensing windows, which is what moves vel_div.
 */
import { seededRandom } from '../domain/random.js';
import type { Scan } from '../domain/scan.js';
import { Sensor } from './sensing.js';

export interface MarketOptions {
  readonly assets: number;
  readonly seed: number;
  readonly startTs?: number;
  readonly barMs?: number;
}

interface Regime {
  readonly name: string;
  readonly factorVol: number;
  readonly idioVol: number;
  readonly drift: number;
  /** Per-bar probability of leaving the regime. */
  readonly exit: number;
}

const REGIMES: readonly Regime[] = [
  { name: 'calm', factorVol: 0.0012, idioVol: 0.0016, drift: 0, exit: 0.004 },
  { name: 'trend-down', factorVol: 0.0018, idioVol: 0.0018, drift: -0.00012, exit: 0.006 },
  { name: 'trend-up', factorVol: 0.0018, idioVol: 0.0018, drift: 0.0001, exit: 0.006 },
  { name: 'stress', factorVol: 0.0035, idioVol: 0.0022, drift: -0.00005, exit: 0.01 },
];

const MAJORS: ReadonlyArray<readonly [string, number]> = [
  ['BTCUSDT', 67210.5],
  ['ETHUSDT', 3120.2],
  ['SOLUSDT', 152.3],
  ['BNBUSDT', 585.1],
  ['XRPUSDT', 0.5231],
  ['ADAUSDT', 0.4512],
  ['DOGEUSDT', 0.1573],
  ['AVAXUSDT', 35.62],
  ['LINKUSDT', 14.83],
  ['DOTUSDT', 7.215],
  ['LTCUSDT', 84.7],
  ['TRXUSDT', 0.1234],
  ['ATOMUSDT', 8.91],
  ['UNIUSDT', 9.87],
  ['XLMUSDT', 0.1102],
  ['ETCUSDT', 27.3],
  ['FILUSDT', 5.92],
  ['APTUSDT', 8.44],
  ['NEARUSDT', 6.71],
  ['ARBUSDT', 1.12],
];

export function symbolsFor(n: number): string[] {
  return Array.from({ length: n }, (_, i) => MAJORS[i]?.[0] ?? `A${String(i).padStart(3, '0')}USDT`);
}

export class MarketSimulator {
  readonly symbols: string[];
  private readonly random: () => number;
  private readonly betas: Float64Array;
  private readonly prices: Float64Array;
  private regime = 0;
  private bar = 0;
  private readonly startTs: number;
  private readonly barMs: number;

  constructor(o: MarketOptions) {
    if (!Number.isInteger(o.assets) || o.assets < 1)
      throw new Error(`assets must be a positive integer, got ${o.assets}`);
    this.random = seededRandom(o.seed);
    this.symbols = symbolsFor(o.assets);
    this.betas = Float64Array.from(this.symbols, () => 0.6 + this.random() * 0.9);
    this.prices = Float64Array.from(this.symbols, (_s, i) => MAJORS[i]?.[1] ?? 1 + this.random() * 50);
    this.startTs = o.startTs ?? 1_747_742_400_000;
    this.barMs = o.barMs ?? 5000;
  }

  private gauss(): number {
    const u = Math.max(this.random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.random());
  }

  /** The next bar: its close time and every asset's price. */
  next(): { ts: number; prices: Float64Array } {
    const r = REGIMES[this.regime]!;
    if (this.random() < r.exit) this.regime = Math.floor(this.random() * REGIMES.length);
    let factor = r.drift + r.factorVol * this.gauss();
    // A common shock of random size now and then: correlation jumps, later leaves the windows.
    if (this.random() < 0.004) factor += (this.random() < 0.5 ? -1 : 1) * (0.002 + this.random() * 0.01);
    for (let i = 0; i < this.prices.length; i++) {
      const ret = this.betas[i]! * factor + r.idioVol * this.gauss();
      this.prices[i] = this.prices[i]! * Math.exp(ret);
    }
    this.bar += 1;
    return { ts: this.startTs + this.bar * this.barMs, prices: this.prices };
  }
}

/** Rounds a scan for the file: prices to 10 significant digits, irp and vel_div to 1e-9. */
export function roundScan(s: Scan): Scan {
  const assets: Record<string, { price: number; irp: number }> = {};
  for (const k in s.assets) {
    const q = s.assets[k]!;
    assets[k] = { price: Number(q.price.toPrecision(10)), irp: Math.round(q.irp * 1e9) / 1e9 };
  }
  return { ts: s.ts, scan: s.scan, vel_div: Math.round(s.vel_div * 1e9) / 1e9, vol_ok: s.vol_ok, assets };
}

/** Exactly `scans` scans from a seeded market: same seed, same scans. */
export function* simulateScans(o: { scans: number; assets: number; seed: number }): Generator<Scan> {
  const market = new MarketSimulator({ assets: o.assets, seed: o.seed });
  const sensor = new Sensor(market.symbols);
  let emitted = 0;
  while (emitted < o.scans) {
    const bar = market.next();
    const scan = sensor.push(bar.ts, bar.prices);
    if (scan) {
      emitted += 1;
      yield roundScan(scan);
    }
  }
}
