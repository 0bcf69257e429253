/** Benchmarks of the core: decision throughput, replay throughput vs the JSON.parse ceiling, hot path. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileJournal } from '../adapters/files/journal.js';
import { textLineBatches } from '../adapters/files/scan-lines.js';
import { LatestPrices, Pipeline } from '../app/pipeline.js';
import { runReplay, simVenueFor, watchSubmits } from '../app/replay.js';
import { AccountProjection } from '../domain/account.js';
import type { EventSink } from '../domain/events.js';
import { seededRandom } from '../domain/random.js';
import type { Scan } from '../domain/scan.js';
import type { OrderIntentRecord } from '../domain/venue.js';
import { BlueV7Ref } from '../strategy/blue-v7-ref.js';
import type { Strategy } from '../strategy/strategy.js';
import { type Figure, median, percentile, repeat } from './harness.js';

/** Generated scans of a stated size: random walks, a signal that trades often. */
export function generatedScans(count: number, assets: number, seed: number): Scan[] {
  const rnd = seededRandom(seed);
  const symbols = Array.from({ length: assets }, (_, i) => `A${String(i).padStart(3, '0')}USDT`);
  const prices = symbols.map(() => 100 * (1 + rnd()));
  const out: Scan[] = [];
  for (let i = 0; i < count; i++) {
    const a: Record<string, { price: number; irp: number }> = {};
    for (let k = 0; k < assets; k++) {
      prices[k]! *= 1 + (rnd() - 0.5) * 0.008;
      a[symbols[k]!] = { price: Math.round(prices[k]! * 1e6) / 1e6, irp: Math.round(rnd() * 1e4) / 1e4 };
    }
    out.push({
      ts: 1_747_742_400_000 + i * 5000,
      scan: i,
      vel_div: Math.round((rnd() - 0.7) * 0.1 * 1e6) / 1e6,
      vol_ok: rnd() > 0.05,
      assets: a,
    });
  }
  return out;
}

export async function benchDecisions(): Promise<Figure> {
  const scans = generatedScans(200_000, 50, 1);
  const runs = await repeat(5, () => {
    const s = new BlueV7Ref();
    const ctx = { capital: 25_000 };
    const t0 = process.hrtime.bigint();
    for (const scan of scans) s.decide(scan, ctx);
    return scans.length / (Number(process.hrtime.bigint() - t0) / 1e9);
  });
  const v = median(runs);
  return {
    name: 'decision-only throughput (50 assets)',
    value: Math.round(v),
    unit: 'scans/s',
    target: '>= 1,000,000',
    met: v >= 1_000_000,
    detail: '200k parsed scans, median of 5',
  };
}

export function writeScanFile(path: string, scans: readonly Scan[]): void {
  writeFileSync(path, `${scans.map((s) => JSON.stringify(s)).join('\n')}\n`);
}

/** The ceiling: plain JSON.parse of the same file, line by line (same line reader as replay). */
export async function jsonParseCeiling(path: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  let n = 0;
  for await (const lines of textLineBatches(path))
    for (const line of lines)
      if (line) {
        JSON.parse(line);
        n++;
      }
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

export async function replayRate(
  path: string,
  sinks: () => { sinks: EventSink[]; done: () => Promise<void> },
  strategy: Strategy = new BlueV7Ref(),
  readLines: 'inline' | 'worker' = 'inline',
): Promise<number> {
  const s = sinks();
  const t0 = process.hrtime.bigint();
  const r = await runReplay({
    dataPath: path,
    readLines,
    strategy,
    namespace: 'pink',
    initialCapital: 25_000,
    strict: false,
    sinks: s.sinks,
  });
  await s.done();
  return r.summary.scans / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/**
 * The same path with the runtime's write-ahead: each order's intent appended to the journal's
 * intents file and fsync'd before the request leaves (`pink run`; replays have no journal).
 */
export async function benchHotPathWriteAhead(dir: string): Promise<Figure[]> {
  const journal = new FileJournal(join(dir, 'bench-journal.json'));
  const samples = await hotPathSamples(30_000, (intent) => journal.intend(intent));
  const sorted = samples.slice(Math.floor(samples.length * 0.05)).sort((a, b) => a - b);
  const detail = `${sorted.length} submits over 30k parsed 20-asset scans, each behind an fsync'd write-ahead append (this disk)`;
  return [
    {
      name: 'hot path scan->submit with write-ahead p50',
      value: percentile(sorted, 50),
      unit: 'us',
      target: 'informational (fsync)',
      met: null,
      detail,
    },
    {
      name: 'hot path scan->submit with write-ahead p99',
      value: percentile(sorted, 99),
      unit: 'us',
      target: 'informational (fsync)',
      met: null,
      detail,
    },
  ];
}

/** Scan arrival -> venue submit call, in process: a venue that timestamps the submit call. */
export async function benchHotPath(): Promise<Figure[]> {
  // As scans arrive in the runtime: a JSON message, parsed, then into the pipeline. The
  // clock starts at the parsed scan (parsing the message is not part of this figure). Only
  // the message texts are kept, so the heap holds what a running process holds: one scan.
  const samples = await hotPathSamples(120_000);
  const sorted = samples.slice(Math.floor(samples.length * 0.05)).sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  const p999 = percentile(sorted, 99.9);
  const detail = `${sorted.length} submits over 120k parsed 20-asset scans (first 5% warm-up dropped)`;
  return [
    { name: 'hot path scan->submit p50', value: p50, unit: 'us', target: '<= 20', met: p50 <= 20, detail },
    { name: 'hot path scan->submit p99', value: p99, unit: 'us', target: '<= 200', met: p99 <= 200, detail },
    {
      name: 'hot path scan->submit p99.9',
      value: p999,
      unit: 'us',
      target: '<= 1000',
      met: p999 <= 1000,
      detail,
    },
  ];
}

/** Microseconds from a parsed scan's arrival to the venue's submit call, one sample per order. */
async function hotPathSamples(
  scans: number,
  beforeSubmit?: (intent: OrderIntentRecord) => Promise<void>,
): Promise<number[]> {
  // Only the message texts are kept, so the heap holds what a running process holds: one scan.
  const messages = generatedScans(scans, 20, 3).map((s) => JSON.stringify(s));
  const samples: number[] = [];
  let arrival = 0n;
  const marks = new LatestPrices();
  const venue = watchSubmits(simVenueFor(marks, { latencyMs: 0, ackMs: 0 }), () => {
    samples.push(Number(process.hrtime.bigint() - arrival) / 1000);
  });
  const pipeline = new Pipeline({
    strategy: new BlueV7Ref(),
    venue,
    account: new AccountProjection(25_000),
    marks,
    namespace: 'pink',
    sink: () => {},
    ...(beforeSubmit ? { beforeSubmit } : {}),
  });
  for (const message of messages) {
    const scan = JSON.parse(message) as Scan;
    arrival = process.hrtime.bigint();
    await pipeline.process(scan, 'bench');
  }
  return samples;
}
