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

/** bingx-sim: how long a drain waits for the simulator's ticker to reach the venue, ms. */
const QUOTE_WAIT_MS = 250;

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
    return price;
  };
  const held = new Set<string>();
  const universe = new Set(c.assets ?? []);
  /**
   * The simulator's market is the scans': each scan moves every mark, which the simulator
   * pushes on its ticker stream. The venue's quote (an order's arrival price) is the market
   * the order meets only once that push has come, so the drain waits for it (briefly: a
   * subscription still starting up, or streams off, is not waited for beyond QUOTE_WAIT_MS).
   */
  const followMarket = async () => {
    const moved: Array<[string, number]> = [];
    for (const asset of new Set([...universe, ...held])) {
      const before = venue.quote(asset)?.price;
      const price = followMark(asset);
      if (price !== undefined && price !== before) moved.push([asset, price]);
    }
    if (moved.length === 0 || !venue.streamHealth().enabled) return;
    const deadline = Date.now() + QUOTE_WAIT_MS;
    while (Date.now() < deadline && !moved.every(([a, p]) => venue.quote(a)?.price === p))
      await new Promise((r) => setTimeout(r, 1));
  };
  const wrapped: VenuePort & { streamHealth(): BingxStreamHealth } = {
    name: 'bingx-sim',
    submit: async (order) => {
      followMark(order.asset);
      held.add(order.asset);
      return venue.submit(order);
    },
    cancel: (id, asset) => venue.cancel(id, asset),
    drain: async (now) => {
      await followMarket();
      return venue.drain(now);
    },
    quote: (asset) => venue.quote(asset),
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
