/**
 * Row mappers: canonical events -> ClickHouse rows (column names of schema/clickhouse).
 * Stateless; events that need the trade's history (orders, fills, funding, corrections,
 * overrides, refusals) become rows through the TradeStoryCollector instead
 * (execution/trade-story.ts), whose records `storyOutputRow` maps here.
 * Account events map to account_events here, but whether (and where) they are written
 * is the volume control's call, not the mapper's.
 */
import { createHash } from 'node:crypto';
import type { AccountSnapshot } from '../../domain/account.js';
import type { CanonicalEvent } from '../../domain/events.js';
import { EXIT_LEG_COLUMNS, type ExitLegRow } from '../../domain/exit-legs.js';
import type { StoryOutput } from '../../execution/trade-story.js';
import type { Row } from '../../ports/ledger.js';

export interface MappedRow {
  readonly table: string;
  readonly row: Row;
}

/** Where the row sits in this process run's event order. */
export interface RowContext {
  readonly eventSeq: number;
  readonly runId: string;
}

const NO_CONTEXT: RowContext = { eventSeq: 0, runId: '' };

const DAY_MS = 86_400_000;
/** Years 0000-9999: where the ISO text has four year digits and arithmetic formatting holds. */
const FORMATTABLE_MS = [-62_167_219_200_000, 253_402_300_800_000] as const;
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

// Pure caches: the last instant formatted (the rows of one scan share it) and the last day.
let lastTsMs = Number.NaN;
let lastTsText = '';
let lastDay = Number.NaN;
let lastDayText = '';

/** Epoch ms -> `YYYY-MM-DD hh:mm:ss.mmm` (UTC), what DateTime64(3, 'UTC') reads unambiguously. */
export function chTs(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`timestamp is not a finite epoch ms: ${ms}`);
  const t = Math.round(ms);
  if (t === lastTsMs) return lastTsText;
  if (t < FORMATTABLE_MS[0] || t >= FORMATTABLE_MS[1])
    return new Date(t).toISOString().replace('T', ' ').replace('Z', '');
  // Date and toISOString cost ~1 us a call (a tenth of replay's row mapping): the day's
  // text is formatted once, the time of day by arithmetic.
  const day = Math.floor(t / DAY_MS);
  if (day !== lastDay) {
    lastDayText = `${new Date(day * DAY_MS).toISOString().slice(0, 10)} `;
    lastDay = day;
  }
  const msOfDay = t - day * DAY_MS;
  const seconds = Math.floor(msOfDay / 1000);
  const minutes = Math.floor(seconds / 60);
  lastTsText = `${lastDayText}${TWO_DIGITS[Math.floor(minutes / 60)]}:${TWO_DIGITS[minutes % 60]}:${TWO_DIGITS[seconds % 60]}.${THREE_DIGITS[msOfDay % 1000]}`;
  lastTsMs = t;
  return lastTsText;
}

/** As chTs, or null for "never happened" (Nullable columns). */
export function chTsOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined || ms <= 0 ? null : chTs(ms);
}

/** Epoch ms back from a DateTime64(3, 'UTC') text value. */
export function msFromChTs(text: string): number {
  return Date.parse(`${text.replace(' ', 'T')}Z`);
}

