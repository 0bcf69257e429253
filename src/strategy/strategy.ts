/**
 * The Strategy port. The reference algorithm `blue-v7-ref` implements it; an
 * operator's exact BLUE port plugs in through the same interface (by module path)
 * and is proven with `pink parity`.
 */
import type { Decision } from '../domain/decision.js';
import type { OverrideKind } from '../domain/events.js';
import type { Scan } from '../domain/scan.js';

export interface StrategyContext {
  /** Current account capital (for sizing only; decisions never depend on fills). */
  readonly capital: number;
}

/** A position the venue holds that the strategy did not open (start-up recovery). */
export interface AdoptedTrade {
  readonly tradeId: string;
  readonly asset: string;
  readonly side: 'SHORT' | 'LONG';
  readonly leverage: number;
  readonly entryReferencePrice: number;
}

export interface Strategy {
  readonly name: string;
  /** Frozen parameters; hashed into every report. */
  readonly params: Readonly<Record<string, unknown>>;
  /**
   * The decision for one scan. In-process strategies answer at once; a strategy in another
   * process (process-strategy.ts) answers with a promise, which the pipeline waits for.
   */
  decide(scan: Scan, ctx: StrategyContext): Decision | Promise<Decision>;
  /** A venue fact overrides the strategy's slot memory (ALGORITHM.md §3), for `tradeId` only. */
  override(kind: OverrideKind, tradeId: string): void;
  /** Takes over a recovered venue position. */
  adopt(trade: AdoptedTrade): void;
  /** The id of the trade the strategy believes is open, if any. */
  openTradeId(): string | null;
  /** JSON-able memory, so a restarted runtime resumes the same slot and cooldown. */
  saveState(): unknown;
  restoreState(state: unknown): void;
  /** Releases what the strategy holds (a child process); absent when nothing. */
  close?(): Promise<void>;
}

/** What a strategy module must export: `export function createStrategy(params?): Strategy`. */
export type StrategyFactory = (params?: Record<string, unknown>) => Strategy;
