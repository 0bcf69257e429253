/**
 * The live scan source (DESIGN.md §2): scans published by the eigen/features service
 * on the shared, read-only map `DOLPHIN_FEATURES`. PINK only subscribes and reads;
 * every value goes through the same validation as a replay line (the pipeline
 * validates it), a value that is not JSON is refused with the reason, and a
 * re-published scan (same scan number as the last one passed on) is skipped, not
 * treated as bad input.
 */
import { parseScanJson } from '../adapters/files/scan-lines.js';
import type { StateBus } from '../ports/state-bus.js';
import type { ScanInput } from './runtime.js';

export const FEATURES_MAP = 'DOLPHIN_FEATURES';

export interface FeaturesSourceOptions {
  /** The key the features service writes the latest scan under. */
  readonly key: string;
  /** Scans at or below this number were processed before a restart: skip them. */
  readonly skipThrough?: () => number | null;
  /** Scans waiting beyond this are dropped oldest-first and reported (a stalled consumer). */
  readonly maxBuffered?: number;
  readonly log?: (message: string) => void;
}

export interface FeaturesSourceStats {
  received: number;
  duplicates: number;
  dropped: number;
}

/** One input per published scan value, in publication order; ends when `signal` aborts. */
export async function* featuresScans(
  bus: StateBus,
  o: FeaturesSourceOptions,
  signal?: AbortSignal,
  stats: FeaturesSourceStats = { received: 0, duplicates: 0, dropped: 0 },
): AsyncGenerator<ScanInput> {
  const maxBuffered = o.maxBuffered ?? 1000;
  const queue: string[] = [];
  let wake: (() => void) | null = null;
  const push = (value: string) => {
    stats.received += 1;
    queue.push(value);
    if (queue.length > maxBuffered) {
      queue.shift();
      stats.dropped += 1;
      o.log?.(
        `${FEATURES_MAP}[${o.key}]: consumer behind, dropped the oldest waiting scan (${stats.dropped} so far)`,
      );
    }
    wake?.();
  };
  const unsubscribe = await bus.onMapEntry(FEATURES_MAP, (key, value) => {
    if (key === o.key && value !== null) push(value);
  });
  const current = await bus.mapGet(FEATURES_MAP, o.key);
  if (current !== null && queue.length === 0) push(current);
  const aborted = new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve()));
  let lastScan: number | null = null;
  try {
    while (!signal?.aborted) {
      const text = queue.shift();
      if (text === undefined) {
        await Promise.race([new Promise<void>((r) => (wake = r)), aborted]);
        wake = null;
        continue;
      }
      const where = `${FEATURES_MAP}[${o.key}]`;
      // The replay reader's parser: also refuses duplicate keys and integers written as fractions.
      const parsed = parseScanJson(text);
      if ('parseError' in parsed) {
        yield { value: undefined, where, parseError: parsed.parseError };
        continue;
      }
      const value = parsed.value;
      const scan = (value as { scan?: unknown } | null)?.scan;
      if (typeof scan === 'number') {
        if (scan === lastScan) {
          stats.duplicates += 1;
          continue;
        }
        const done = o.skipThrough?.() ?? null;
        if (done !== null && scan <= done) continue;
        lastScan = scan;
      }
      yield { value, where: `${where} scan ${String(scan)}` };
    }
  } finally {
    await unsubscribe();
  }
}
