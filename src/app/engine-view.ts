/**
 * The engine view the state publisher writes (DESIGN.md §6), derived from the runtime's
 * state only: slot and stage from the kernel, figures from the account projection.
 */

import type { Runtime } from './runtime.js';
import type { DayPnlView, EngineView } from './state-publisher.js';

/** What the view is derived from: a Runtime, or the fault simulation's parts of one. */
export type EngineSource = Pick<Runtime, 'pipeline' | 'account' | 'posture' | 'strategy' | 'lastDecision'>;

export function engineView(
  rt: EngineSource,
  venue: string,
  days: readonly DayPnlView[],
  health: Readonly<Record<string, unknown>> = {},
  now: number = Date.now(),
): EngineView | null {
  if (!rt.pipeline) return null;
  const snap = rt.account.snapshot();
  const view = rt.pipeline.kernel.view();
  const d = rt.lastDecision?.type === 'decision' ? rt.lastDecision.record : null;
  return {
    ts: now,
    posture: rt.posture,
    paused: rt.pipeline.paused,
    venue,
    algorithm: rt.strategy.name,
    slot: view
      ? {
          tradeId: view.tradeId,
          asset: view.asset,
          side: view.side,
          stage: view.stage,
          size: view.remainingQty,
          entryPrice: view.entryPrice,
          barsHeld: view.barsHeld,
          unrealizedPnl: snap.unrealizedPnl,
        }
      : null,
    pendingOrders: view?.pendingOrder ? 1 : 0,
    lastScan: d ? { ts: d.ts, scanNumber: d.scan, assets: 0 } : null,
    lastDecision: d ? { ts: d.ts, action: d.action, asset: d.asset || null, reason: d.reason } : null,
    capital: snap.capital,
    equity: snap.equity,
    realizedPnl: snap.realizedPnl,
    unrealizedPnl: snap.unrealizedPnl,
    fees: snap.fees,
    funding: snap.funding,
    openNotional: snap.openNotional,
    leverage: snap.leverage,
    pnlByDay: days,
    health,
  };
}
