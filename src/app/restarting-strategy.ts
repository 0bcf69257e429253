/**
 * Fail closed around a strategy process (issue #20, item 3). When the process fails (exits,
 * hangs past its deadline, answers garbage or another scan) this wrapper closes it, and
 * every decide() until a new one is up fails at once with StrategyDown: the pipeline then
 * opens nothing (it pauses). A new process is started after a backoff (1 s doubling to
 * 60 s), its memory restored from the last answer and the venue overrides and adoptions
 * that came meanwhile replayed, in order. The posture stays PAUSED until the operator's
 * RESUME: a restart is not permission to trade.
 */
import type { Decision } from '../domain/decision.js';
import type { OverrideKind } from '../domain/events.js';
import type { Scan } from '../domain/scan.js';
import type { AdoptedTrade, Strategy, StrategyContext } from '../strategy/strategy.js';

export class StrategyDown extends Error {
  override name = 'StrategyDown';
}

export interface RestartingOptions {
  /** First restart delay, ms; doubles per failure in a row up to maxBackoffMs. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly log?: (line: string) => void;
  /** A new process is up (restarts so far). */
  readonly onRestart?: (restarts: number) => void;
}

export interface StrategyHealth {
  readonly up: boolean;
  readonly failures: number;
  readonly restarts: number;
  readonly lastError: string | null;
  readonly nextRestartAt: number | null;
}

type Pending =
  | { kind: 'override'; overrideKind: OverrideKind; tradeId: string }
  | { kind: 'adopt'; trade: AdoptedTrade };

export class RestartingStrategy implements Strategy {
  readonly name: string;
  readonly params: Readonly<Record<string, unknown>>;
  private current: Strategy | null;
  private state: unknown;
  private openTrade: string | null;
  private readonly missed: Pending[] = [];
  private failures = 0;
  private failuresInARow = 0;
  private restarts = 0;
  private lastError: string | null = null;
  private nextRestartAt: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    first: Strategy,
    private readonly start: () => Promise<Strategy>,
    private readonly o: RestartingOptions = {},
  ) {
    this.current = first;
    this.name = first.name;
    this.params = first.params;
    this.state = first.saveState();
    this.openTrade = first.openTradeId();
  }

  decide(scan: Scan, ctx: StrategyContext): Promise<Decision> {
    const s = this.current;
    if (!s) return Promise.reject(new StrategyDown(this.downText()));
    return Promise.resolve(s.decide(scan, ctx)).then(
      (d) => {
        this.state = s.saveState();
        this.openTrade = s.openTradeId();
        this.failuresInARow = 0;
        return d;
      },
      (err: unknown) => {
        this.down(s, err);
        throw err;
      },
    );
  }

  override(kind: OverrideKind, tradeId: string): void {
    if (this.openTrade === tradeId) this.openTrade = null;
    if (this.current) this.current.override(kind, tradeId);
    else this.missed.push({ kind: 'override', overrideKind: kind, tradeId });
  }

  adopt(trade: AdoptedTrade): void {
    this.openTrade = trade.tradeId;
    if (this.current) this.current.adopt(trade);
    else this.missed.push({ kind: 'adopt', trade });
  }

  openTradeId(): string | null {
    return this.current ? this.current.openTradeId() : this.openTrade;
  }

  saveState(): unknown {
    return this.current ? this.current.saveState() : this.state;
  }

  restoreState(state: unknown): void {
    this.state = state;
    this.current?.restoreState(state);
  }

  health(): StrategyHealth {
    return {
      up: this.current !== null,
      failures: this.failures,
      restarts: this.restarts,
      lastError: this.lastError,
      nextRestartAt: this.nextRestartAt,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current?.close?.();
  }

  private down(s: Strategy, err: unknown): void {
    if (this.current !== s) return;
    this.current = null;
    this.failures += 1;
    this.failuresInARow += 1;
    this.lastError = err instanceof Error ? err.message : String(err);
    void s.close?.().catch(() => undefined);
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    const first = this.o.backoffMs ?? 1_000;
    const delay = Math.min(this.o.maxBackoffMs ?? 60_000, first * 2 ** Math.min(this.failuresInARow - 1, 20));
    this.nextRestartAt = Date.now() + delay;
    this.o.log?.(`strategy process down (${this.lastError}); restarting in ${delay} ms`);
    this.timer = setTimeout(() => void this.restart(), delay);
    this.timer.unref();
  }

  private async restart(): Promise<void> {
    this.timer = null;
    if (this.closed) return;
    let s: Strategy | undefined;
    try {
      s = await this.start();
      s.restoreState(this.state);
      for (const m of this.missed.splice(0))
        if (m.kind === 'override') s.override(m.overrideKind, m.tradeId);
        else s.adopt(m.trade);
    } catch (err) {
      void s?.close?.().catch(() => undefined); // started, but could not take its memory back
      this.failuresInARow += 1;
      this.lastError = `restart failed: ${err instanceof Error ? err.message : String(err)}`;
      this.schedule();
      return;
    }
    if (this.closed) return void s.close?.();
    this.current = s;
    this.nextRestartAt = null;
    this.restarts += 1;
    this.o.log?.(`strategy process restarted (#${this.restarts}); entries stay paused until RESUME`);
    this.o.onRestart?.(this.restarts);
  }

  private downText(): string {
    const at = this.nextRestartAt ? `, next restart at ${new Date(this.nextRestartAt).toISOString()}` : '';
    return `strategy process down after ${this.failures} failure(s): ${this.lastError ?? 'unknown'}${at}`;
  }
}
