/**
 * Account-event volume control (DESIGN.md §7). BLUE-style polling wrote ~7 GB/day of
 * account_events; PINK writes a row only when a field moved beyond its tolerance since
 * the last written row, no more often than the minimum interval, and within a cap
 * averaged over fixed windows. Changes of position, capital or open notional are never
 * suppressed: they bypass the interval and the cap (and may push a window over it, which
 * is what the alert is for). Pure: the caller passes the clock.
 */
import type { AccountSnapshot } from './account.js';

export type AccountTable = 'account_events' | 'account_events_debug';

/** The snapshot fields the control compares, field by field. */
export const TRACKED_FIELDS = [
  'capital',
  'positionQty',
  'openNotional',
  'openPositions',
  'equity',
  'leverage',
  'realizedPnl',
  'fees',
  'funding',
  'adjustments',
] as const satisfies readonly (keyof AccountSnapshot)[];

export type TrackedField = (typeof TRACKED_FIELDS)[number];

/** Fields whose change is always written, whatever the interval or the cap. */
export const NEVER_SUPPRESSED: readonly TrackedField[] = [
  'capital',
  'positionQty',
  'openNotional',
  'openPositions',
];

/** A change is material when |new - old| > max(abs, rel * |old|). */
export interface Tolerance {
  readonly abs?: number;
  readonly rel?: number;
}

export interface AccountVolumeConfig {
  readonly minIntervalMs: number;
  readonly capRowsPerSec: number;
  readonly windowMs: number;
  /** Alert when the cap is exceeded in more than this many consecutive windows. */
  readonly alertAfterWindows: number;
  /** Debug mode: every snapshot also goes to account_events_debug. */
  readonly debug: boolean;
  readonly tolerances: Readonly<Record<TrackedField, Tolerance>>;
}

export const DEFAULT_TOLERANCES: Readonly<Record<TrackedField, Tolerance>> = {
  capital: { abs: 1e-6 },
  positionQty: { abs: 1e-12 },
  openNotional: { abs: 1e-6 },
  openPositions: { abs: 0 },
  equity: { rel: 1e-4 },
  leverage: { abs: 1e-3 },
  realizedPnl: { abs: 1e-6 },
  fees: { abs: 1e-6 },
  funding: { abs: 1e-6 },
  adjustments: { abs: 1e-6 },
};

export const DEFAULT_ACCOUNT_VOLUME: AccountVolumeConfig = {
  minIntervalMs: 2000,
  capRowsPerSec: 5,
  windowMs: 15 * 60_000,
  alertAfterWindows: 3,
  debug: false,
  tolerances: DEFAULT_TOLERANCES,
};

export interface VolumeDecision {
  readonly write: boolean;
  /** The first table that gets the row (account_events when it is written there). */
  readonly table: AccountTable;
  /** Every table that gets the row (debug mode adds account_events_debug). */
  readonly tables: readonly AccountTable[];
  /** Why: `first`, `material: f1,f2`, `never-suppressed: f1`, or the suppression reason. */
  readonly reason: string;
  /** Set when this offer raised the cap alert. */
  readonly alert?: string;
}

export type SuppressReason = 'unchanged' | 'min_interval' | 'cap';

export interface VolumeCounters {
  readonly offered: number;
  readonly written: number;
  readonly writtenDebug: number;
  readonly suppressed: Readonly<Record<SuppressReason, number>>;
  readonly alerts: number;
  /** Windows in which the cap was exceeded (never-suppressed rows can do that). */
  readonly windowsOverCap: number;
}

function exceeds(tol: Tolerance, before: number, after: number): boolean {
  const limit = Math.max(tol.abs ?? 0, (tol.rel ?? 0) * Math.abs(before));
  return Math.abs(after - before) > limit;
}

/** The tracked fields that moved beyond tolerance between two snapshots. */
export function materialChanges(
  before: AccountSnapshot,
  after: AccountSnapshot,
  tolerances: Readonly<Record<TrackedField, Tolerance>> = DEFAULT_TOLERANCES,
): TrackedField[] {
  return TRACKED_FIELDS.filter((f) => exceeds(tolerances[f], before[f], after[f]));
}

