/**
 * Event normalization: the thin return channel between venue facts and the kernel.
 * Drops duplicate callbacks by exchange id, keeps one terminal state per order, and
 * passes a position only when the venue's view changed. No policy lives here.
 */
import { BoundedSet } from '../domain/bounded-set.js';
import type { VenueFact } from '../domain/venue.js';

export interface NormalizerStats {
  readonly passed: number;
  readonly duplicates: number;
}

export class FactNormalizer {
  private readonly seen: BoundedSet;
  private readonly positions = new Map<string, { qty: number; ts: number }>();
  private passed = 0;
  private duplicates = 0;

  constructor(limit = 200_000) {
    this.seen = new BoundedSet(limit);
  }

  normalize(facts: readonly VenueFact[]): VenueFact[] {
    const out: VenueFact[] = [];
    for (const fact of facts) {
      if (this.accept(fact)) {
        out.push(fact);
        this.passed += 1;
      } else {
        this.duplicates += 1;
      }
    }
    return out;
  }

  stats(): NormalizerStats {
    return { passed: this.passed, duplicates: this.duplicates };
  }

  private accept(fact: VenueFact): boolean {
    switch (fact.kind) {
      case 'fill':
        return this.seen.add(`fill:${fact.fillId}`);
      case 'ack':
        return this.seen.add(`ack:${fact.clientOrderId}`);
      case 'reject':
        return this.seen.add(`done:${fact.clientOrderId}`);
      case 'order_done':
        // One terminal state per order: a late CANCELLED after FILLED is a duplicate.
        return this.seen.add(`done:${fact.clientOrderId}`);
      case 'funding':
        return this.seen.add(`funding:${fact.id}`);
      case 'anomaly':
        return this.seen.add(`anomaly:${fact.key}`);
      case 'position': {
        // A stale report (older than the last one seen) never overrides a newer view.
        const before = this.positions.get(fact.asset);
        if (before && (before.qty === fact.qty || fact.ts < before.ts)) return false;
        this.positions.set(fact.asset, { qty: fact.qty, ts: fact.ts });
        return true;
      }
    }
  }
}