/** Short, stable hash of what makes an account state different (positions, capital, notional). */
export function accountFingerprint(s: AccountSnapshot): string {
  const key = [s.capital, s.positionQty, s.openNotional, s.openPositions, s.equity, s.leverage]
    .map((v) => v.toFixed(6))
    .join('|');
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export function accountRow(s: AccountSnapshot, cause: string, ts: number, writeReason = ''): Row {
  return {
    ts: chTs(ts),
    capital: s.capital,
    equity: s.equity,
    open_notional: s.openNotional,
    leverage: s.leverage,
    open_positions: s.openPositions,
    position_qty: s.positionQty,
    avg_entry_price: s.avgEntryPrice,
    mark_price: s.markPrice,
    realized_pnl: s.realizedPnl,
    unrealized_pnl: s.unrealizedPnl,
    fees: s.fees,
    funding: s.funding,
    adjustments: s.adjustments,
    fingerprint: accountFingerprint(s),
    cause,
    write_reason: writeReason,
  };
}

/** Exactly the trade_exit_legs columns, in EXIT_LEG_COLUMNS order. */
export function exitLegRow(leg: ExitLegRow): Row {
  const row: Row = {};
  for (const c of EXIT_LEG_COLUMNS) row[c] = c === 'ts' ? chTs(leg.ts) : leg[c];
  return row;
}

function body(event: CanonicalEvent): MappedRow | null {
  switch (event.type) {
    case 'decision': {
      const r = event.record;
      return {
        table: 'v7_decision_events',
        row: {
          ts: chTs(r.ts),
          scan: r.scan,
          fired: r.fired,
          action: r.action,
          asset: r.asset,
          side: r.side,
          leverage: r.leverage,
          reason: r.reason,
          bars_held: r.bars_held,
          decision_hash: event.decisionHash,
          chain_hash: event.chainHash,
        },
      };
    }
    case 'lifecycle':
      return {
        table: 'position_state',
        row: {
          ts: chTs(event.ts),
          trade_id: event.tradeId,
          state: event.state,
          asset: event.asset,
          side: event.side,
          size: event.size,
          client_order_id: event.clientOrderId,
          exchange_order_id: event.exchangeOrderId,
          detail: event.detail,
        },
      };
    case 'trade_closed': {
      const t = event.trade;
      return {
        table: 'trade_events',
        row: {
          ts: chTs(event.ts),
          trade_id: t.tradeId,
          asset: t.asset,
          side: t.side,
          entry_ts: chTs(t.entryTs),
          exit_ts: chTs(t.exitTs),
          entry_price: t.entryPrice,
          exit_price: t.exitPrice,
          size: t.size,
          leverage: t.leverage,
          pnl: t.pnl,
          fees: t.fees,
          funding: t.funding,
          net_pnl: t.pnl - t.fees - t.funding,
          exit_reason: t.exitReason,
          bars_held: t.barsHeld,
          capital_after: t.capitalAfter,
          legs: t.legs,
        },
      };
    }
    case 'account':
      return { table: 'account_events', row: accountRow(event.snapshot, event.cause, event.ts) };
    case 'shadow_exit':
      return {
        table: 'adaptive_exit_shadow',
        row: {
          ts: chTs(event.ts),
          trade_id: event.tradeId,
          scan: event.scan,
          asset: event.asset,
          bars_held: event.barsHeld,
          price: event.price,
          move_bps: event.moveBps,
          peak_move_bps: event.peakMoveBps,
          shadow_action: event.shadowAction,
          shadow_reason: event.shadowReason,
        },
      };
    case 'status':
      return {
        table: 'status_snapshots',
        row: {
          ts: chTs(event.ts),
          kind: 'TICK',
          capital: event.capital,
          equity: event.equity,
          capital_delta: 0,
          command_id: '',
          posture: event.posture,
          trades_executed: event.tradesExecuted,
          open_trade_id: event.openTradeId,
          heartbeat_age_ms: Math.max(0, Math.round(event.heartbeatAgeMs)),
          last_scan: event.lastScan,
          // The column's DEFAULT, given: a row that names every column is encoded as queued.
          detail: '',
        },
      };
    case 'strategy_health':
      // A change of the strategy's health: on the status path with its reason, never a capital change.
      return {
        table: 'status_snapshots',
        row: {
          ts: chTs(event.ts),
          kind: `STRATEGY_${event.state}`,
          capital: event.capital,
          equity: event.equity,
          capital_delta: 0,
          command_id: '',
          posture: 'PAUSED',
          trades_executed: 0,
          open_trade_id: '',
          heartbeat_age_ms: 0,
          last_scan: event.scan,
          detail: event.reason,
        },
      };
    case 'capital_adjusted':
      // An operator capital change is a point on the capital path: capital replay adds its delta.
      return {
        table: 'status_snapshots',
        row: {
          ts: chTs(event.ts),
          kind: event.kind,
          capital: event.capital,
          equity: event.capital,
          capital_delta: event.delta,
          command_id: event.commandId,
          posture: '',
          trades_executed: 0,
          open_trade_id: '',
          heartbeat_age_ms: 0,
          last_scan: -1,
          detail: '',
        },
      };
    default:
      // scan_rejected is counted by the pipeline; order, fill, funding, correction,
      // strategy_override and intent_refused go through the TradeStoryCollector.
      return null;
  }
}

/** status_snapshots kinds that change capital (capital replay adds their delta). */
export const CAPITAL_CHANGE_KINDS: ReadonlySet<string> = new Set(['SET_CAPITAL', 'CAPITAL_UPDATE']);

/** Every table of the ledger (DESIGN.md §5), in the order reports list them. */
export const LEDGER_TABLES = [
  'v7_decision_events',
  'position_state',
  'trade_events',
  'trade_exit_legs',
  'trade_reconstruction',
  'account_events',
  'account_events_debug',
  'status_snapshots',
  'adaptive_exit_shadow',
  'execution_quality',
] as const;

/** Tables with the run bookkeeping columns (all but trade_exit_legs, whose column set is fixed). */
export const WITH_RUN_COLUMNS: ReadonlySet<string> = new Set(
  LEDGER_TABLES.filter((t) => t !== 'trade_exit_legs'),
);

/**
 * Adds strategy, run_id and event_seq to a row of a table that has them. In place: every
 * row is built fresh for one event (a row written to two tables gets the same stamp),
 * and copying it cost more than mapping it.
 */
export function stamp(table: string, row: Row, strategy: string, ctx: RowContext): Row {
  if (!WITH_RUN_COLUMNS.has(table)) return row;
  row.strategy = strategy;
  row.run_id = ctx.runId;
  row.event_seq = ctx.eventSeq;
  return row;
}

/** A trade story or execution-quality record as its row: timestamps become ClickHouse text. */
export function storyOutputRow(out: StoryOutput): MappedRow {
  if (out.kind === 'trade_story') {
    const r = out.record;
    const row = { ...r, ts: chTs(r.ts), entry_ts: chTsOrNull(r.entry_ts), exit_ts: chTsOrNull(r.exit_ts) };
    return { table: 'trade_reconstruction', row };
  }
  const q = out.record;
  const row = {
    ...q,
    ts: chTs(q.ts),
    requested_ts: chTs(q.requested_ts),
    submit_ts: chTsOrNull(q.submit_ts),
    ack_ts: chTsOrNull(q.ack_ts),
    done_ts: chTsOrNull(q.done_ts),
    exchange_first_fill_ts: chTsOrNull(q.exchange_first_fill_ts),
    exchange_last_fill_ts: chTsOrNull(q.exchange_last_fill_ts),
    exchange_ack_ts: chTsOrNull(q.exchange_ack_ts),
  };
  return { table: 'execution_quality', row };
}

/** The stateless rows of one canonical event (none for the events the collector handles). */
export function rowsFromEvent(
  event: CanonicalEvent,
  strategy: string,
  ctx: RowContext = NO_CONTEXT,
): MappedRow[] {
  if (event.type === 'exit_leg') return [{ table: 'trade_exit_legs', row: exitLegRow(event.row) }];
  const mapped = body(event);
  return mapped ? [{ table: mapped.table, row: stamp(mapped.table, mapped.row, strategy, ctx) }] : [];
}

/**
 * Operator capital rows, one per command: a command re-applied after a crash between its
 * ledger row and its journal checkpoint has two rows; the later one is the change that
 * held (its delta is from the capital the restarted runtime had). Rows without a command
 * id are all kept. Order is kept.
 */
export function oncePerCommand<T extends { readonly command_id: string }>(rows: readonly T[]): T[] {
  const lastAt = new Map<string, number>();
  rows.forEach((r, i) => {
    if (r.command_id !== '') lastAt.set(r.command_id, i);
  });
  return rows.filter((r, i) => r.command_id === '' || lastAt.get(r.command_id) === i);
}
