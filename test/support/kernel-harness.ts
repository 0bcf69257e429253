/** A kernel wired to a real sim venue on a virtual clock, for tests. */

import { SimVenue, type SimVenueConfig } from '../../src/adapters/sim/sim-venue.js';
import { AccountProjection } from '../../src/domain/account.js';
import type { ExitReason } from '../../src/domain/decision.js';
import type { CanonicalEvent, OverrideKind } from '../../src/domain/events.js';
import { seededRandom } from '../../src/domain/random.js';
import { DEFAULT_KERNEL_CONFIG, ExecutionKernel } from '../../src/execution/kernel.js';
import { FactNormalizer } from '../../src/execution/normalizer.js';

export const EXACT_SIM: Partial<SimVenueConfig> = {
  latencyMs: 0,
  ackMs: 0,
  feeRate: 0,
  slippageBps: 0,
  slippageJitterBps: 0,
};

export class KernelHarness {
  readonly events: CanonicalEvent[] = [];
  readonly overrides: Array<{ kind: OverrideKind; tradeId: string }> = [];
  readonly prices = new Map<string, number>();
  readonly venue: SimVenue;
  readonly account: AccountProjection;
  readonly kernel: ExecutionKernel;
  readonly normalizer = new FactNormalizer();
  now = 1_747_742_400_000;

  constructor(sim: Partial<SimVenueConfig> = EXACT_SIM, capital = 25_000) {
    this.account = new AccountProjection(capital);
    this.venue = new SimVenue(sim, { price: (a) => this.prices.get(a) }, seededRandom(sim.seed ?? 7));
    this.kernel = new ExecutionKernel(
      this.venue,
      this.account,
      {
        emit: (e) => this.events.push(e),
        override: (kind, tradeId) => this.overrides.push({ kind, tradeId }),
        mono: () => BigInt(this.now) * 1_000_000n,
      },
      { ...DEFAULT_KERNEL_CONFIG, strategy: 'pink' },
    );
  }

  async settle(advanceMs = 0): Promise<void> {
    this.now += advanceMs;
    const facts = this.normalizer.normalize(await this.venue.drain(this.now), this.now);
    await this.kernel.applyFacts(facts, this.now);
    await this.kernel.tick(this.now);
  }

  async enter(tradeId: string, asset: string, size: number, price: number, legRatios = [0.5, 0.5]) {
    this.prices.set(asset, price);
    const out = await this.kernel.handleIntent(
      {
        kind: 'ENTER',
        tradeId,
        scan: 1,
        ts: this.now,
        asset,
        side: 'SHORT',
        leverage: 2,
        targetSize: size,
        referencePrice: price,
        legRatios,
      },
      this.now,
    );
    await this.settle();
    return out;
  }

  async exit(
    tradeId: string,
    asset: string,
    fraction: number,
    final: boolean,
    reason: ExitReason,
    price: number,
  ) {
    this.prices.set(asset, price);
    const out = await this.kernel.handleIntent(
      { kind: 'EXIT', tradeId, scan: 2, ts: this.now, asset, reason, fraction, final, referencePrice: price },
      this.now,
    );
    await this.settle();
    return out;
  }

  of<T extends CanonicalEvent['type']>(type: T): Extract<CanonicalEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<CanonicalEvent, { type: T }> => e.type === type);
  }
}
