/**
 * Capital replay (DESIGN.md §5): the final capital must be reproducible from
 * status_snapshots plus trade_events deduplicated by trade_id.
 *
 * A baseline is a status tick taken while flat (no open trade), so no trade straddles
 * it. From a baseline, capital = baseline capital + net PnL (pnl - fees - funding) of
 * every trade closed after it + the deltas of operator capital changes after it.
 * `fromTrades` replays from the first baseline (the whole trade history), `fromSnapshots`
 * from the last one. Both are compared with the live capital.
 */
import type { LedgerStore } from '../../ports/ledger.js';
import { msFromChTs } from './rows.js';

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
  readonly liveCapital: number | null;
  readonly diffSnapshots: number | null;
  readonly diffTrades: number | null;
  /** Both replays within `tolerance` of the live capital (true when no live capital given). */
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
  open_trade_id: string;
}

interface TradeRow {
  ts: string;
  event_seq: number | string;
  net: number;
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
    `SELECT ts, event_seq, kind, capital, capital_delta, open_trade_id FROM ${db}.status_snapshots ORDER BY ts, event_seq`,
  );
  // FINAL: one row per trade_id however often the terminal row was stored.
  const trades = await ledger.query<TradeRow>(
    `SELECT ts, event_seq, pnl - fees - funding AS net FROM ${db}.trade_events FINAL ORDER BY ts, event_seq`,
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
  const adjustments = snaps.filter((s) => s.kind !== 'TICK');
  const replayFrom = (b: SnapshotRow): number => {
    const from = point(b);
    let capital = b.capital;
    for (const t of trades) if (after(point(t), from)) capital += t.net;
    for (const a of adjustments) if (after(point(a), from)) capital += a.capital_delta;
    return capital;
  };
  const fromTrades = replayFrom(first);
  const fromSnapshots = replayFrom(last);
  const live = opts.liveCapital ?? null;
  const tol = opts.tolerance ?? 1e-9;
  const diffTrades = live === null ? null : fromTrades - live;
  const diffSnapshots = live === null ? null : fromSnapshots - live;
  return {
    fromSnapshots,
    fromTrades,
    baselineTs: point(first).ts,
    baselineCapital: first.capital,
    trades: trades.length,
    duplicateTradeRows: Number(stored?.n ?? 0) - trades.length,
    adjustments: adjustments.length,
    liveCapital: live,
    diffSnapshots,
    diffTrades,
    ok: live === null || (Math.abs(diffTrades!) <= tol && Math.abs(diffSnapshots!) <= tol),
  };
}
