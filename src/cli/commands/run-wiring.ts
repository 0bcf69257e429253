/**
 * Composition root of `pink run`: builds the adapters the configuration asks for
 * (ledger, state bus, metrics, venue, live source) and hands the runtime its sinks
 * and idle jobs. Everything here is wiring; behaviour lives in app/ and adapters/.
 */
import type { PinkConfig } from '../../app/config.js';
import type { LatestPrices } from '../../app/pipeline.js';
import type { Runtime, ScanInput } from '../../app/runtime.js';
import type { EventSink } from '../../domain/events.js';
import type { Namespace } from '../../domain/namespaces.js';
import type { VenuePort } from '../../domain/venue.js';

export interface RunParts {
  readonly sinks: EventSink[];
  readonly onIdle: Array<(rt: Runtime) => Promise<void>>;
  liveSource(cfg: PinkConfig): AsyncIterable<ScanInput>;
  /** null = the default sim venue. */
  makeVenue(marks: LatestPrices): Promise<VenuePort> | VenuePort | null;
  ready(rt: Runtime): Promise<void>;
  close(): Promise<void>;
}

export interface WiringContext {
  readonly cfg: PinkConfig;
  readonly ns: Namespace;
  readonly runDir: string;
  readonly log: (m: string) => void;
}

export async function wireRunParts(ctx: WiringContext): Promise<RunParts> {
  const closers: Array<() => Promise<void>> = [];
  return {
    sinks: [],
    onIdle: [],
    liveSource: () => {
      throw new Error(`no live scan source wired yet for ${ctx.ns.strategy}: pass --data FILE`);
    },
    makeVenue: () => null,
    ready: async () => {},
    close: async () => {
      for (const c of closers.reverse()) await c();
    },
  };
}
