/**
 * A StateBus that reads a running PINK's in-process store through its loopback state
 * server (state-server.ts). It can read the namespace's maps and offer operator
 * commands to the namespace's command queue; every other write is refused.
 */
import type { Namespace } from '../../domain/namespaces.js';
import type { BusHealth, EntryListener, StateBus } from '../../ports/state-bus.js';

export class RemoteBusError extends Error {
  override name = 'RemoteBusError';
  constructor(
    message: string,
    readonly status = 0,
  ) {
    super(message);
  }
}

export interface RemoteStateBusOptions {
  /** e.g. http://127.0.0.1:41234 */
  readonly baseUrl: string;
  readonly ns: Namespace;
  /** Per-request time limit (outcome long-polls add their wait), ms. */
  readonly requestTimeoutMs?: number;
  /** The command credential (command-token.ts), sent with commands only. */
  readonly commandToken?: string;
  /** Listener emulation: how often watched maps are re-read, ms. */
  readonly pollMs?: number;
}

export class RemoteStateBus implements StateBus {
  private connected = false;
  private lastError = '';
  private readonly watchers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: RemoteStateBusOptions) {}

  async mapPut(map: string, key: string): Promise<void> {
    throw new RemoteBusError(`write to map ${map}[${key}] refused: the remote state bus is read-only`);
  }

  async mapGet(map: string, key: string): Promise<string | null> {
    const r = await this.request('GET', `/map/${encodeURIComponent(map)}/${encodeURIComponent(key)}`);
    return r.status === 404 ? null : r.text;
  }

  async mapEntries(map: string): Promise<Array<[string, string]>> {
    const r = await this.request('GET', `/map/${encodeURIComponent(map)}`);
    return (JSON.parse(r.text) as { entries: Array<[string, string]> }).entries;
  }

  async queueOffer(queue: string, value: string): Promise<boolean> {
    if (queue !== this.o.ns.commandQueue)
      throw new RemoteBusError(
        `offer to queue ${queue} refused: only ${this.o.ns.commandQueue} accepts commands remotely`,
      );
    const r = await this.request('POST', `/queue/${encodeURIComponent(queue)}`, value, [503]);
    return r.status === 202;
  }

  async queuePoll(queue: string): Promise<string | null> {
    throw new RemoteBusError(`poll of queue ${queue} refused: only the runtime consumes its commands`);
  }

  async queuePeek(queue: string): Promise<string | null> {
    throw new RemoteBusError(`peek of queue ${queue} refused: only the runtime consumes its commands`);
  }

  async queueRemove(queue: string): Promise<boolean> {
    throw new RemoteBusError(`remove from queue ${queue} refused: only the runtime consumes its commands`);
  }

  /** The outcome record of a command (JSON text), waiting up to `waitMs` for it; null if none yet. */
  async waitForOutcome(commandId: string, waitMs: number): Promise<string | null> {
    const wait = Math.max(0, Math.round(waitMs));
    const r = await this.request(
      'GET',
      `/outcome/${encodeURIComponent(commandId)}?waitMs=${wait}`,
      undefined,
      [],
      wait,
    );
    return r.status === 404 ? null : r.text;
  }

  async serverHealth(): Promise<Record<string, unknown>> {
    return JSON.parse((await this.request('GET', '/health')).text) as Record<string, unknown>;
  }

  /** Emulated by re-reading the map every pollMs and reporting changed and vanished keys. */
  async onMapEntry(map: string, listener: EntryListener): Promise<() => Promise<void>> {
    let last = new Map(await this.mapEntries(map));
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        const now = new Map(await this.mapEntries(map));
        for (const [k, v] of now) if (last.get(k) !== v) listener(k, v);
        for (const k of last.keys()) if (!now.has(k)) listener(k, null);
        last = now;
      } catch {
        // health() carries the error; the next tick tries again.
      } finally {
        busy = false;
      }
    }, this.o.pollMs ?? 500);
    timer.unref();
    this.watchers.add(timer);
    return async () => {
      clearInterval(timer);
      this.watchers.delete(timer);
    };
  }

  health(): BusHealth {
    return { kind: 'remote', connected: this.connected, pendingKeys: 0, lastError: this.lastError };
  }

  async close(): Promise<void> {
    for (const t of this.watchers) clearInterval(t);
    this.watchers.clear();
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
    okStatuses: readonly number[] = [],
    extraMs = 0,
  ): Promise<{ status: number; text: string }> {
    const url = `${this.o.baseUrl}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        body,
        headers:
          body === undefined
            ? undefined
            : {
                'content-type': 'application/json',
                ...(this.o.commandToken ? { authorization: `Bearer ${this.o.commandToken}` } : {}),
              },
        signal: AbortSignal.timeout((this.o.requestTimeoutMs ?? 5000) + extraMs),
      });
    } catch (err) {
      this.connected = false;
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      this.lastError = `cannot reach PINK state server at ${this.o.baseUrl}: ${cause}`;
      throw new RemoteBusError(this.lastError);
    }
    this.connected = true;
    const text = await res.text();
    if (res.ok || res.status === 404 || okStatuses.includes(res.status)) return { status: res.status, text };
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {}
    this.lastError = `${method} ${path}: HTTP ${res.status}: ${message}`;
    throw new RemoteBusError(this.lastError, res.status);
  }
}
