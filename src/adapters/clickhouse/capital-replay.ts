/**
 * Capital replay (DESIGN.md §5): the final capital must be reproducible from
 * status_snapshots plus trade_events deduplicated by trade_id.
 *
 * A baseline is a status tick taken while flat (no open trade), so no trade straddles
 * it. From a baseline, capital = baseline capital + net PnL (pnl - fees - funding) of
 * every trade closed after it + the deltas of operator capital changes after it.
 * `fromTrades` replays from the first baseline (the whole trade history), `fromSnapshots`
 * from the last one. The target they must both reach:
 *  - flat at the end (latest snapshot has no open trade): the live capital;
 *  - a trade still open: the capital right after the last close (that trade's
 *    capital_after), because the open trade's entry fee and partial legs are in the live
 *    capital but in no trade_events row yet. Its effect is reported as openTradeEffect.
 */
import type { LedgerStore } from '../../ports/ledger.js';
import { CAPITAL_CHANGE_KINDS, msFromChTs, oncePerCommand } from './rows.js';

export interface CapitalReplayResult {
  /** Capital from the last flat status tick onwards. */
  readonly fromSnapshots: number;
  /** Capital from the first flat status tick, through every trade since. */
  readonly fromTrades: number;
  readonly baselineTs: number;
  readonly baselineCapital: number;
  readonly trades: number;
  /** Terminal rows that were stored more than once (deduplicated here). */
  readonly duplicateTradeRows: number;
  readonly adjustments: number;
  /** Capital rows of a command re-applied after a crash before its checkpoint (the last one counts). */
  readonly duplicateCommandRows: number;
  readonly liveCapital: number | null;
  /** The open trade of the latest snapshot ('' when flat). */
  readonly openTradeId: string;
  /** What the replays are compared with: the live capital when flat, else the last close's capital_after. */
  readonly target: number | null;
  readonly targetSource: 'live_capital' | 'last_trade_capital_after' | 'none';
  /** live capital - target: what the open trade has booked so far (0 when flat). */
  readonly openTradeEffect: number | null;
  readonly diffSnapshots: number | null;
  readonly diffTrades: number | null;
  /** Both replays within `tolerance` of the target (true when there is no target). */
  readonly ok: boolean;
}

interface Point {
  readonly ts: number;
  readonly seq: number;
}

interface SnapshotRow {
  ts: string;
  event_seq: number | string;
  kind: string;
  capital: number;
  capital_delta: number;
  command_id: string;
  open_trade_id: string;
}

interface TradeRow {
  ts: string;
  event_seq: number | string;
  net: number;
  capital_after: number;
}

const after = (a: Point, b: Point) => a.ts > b.ts || (a.ts === b.ts && a.seq > b.seq);

export class CapitalReplayError extends Error {
  override name = 'CapitalReplayError';
}

export async function capitalReplay(
  ledger: Pick<LedgerStore, 'database' | 'query'>,
  opts: { liveCapital?: number; tolerance?: number } = {},
): Promise<CapitalReplayResult> {
  const db = ledger.database;
  const snaps = await ledger.query<SnapshotRow>(
    `SELECT ts, event_seq, kind, capital, capital_delta, command_id, open_trade_id FROM ${db}.status_snapshots ORDER BY ts, event_seq`,
  );
  // FINAL: one row per trade_id however often the terminal row was stored.
  const trades = await ledger.query<TradeRow>(
    `SELECT ts, event_seq, pnl - fees - funding AS net, capital_after FROM ${db}.trade_events FINAL ORDER BY ts, event_seq`,
  );
  const [stored] = await ledger.query<{ n: number | string }>(`SELECT count() AS n FROM ${db}.trade_events`);
  const point = (r: { ts: string; event_seq: number | string }): Point => ({
    ts: msFromChTs(r.ts),
    seq: Number(r.event_seq),
  });
  const baselines = snaps.filter((s) => s.kind === 'TICK' && s.open_trade_id === '');
  const first = baselines[0];
  const last = baselines.at(-1);
  if (!first || !last)
    throw new CapitalReplayError(`${db}.status_snapshots has no status tick taken while flat`);
  const adjustmentRows = snaps.filter((s) => CAPITAL_CHANGE_KINDS.has(s.kind));
  const adjustments = oncePerCommand(adjustmentRows);
  const openTradeId = snaps.at(-1)?.open_trade_id ?? '';
  const lastTrade = trades.at(-1);
  // With a trade open, replay up to the last close only (later adjustments are not in its capital_after).
  const until: Point | null = openTradeId !== '' && lastTrade ? point(lastTrade) : null;
  const inRange = (p: Point, from: Point) => after(p, from) && (until === null || !after(p, until));
  const replayFrom = (b: SnapshotRow): number => {
    const from = point(b);
    let capital = b.capital;
    for (const t of trades) if (inRange(point(t), from)) capital += t.net;
    for (const a of adjustments) if (inRange(point(a), from)) capital += a.capital_delta;
    return capital;
  };
  const fromTrades = replayFrom(first);
  const fromSnapshots = replayFrom(openTradeId !== '' ? lastBefore(baselines, until) : last);
  const live = opts.liveCapital ?? null;
  const { target, targetSource } = chooseTarget(live, openTradeId, lastTrade);
  const tol = opts.tolerance ?? 1e-9;
  const diffTrades = target === null ? null : fromTrades - target;
  const diffSnapshots = target === null ? null : fromSnapshots - target;
  return {
    fromSnapshots,
    fromTrades,
    baselineTs: point(first).ts,
    baselineCapital: first.capital,
    trades: trades.length,
    duplicateTradeRows: Number(stored?.n ?? 0) - trades.length,
    adjustments: adjustments.length,
    duplicateCommandRows: adjustmentRows.length - adjustments.length,
    liveCapital: live,
    openTradeId,
    target,
    targetSource,
    openTradeEffect: live === null || target === null ? null : live - target,
    diffSnapshots,
    diffTrades,
    ok: target === null || (Math.abs(diffTrades!) <= tol && Math.abs(diffSnapshots!) <= tol),
  };

  function lastBefore(rows: SnapshotRow[], limit: Point | null): SnapshotRow {
    const eligible = rows.filter((r) => limit === null || !after(point(r), limit));
    return eligible.at(-1) ?? rows[0]!;
  }
}

function chooseTarget(
  live: number | null,
  openTradeId: string,
  lastTrade: TradeRow | undefined,
): { target: number | null; targetSource: CapitalReplayResult['targetSource'] } {
  if (openTradeId === '')
    return live === null
      ? { target: null, targetSource: 'none' }
      : { target: live, targetSource: 'live_capital' };
  return lastTrade
    ? { target: lastTrade.capital_after, targetSource: 'last_trade_capital_after' }
    : { target: null, targetSource: 'none' };
}