export class AccountVolumeControl {
  readonly config: AccountVolumeConfig;
  private last: AccountSnapshot | null = null;
  private lastWriteMs = Number.NEGATIVE_INFINITY;
  private window = Number.NaN;
  private windowRows = 0;
  private windowOver = false;
  /** Consecutive windows over the cap, the current one included once it is over. */
  private streak = 0;
  private counts = {
    offered: 0,
    written: 0,
    writtenDebug: 0,
    suppressed: { unchanged: 0, min_interval: 0, cap: 0 } as Record<SuppressReason, number>,
    alerts: 0,
    windowsOverCap: 0,
  };

  constructor(config: Partial<AccountVolumeConfig> = {}) {
    this.config = {
      ...DEFAULT_ACCOUNT_VOLUME,
      ...config,
      tolerances: { ...DEFAULT_TOLERANCES, ...config.tolerances },
    };
    if (!(this.config.capRowsPerSec > 0))
      throw new Error(`capRowsPerSec must be > 0, got ${config.capRowsPerSec}`);
    if (!(this.config.windowMs > 0)) throw new Error(`windowMs must be > 0, got ${config.windowMs}`);
  }

  /** Rows allowed per window: capRowsPerSec averaged over windowMs. */
  get windowBudget(): number {
    return Math.floor((this.config.capRowsPerSec * this.config.windowMs) / 1000);
  }

  counters(): VolumeCounters {
    return { ...this.counts, suppressed: { ...this.counts.suppressed } };
  }

  offer(snapshot: AccountSnapshot, _cause: string, nowMs: number): VolumeDecision {
    this.counts.offered += 1;
    this.rollWindow(nowMs);
    const verdict = this.judge(snapshot, nowMs);
    if (!verdict.write) {
      this.counts.suppressed[verdict.reason as SuppressReason] += 1;
      return this.decide(false, verdict.reason);
    }
    this.last = snapshot;
    this.lastWriteMs = Math.max(this.lastWriteMs, nowMs);
    this.windowRows += 1;
    this.counts.written += 1;
    return this.decide(true, verdict.reason, this.checkCap());
  }

  private judge(s: AccountSnapshot, nowMs: number): { write: boolean; reason: string } {
    if (!this.last) return { write: true, reason: 'first' };
    const changed = materialChanges(this.last, s, this.config.tolerances);
    if (changed.length === 0) return { write: false, reason: 'unchanged' };
    const critical = changed.filter((f) => NEVER_SUPPRESSED.includes(f));
    if (critical.length > 0) return { write: true, reason: `never-suppressed: ${changed.join(',')}` };
    if (nowMs - this.lastWriteMs < this.config.minIntervalMs) return { write: false, reason: 'min_interval' };
    if (this.windowRows >= this.windowBudget) return { write: false, reason: 'cap' };
    return { write: true, reason: `material: ${changed.join(',')}` };
  }

  private decide(write: boolean, reason: string, alert?: string): VolumeDecision {
    const tables: AccountTable[] = write ? ['account_events'] : [];
    if (this.config.debug) {
      tables.push('account_events_debug');
      this.counts.writtenDebug += 1;
    }
    const out = { write: tables.length > 0, table: tables[0] ?? 'account_events', tables, reason };
    return alert ? { ...out, alert } : out;
  }

  private rollWindow(nowMs: number): void {
    const w = Math.floor(nowMs / this.config.windowMs);
    if (w === this.window || w < this.window) return;
    const consecutive = w === this.window + 1 && this.windowOver;
    if (!consecutive) this.streak = 0;
    this.window = w;
    this.windowRows = 0;
    this.windowOver = false;
  }

  /** Counts the current window once it goes over the cap; alerts past the streak limit. */
  private checkCap(): string | undefined {
    if (this.windowOver || this.windowRows <= this.windowBudget) return undefined;
    this.windowOver = true;
    this.streak += 1;
    this.counts.windowsOverCap += 1;
    if (this.streak <= this.config.alertAfterWindows) return undefined;
    this.counts.alerts += 1;
    return `account_events over the cap of ${this.config.capRowsPerSec} rows/s for ${this.streak} consecutive ${this.config.windowMs / 60_000}-minute windows`;
  }
}
