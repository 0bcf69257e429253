/**
 * `pink replay`: the whole pipeline over a recorded scan file, as fast as it goes.
 * Bad scans are refused with the line and reason, counted, and (with --strict) stop the run.
 */

import { readScanLineBatches } from '../adapters/files/scan-lines.js';
import { readScanLinesInWorker } from '../adapters/files/scan-read-thread.js';
import { SimVenue, type SimVenueConfig } from '../adapters/sim/sim-venue.js';
import { AccountProjection } from '../domain/account.js';
import type { CanonicalEvent, EventSink } from '../domain/events.js';
import { seededRandom } from '../domain/random.js';
import { type OrderRequest, optionalPartsOf, type VenuePort } from '../domain/venue.js';
import type { Strategy } from '../strategy/strategy.js';
import { LatestPrices, Pipeline } from './pipeline.js';
import { RunSummary, type RunSummaryData } from './summary.js';

export interface ReplayOptions {
  readonly dataPath: string;
  readonly strategy: Strategy;
  readonly namespace: string;
  readonly initialCapital: number;
  readonly strict: boolean;
  /** Builds the venue; defaults to the deterministic `sim` venue. */
  readonly venue?: (marks: LatestPrices) => VenuePort | Promise<VenuePort>;
  /** The venue answers in wall-clock time: wait for each order's facts before the next scan. */
  readonly realTimeVenue?: boolean;
  readonly sim?: Partial<SimVenueConfig>;
  readonly sinks?: readonly EventSink[];
  readonly onProgress?: (p: { lines: number; bytes: number }) => void;
  /** End flat: FLATTEN whatever is open after the last scan, so every trade is terminal. */
  readonly flattenAtEnd?: boolean;
  /** Called between scans, e.g. to poll operator commands. */
  readonly between?: (pipeline: Pipeline, lastTs: number) => Promise<void>;
  /**
   * Backpressure from the sinks (the ledger's room()): null to go on, else a promise to
   * await before the next scan. Keeps a replay's memory bounded by the sinks'
   * limit instead of the file's length; the decisions are unchanged.
   */
  readonly room?: () => Promise<void> | null;
  /**
   * Where the file's lines are read and parsed: on the decision thread (`inline`, default),
   * or on a worker thread, which leaves the decision thread only the decisions: 1.4x the
   * scans a second without a ledger; with the embedded engine in the process its threads
   * have the second core and a worker gains nothing (README, Performance). The lines,
   * their values and their errors are the same either way.
   */
  readonly readLines?: 'worker' | 'inline';
  /** With `worker`: this process's own V8 flags, set again once it runs (WorkerReadOptions). */
  readonly v8Flags?: readonly string[];
}

export class StrictReplayStop extends Error {
  override name = 'StrictReplayStop';
}

export interface ReplayResult {
  readonly summary: RunSummaryData;
  readonly pipeline: Pipeline;
  readonly account: AccountProjection;
  /** Real-time venues: waits that ended with an order still in flight (0 on a healthy run). */
  readonly unsettled: number;
}

export function fanOut(sinks: readonly EventSink[]): EventSink {
  return (e: CanonicalEvent) => {
    for (const s of sinks) s(e);
  };
}

/** `venue` with `before` called at every submit, before the order goes to it (benchmarks, tests). */
export function watchSubmits(venue: VenuePort, before: (order: OrderRequest) => void): VenuePort {
  return {
    name: `watched-${venue.name}`,
    submit: (o) => {
      before(o);
      return venue.submit(o);
    },
    cancel: (id, asset) => venue.cancel(id, asset),
    drain: (now) => venue.drain(now),
    snapshot: () => venue.snapshot(),
    history: (since, assets) => venue.history(since, assets),
    lookup: (id, asset) => venue.lookup(id, asset),
    close: () => venue.close(),
    ...optionalPartsOf(venue),
  };
}

export function simVenueFor(marks: LatestPrices, sim: Partial<SimVenueConfig> = {}): SimVenue {
  return new SimVenue(sim, marks, seededRandom(sim.seed ?? 1));
}

export async function runReplay(o: ReplayOptions): Promise<ReplayResult> {
  const account = new AccountProjection(o.initialCapital);
  const marks = new LatestPrices();
  const venue = o.venue ? await o.venue(marks) : simVenueFor(marks, o.sim);
  const summary = new RunSummary(o.initialCapital);
  const pipeline = new Pipeline({
    strategy: o.strategy,
    venue,
    account,
    marks,
    namespace: o.namespace,
    sink: fanOut([summary.sink, ...(o.sinks ?? [])]),
  });
  const { batches, bytesRead } =
    o.readLines === 'worker'
      ? readScanLinesInWorker(o.dataPath, { v8Flags: o.v8Flags })
      : readScanLineBatches(o.dataPath);
  let count = 0;
  let unsettled = 0;
  const settle = async (ts: number) => {
    if (!(await pipeline.settle(ts))) unsettled += 1;
  };
  try {
    for await (const batch of batches) {
      for (const line of batch) {
        const where = `${o.dataPath}:${line.lineNo}`;
        const parseError = line.parseError;
        // process() answers without a promise when the scan waited for nothing: no await then.
        const processing =
          parseError !== undefined ? pipeline.refuse(where, parseError) : pipeline.process(line.value, where);
        const result = processing instanceof Promise ? await processing : processing;
        if (!result.accepted && o.strict) throw new StrictReplayStop(`${where}: ${result.reason}`);
        if (o.realTimeVenue && result.accepted) await settle(pipeline.lastTs);
        count += 1;
        if (o.onProgress && (count & 1023) === 0) o.onProgress({ lines: count, bytes: bytesRead() });
        if (o.between) await o.between(pipeline, 0);
        const waiting = o.room?.();
        if (waiting) await waiting;
      }
    }
    if (o.realTimeVenue) await settle(pipeline.lastTs);
    if (o.flattenAtEnd && pipeline.kernel.hasTrade) {
      await pipeline.flatten(pipeline.lastTs + 1000);
      if (o.realTimeVenue) await settle(pipeline.lastTs + 1000);
    }
    await pipeline.finish();
  } finally {
    await venue.close();
  }
  o.onProgress?.({ lines: count, bytes: bytesRead() });
  return { summary: summary.data, pipeline, account, unsettled };
}
