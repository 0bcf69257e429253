/**
 * Event normalization: the thin return channel between venue facts and the kernel.
 * Drops duplicate callbacks by exchange id, keeps one terminal state per order, and
 * passes a position only when the venue's view changed or a fill of that asset came since
 * the last report. No policy lives here.
 */
import { WindowedSet } from '../domain/bounded-set.js';
import type { PositionFact, VenueFact } from '../domain/venue.js';

/** Fact keys the journal keeps (far more than a single-slot runtime applies between checkpoints). */
const RECENT_KEPT = 2_000;

/**
 * How long a fact's key is remembered, in the runtime's clock (virtual in a replay, wall
 * time live): far longer than any venue repeats a fact within one process (a callback sent
 * twice, a poll's overlap, a recovery's history read from the last checkpoint). A restarted
 * process knows only the journal's RECENT_KEPT keys either way.
 */
export const FACT_DEDUP_WINDOW_MS = 24 * 3_600_000;

/** Keys remembered at most, whatever the window: memory stays bounded under a burst of facts. */
export const FACT_DEDUP_MAX_KEYS = 200_000;

export interface NormalizerStats {
  readonly passed: number;
  readonly duplicates: number;
}

export class FactNormalizer {
  private readonly seen: WindowedSet;
  private readonly positions = new Map<string, { qty: number; ts: number }>();
  /** Assets with a fill let through since their last position report. */
  private readonly filledSinceReport = new Set<string>();
  private readonly recent: string[] = [];
  private next = 0;
  private passed = 0;
  private duplicates = 0;

  constructor(windowMs = FACT_DEDUP_WINDOW_MS, maxKeys = FACT_DEDUP_MAX_KEYS) {
    this.seen = new WindowedSet(windowMs, maxKeys);
  }

  /**
   * The keys of the newest facts let through (fills, order states, funding), oldest first:
   * the journal keeps them so that, after a restart, the venue's history replays only what
   * this process had not applied yet.
   */
  recentKeys(): string[] {
    return this.recent.length < RECENT_KEPT
      ? [...this.recent]
      : [...this.recent.slice(this.next), ...this.recent.slice(0, this.next)];
  }

  /** A restarted process at `now`: these were applied before the journal was written. */
  remember(keys: readonly string[], now: number): void {
    for (const key of keys) if (this.seen.add(key, now)) this.keep(key);
  }

  private keep(key: string): void {
    if (this.recent.length < RECENT_KEPT) this.recent.push(key);
    else {
      this.recent[this.next] = key;
      this.next = (this.next + 1) % RECENT_KEPT;
    }
  }

  /** The facts of `facts` not seen before, in order; `now` is the runtime's clock. */
  normalize(facts: readonly VenueFact[], now: number): VenueFact[] {
    const out: VenueFact[] = [];
    for (const fact of facts) {
      if (this.accept(fact, now)) {
        out.push(fact);
        this.passed += 1;
      } else {
        this.duplicates += 1;
      }
    }
    return out;
  }

  /** Fact keys remembered for deduplication now (bounded by the window and FACT_DEDUP_MAX_KEYS). */
  rememberedKeys(): number {
    return this.seen.size;
  }

  stats(): NormalizerStats {
    return { passed: this.passed, duplicates: this.duplicates };
  }

  private accept(fact: VenueFact, now: number): boolean {
    const key = keyOf(fact);
    if (key === null) return this.acceptPosition(fact as PositionFact);
    if (!this.seen.add(key, now)) return false;
    this.keep(key);
    if (fact.kind === 'fill') this.filledSinceReport.add(fact.asset);
    return true;
  }

  private acceptPosition(fact: PositionFact): boolean {
    // A stale report (older than the last one seen) never overrides a newer view.
    const before = this.positions.get(fact.asset);
    if (before && fact.ts < before.ts) return false;
    // The same value again says nothing, unless a fill came since: then it is the position
    // after that fill. A position opened and closed between two polls reads 0 before and
    // after; dropped, the trade would wait for its flat report forever.
    if (before && before.qty === fact.qty && !this.filledSinceReport.has(fact.asset)) return false;
    this.filledSinceReport.delete(fact.asset);
    this.positions.set(fact.asset, { qty: fact.qty, ts: fact.ts });
    return true;
  }
}

/** The identity of a fact for deduplication; null for position reports (compared by value). */
function keyOf(fact: VenueFact): string | null {
  switch (fact.kind) {
    case 'fill':
      return `fill:${fact.fillId}`;
    case 'ack':
      // A venue that acked without its own time may send it later (BingX: from the order record).
      return `ack:${fact.clientOrderId}${fact.venueTs ? ':venue-time' : ''}`;
    case 'reject':
    case 'order_done':
      // One terminal state per order: a late CANCELLED after FILLED is a duplicate.
      return `done:${fact.clientOrderId}`;
    case 'funding':
      return `funding:${fact.id}`;
    case 'anomaly':
      return `anomaly:${fact.key}`;
    case 'position':
      return null;
  }
}
