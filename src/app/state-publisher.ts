/**
 * Publishes PINK's live surfaces (DESIGN.md §6) to the state bus as JSON text:
 * `<stateMap>` keys engine_snapshot, capital_checkpoint, latest_nautilus and
 * `<pnlMap>` one key per UTC day (YYYY-MM-DD). Names come from the Namespace only.
 * A surface is rewritten when its content changes (timestamps aside) and on every
 * heartbeat. Publishing never throws into the trading loop: failures are logged and
 * counted, and the next change or heartbeat tries again.
 */
import type { AccountSnapshot } from '../domain/account.js';
import type { Namespace } from '../domain/namespaces.js';
import type { StateBus } from '../ports/state-bus.js';

export interface SlotView {
  readonly tradeId: string;
  readonly asset: string;
  readonly side: 'LONG' | 'SHORT';
  /** Trade FSM stage (domain/trade-fsm.ts). */
  readonly stage: string;
  readonly size: number;
  readonly entryPrice: number;
  readonly barsHeld: number;
  readonly unrealizedPnl?: number;
}

export interface DayPnlView {
  /** UTC day, YYYY-MM-DD: the key in the pnl map. */
  readonly date: string;
  readonly realizedPnl: number;
  readonly fees: number;
  readonly funding: number;
  readonly trades: number;
  readonly wins: number;
  readonly losses: number;
}

export interface ScanView {
  readonly ts: number;
  readonly scanNumber: number;
  readonly assets: number;
}

export interface DecisionView {
  readonly ts: number;
  readonly action: string;
  readonly asset: string | null;
  readonly reason: string;
}

/** Account figures as the AccountProjection snapshot names them (spread a snapshot in). */
export type AccountFigures = Pick<
  AccountSnapshot,
  'capital' | 'equity' | 'realizedPnl' | 'unrealizedPnl' | 'fees' | 'funding' | 'openNotional' | 'leverage'
>;

/** What the runtime knows right now; the lead's runtime fills it. */
export interface EngineView extends AccountFigures {
  readonly ts: number;
  readonly posture: string;
  readonly paused: boolean;
  readonly venue: string;
  readonly algorithm: string;
  readonly slot: SlotView | null;
  readonly pendingOrders: number;
  readonly lastScan: ScanView | null;
  readonly lastDecision: DecisionView | null;
  /** Days to publish in the pnl map (typically today, plus yesterday around midnight). */
  readonly pnlByDay: readonly DayPnlView[];
  /** Component health (ledger spool depth, state bus, venue), published in latest_nautilus. */
  readonly health?: Readonly<Record<string, unknown>>;
}

export interface StatePublisherOptions {
  readonly bus: StateBus;
  readonly ns: Namespace;
  readonly now?: () => number;
  readonly log?: (message: string) => void;
}

interface Surface {
  readonly map: string;
  readonly key: string;
  /** The content compared for "material change" (no timestamps). */
  readonly content: Record<string, unknown>;
}

function slotJson(s: SlotView | null) {
  if (!s) return null;
  return {
    trade_id: s.tradeId,
    asset: s.asset,
    side: s.side,
    stage: s.stage,
    size: s.size,
    entry_price: s.entryPrice,
    bars_held: s.barsHeld,
    unrealized_pnl: s.unrealizedPnl ?? null,
  };
}

export class StatePublisher {
  private readonly lastContent = new Map<string, string>();
  private lastView: EngineView | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  /** Writes that failed (the bus's health() says why). */
  failures = 0;
  writes = 0;

  constructor(private readonly o: StatePublisherOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Writes the surfaces whose content changed since the last publish; returns how many. */
  publish(view: EngineView): Promise<number> {
    this.lastView = view;
    return this.serial(() => this.write(view, false));
  }

  /** Rewrites every surface with fresh timestamps (liveness for readers); returns how many. */
  publishAll(view: EngineView | null = this.lastView): Promise<number> {
    if (!view) return Promise.resolve(0);
    return this.serial(() => this.write(view, true));
  }

  /** Republishes every `ms` from `current()` (default: the last published view). Unref'd timer. */
  startHeartbeat(ms: number, current: () => EngineView | null = () => this.lastView): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      void this.publishAll(current());
    }, ms);
    this.heartbeat.unref();
  }

  stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /** Waits for writes in flight (call before closing the bus). */
  async flush(): Promise<void> {
    await this.chain;
  }

  surfaces(view: EngineView): Surface[] {
    const { ns } = this;
    const base = { strategy: ns.strategy, trader_id: ns.traderId };
    const out: Surface[] = [
      {
        map: ns.stateMap,
        key: 'engine_snapshot',
        content: {
          ...base,
          posture: view.posture,
          paused: view.paused,
          venue: view.venue,
          algorithm: view.algorithm,
          slot: slotJson(view.slot),
          pending_orders: view.pendingOrders,
          last_scan: view.lastScan
            ? { ts: view.lastScan.ts, scan_number: view.lastScan.scanNumber, assets: view.lastScan.assets }
            : null,
          last_decision: view.lastDecision,
          capital: view.capital,
          equity: view.equity,
          realized_pnl: view.realizedPnl,
          unrealized_pnl: view.unrealizedPnl,
          fees: view.fees,
          funding: view.funding,
          open_notional: view.openNotional,
          leverage: view.leverage,
        },
      },
      {
        map: ns.stateMap,
        key: 'capital_checkpoint',
        content: {
          ...base,
          capital: view.capital,
          equity: view.equity,
          realized_pnl: view.realizedPnl,
          fees: view.fees,
          funding: view.funding,
        },
      },
      {
        map: ns.stateMap,
        key: 'latest_nautilus',
        content: {
          ...base,
          posture: view.posture,
          paused: view.paused,
          in_position: view.slot !== null,
          asset: view.slot?.asset ?? null,
          side: view.slot?.side ?? null,
          stage: view.slot?.stage ?? null,
          capital: view.capital,
          equity: view.equity,
          health: view.health ?? null,
        },
      },
    ];
    for (const d of view.pnlByDay)
      out.push({
        map: ns.pnlMap,
        key: d.date,
        content: {
          ...base,
          date: d.date,
          realized_pnl: d.realizedPnl,
          fees: d.fees,
          funding: d.funding,
          net_pnl: d.realizedPnl - d.fees - d.funding,
          trades: d.trades,
          wins: d.wins,
          losses: d.losses,
        },
      });
    return out;
  }

  private get ns(): Namespace {
    return this.o.ns;
  }

  private serial(task: () => Promise<number>): Promise<number> {
    const next = this.chain.then(task, task);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async write(view: EngineView, all: boolean): Promise<number> {
    let n = 0;
    const publishedAt = this.now();
    for (const s of this.surfaces(view)) {
      const id = `${s.map}\u0000${s.key}`;
      const content = JSON.stringify(s.content);
      if (!all && this.lastContent.get(id) === content) continue;
      try {
        await this.o.bus.mapPut(
          s.map,
          s.key,
          JSON.stringify({ ...s.content, ts: view.ts, published_at: publishedAt }),
        );
        this.lastContent.set(id, content);
        this.writes++;
        n++;
      } catch (err) {
        this.failures++;
        this.o.log?.(`state publish ${s.map}[${s.key}] failed: ${(err as Error).message}`);
      }
    }
    return n;
  }
}
