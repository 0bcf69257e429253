/**
 * Venue selection: `sim` (in-process), `bingx-sim` (ccxt against the loopback
 * BingX-protocol simulator, whose marks follow the scans), `bingx` (ccxt, VST
 * unless mainnet is explicitly allowed). The engine never sees which one it got.
 */
import { randomBytes } from 'node:crypto';
import { type BingxStreamHealth, createBingxVenue } from '../adapters/bingx/ccxt-venue.js';
import { assetToSymbol } from '../adapters/bingx/normalize.js';
import { type SimContract, startBingxSim } from '../adapters/bingx/sim-server.js';
import { readScanLines } from '../adapters/files/scan-lines.js';
import type { SimVenueConfig } from '../adapters/sim/sim-venue.js';
import { validateScan } from '../domain/scan.js';
import type { VenuePort } from '../domain/venue.js';
import type { LatestPrices } from './pipeline.js';
import { simVenueFor } from './replay.js';

export type VenueKind = 'sim' | 'bingx-sim' | 'bingx';

export interface VenueChoice {
  readonly kind: VenueKind;
  readonly sim?: Partial<SimVenueConfig>;
  /** Assets the run will trade (bingx-sim lists them as contracts). */
  readonly assets?: readonly string[];
  /** Poll cadence for the ccxt venues, ms. */
  readonly pollMs?: number;
  /** ccxt venues: watch the private websocket streams to poll at once on updates (default true). */
  readonly streams?: boolean;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly log?: (line: string) => void;
  /** bingx: a loopback BingX-protocol simulator instead of the exchange (VST only). */
  readonly baseUrl?: string;
}

/** A venue that answers in wall-clock time: replays wait for it after each order. */
export interface VenueHandle {
  readonly venue: VenuePort;
  readonly realTime: boolean;
}

/** The symbols of the first valid scan of a file (the contracts a bingx-sim replay lists). */
export async function assetsOf(path: string): Promise<string[]> {
  const { lines } = readScanLines(path);
  for await (const line of lines) {
    const check = validateScan(line.value, null);
    if (check.ok) {
      await lines.return(undefined);
      return Object.keys(check.scan.assets);
    }
  }
  return [];
}

/** A BingX-simulator contract for any asset (fine precision, BingX's fees). */
export function genericContract(asset: string): SimContract {
  return {
    symbol: assetToSymbol(asset),
    quantityPrecision: 6,
    pricePrecision: 8,
    tradeMinQuantity: 0.000001,
    tradeMinUSDT: 2,
    takerFeeRate: 0.0005,
    makerFeeRate: 0.0002,
    maxLeverage: 125,
  };
}

export async function createVenue(c: VenueChoice, marks: LatestPrices): Promise<VenueHandle> {
  if (c.kind === 'sim') return { venue: simVenueFor(marks, c.sim), realTime: false };
  const pollMs = c.pollMs ?? (c.kind === 'bingx-sim' ? 50 : 1000);
  const cadence = {
    ordersPollMs: pollMs,
    positionsPollMs: pollMs,
    accountPollMs: pollMs * 2,
    ...(c.streams !== undefined ? { streams: c.streams } : {}),
  };
  if (c.kind === 'bingx') {
    const venue = await createBingxVenue({
      environment: c.env ?? process.env,
      assets: c.assets,
      log: c.log,
      ...(c.baseUrl ? { baseUrl: c.baseUrl, rateLimitMs: 1, fillGraceMs: 200 } : {}),
      ...cadence,
    });
    return { venue, realTime: true };
  }
  // bingx-sim: a private simulator on loopback with throw-away credentials.
  const apiKey = randomBytes(16).toString('hex');
  const apiSecret = randomBytes(32).toString('hex');
  const sim = await startBingxSim({
    apiKey,
    apiSecret,
    contracts: (c.assets ?? []).map(genericContract),
    balance: 1_000_000,
  });
  const venue = await createBingxVenue({
    environment: { DOLPHIN_BINGX_ENV: 'VST', BINGX_API_KEY: apiKey, BINGX_API_SECRET: apiSecret },
    baseUrl: sim.url,
    assets: c.assets,
    log: c.log,
    rateLimitMs: 1,
    fillGraceMs: 200,
    ...cadence,
  });
  const followMark = (asset: string) => {
    const price = marks.price(asset);
    if (price !== undefined) sim.control.setMark(assetToSymbol(asset), price);
  };
  const held = new Set<string>();
  const wrapped: VenuePort & { streamHealth(): BingxStreamHealth } = {
    name: 'bingx-sim',
    submit: async (order) => {
      followMark(order.asset);
      held.add(order.asset);
      return venue.submit(order);
    },
    cancel: (id, asset) => venue.cancel(id, asset),
    drain: async (now) => {
      for (const asset of held) followMark(asset);
      return venue.drain(now);
    },
    snapshot: () => venue.snapshot(),
    history: (since, assets) => venue.history(since, assets),
    lookup: (id, asset) => venue.lookup(id, asset),
    streamHealth: () => venue.streamHealth(),
    close: async () => {
      await venue.close();
      await sim.close();
    },
  };
  return { venue: wrapped, realTime: true };
}
