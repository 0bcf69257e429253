/** A replay of synthetic scans through blue-v7-ref and the sim venue, ending flat, for tests that measure its orders. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimVenueConfig } from '../../src/adapters/sim/sim-venue.js';
import { runReplay } from '../../src/app/replay.js';
import { syntheticScanLines } from '../../src/app/simtest/synthetic-scans.js';
import type { EventSink } from '../../src/domain/events.js';
import { loadStrategy } from '../../src/strategy/loader.js';

export async function replaySynthetic(o: {
  readonly dir: string;
  readonly scans: number;
  readonly seed: number;
  readonly badLines?: Map<number, string>;
  readonly sim: Partial<SimVenueConfig>;
  readonly sinks: readonly EventSink[];
}) {
  const data = join(o.dir, `scans-${o.seed}.jsonl`);
  writeFileSync(
    data,
    `${syntheticScanLines({ scans: o.scans, seed: o.seed, badLines: o.badLines }).join('\n')}\n`,
  );
  return runReplay({
    dataPath: data,
    strategy: await loadStrategy('blue-v7-ref'),
    namespace: 'pink',
    initialCapital: 25_000,
    strict: false,
    sim: o.sim,
    sinks: o.sinks,
    flattenAtEnd: true,
  });
}
