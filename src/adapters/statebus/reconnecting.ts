/**
 * A StateBus over a remote store whose link can drop (Hazelcast). While the link is
 * down, writes never throw and never wait: only the latest value per (map, key) is
 * kept and republished, in order, when the link comes back. Publishing state must
 * never stall trading, and a stale value must never overwrite a newer one.
 */
import type { BusHealth, EntryListener, StateBus } from '../../ports/state-bus.js';
import { assertJsonText } from './memory.js';

/** The remote store's raw operations; any of them may reject while the link is down. */
export interface RemoteStore {
  put(map: string, key: string, value: string, ttlMs?: number): Promise<void>;
  get(map: string, key: string): Promise<string | null>;
  entries(map: string): Promise<Array<[string, string]>>;
  offer(queue: string, value: string): Promise<boolean>;
  poll(queue: string): Promise<string | null>;
  peek(queue: string): Promise<string | null>;
  remove(queue: string, item: string): Promise<boolean>;
  listen(map: string, listener: EntryListener): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export class StateBusOffline extends Error {
  override name = 'StateBusOffline';
}

interface PendingWrite {
  readonly map: string;
  readonly key: string;
  readonly value: string;
  readonly ttlMs: number | undefined;
  readonly writtenAt: number;
}

interface Subscription {
  readonly map: string;
  readonly listener: EntryListener;
  remove: (() => Promise<void>) | null;
}

export interface ReconnectingOptions {
  readonly kind: BusHealth['kind'];
  /** An operation taking longer than this counts as failed (the write goes to the buffer), ms. */
  readonly opTimeoutMs?: number;
  /** Delay before retrying a republish that failed while still connected, ms. */
  readonly retryMs?: number;
  readonly now?: () => number;
  /** How long close() keeps trying to land buffered writes, ms (default twice opTimeoutMs). */
  readonly closeFlushMs?: number;
  /** Told which buffered writes close() could not land (they are lost with the process). */
  readonly onUnflushed?: (message: string) => void;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const pendingId = (map: string, key: string) => `${map}\u0000${key}`;

export class ReconnectingStateBus implements StateBus {
  private store: RemoteStore | null = null;
  private connected = false;
  private flushing = false;
  private closed = false;
  private lastError = '';
  private retryTimer: NodeJS.Timeout | null = null;
  /** Insertion-ordered, latest value per (map, key). */
  private readonly pending = new Map<string, PendingWrite>();
  private readonly subscriptions = new Set<Subscription>();
  /** A poll per queue still waiting for the member's answer (see queuePoll). */
  private readonly polls = new Map<string, Promise<string | null>>();
  private readonly opTimeoutMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;

  constructor(private readonly o: ReconnectingOptions) {
    this.opTimeoutMs = o.opTimeoutMs ?? 2000;
    this.retryMs = o.retryMs ?? 1000;
    this.now = o.now ?? Date.now;
  }

  /** Hands over the store once it exists (the client may report CONNECTED before that). */
  attach(store: RemoteStore): void {
    this.store = store;
    if (this.connected) void this.onConnected();
  }

  /** Fed from the client's lifecycle events (CONNECTED / DISCONNECTED). */
  setConnected(up: boolean): void {
    if (this.closed || up === this.connected) return;
    this.connected = up;
    if (up) void this.onConnected();
    // Registered listeners are kept: hazelcast-client re-registers them on every new
    // connection itself; only those never registered are registered on CONNECTED.
    else this.lastError = this.lastError || 'disconnected';
  }

  noteError(message: string): void {
    this.lastError = message;
  }

  async mapPut(map: string, key: string, value: string, ttlMs?: number): Promise<void> {
    assertJsonText(map, key, value);
    const write: PendingWrite = { map, key, value, ttlMs, writtenAt: this.now() };
    const id = pendingId(map, key);
    // While anything is buffered (republishing, or a retry due), new writes queue behind
    // it: sent directly, an older buffered value of the same key would land after them.
    if (!this.isUp() || this.flushing || this.pending.size > 0) {
      this.bufferLatest(id, write);
      if (this.isUp()) void this.republish();
      return;
    }
    try {
      await withTimeout(this.store!.put(map, key, value, ttlMs), this.opTimeoutMs, `put ${map}[${key}]`);
    } catch (err) {
      this.fail(err);
      this.bufferLatest(id, write);
      this.scheduleRetry();
    }
  }

  async mapGet(map: string, key: string): Promise<string | null> {
    const own = this.pending.get(pendingId(map, key));
    if (own) return own.value;
    this.assertUp(`read ${map}[${key}]`);
    return this.guarded(this.store!.get(map, key), `get ${map}[${key}]`);
  }

  async mapEntries(map: string): Promise<Array<[string, string]>> {
    this.assertUp(`read ${map}`);
    const remote = await this.guarded(this.store!.entries(map), `entrySet ${map}`);
    const merged = new Map(remote);
    for (const w of this.pending.values()) if (w.map === map) merged.set(w.key, w.value);
    return [...merged];
  }

  /** Returns false (never throws) when the item could not be offered; health() says why. */
  async queueOffer(queue: string, value: string): Promise<boolean> {
    if (!this.isUp()) {
      this.lastError = `offer to ${queue} not sent: not connected`;
      return false;
    }
    return this.orElse(() => this.store!.offer(queue, value), `offer ${queue}`, false);
  }

  /**
   * Returns null while disconnected: commands wait in the queue until the link is back.
   * A poll slower than opTimeoutMs is not abandoned: the member may already have taken the
   * item off the queue, so its late answer is what the next poll of that queue returns.
   */
  async queuePoll(queue: string): Promise<string | null> {
    if (!this.isUp()) return null;
    let poll = this.polls.get(queue);
    if (!poll) {
      poll = this.store!.poll(queue);
      this.polls.set(queue, poll);
      // Settled either way, the next poll asks the member again (after this answer is taken).
      poll.then(
        () => undefined,
        () => this.polls.get(queue) === poll && this.polls.delete(queue),
      );
    }
    try {
      const item = await withTimeout(poll, this.opTimeoutMs, `poll ${queue}`);
      if (this.polls.get(queue) === poll) this.polls.delete(queue);
      return item;
    } catch (err) {
      this.fail(err);
      return null;
    }
  }

  /** Null while disconnected or on a slow answer: peeking takes nothing, so asking again is safe. */
  async queuePeek(queue: string): Promise<string | null> {
    if (!this.isUp()) return null;
    return this.orElse(() => this.store!.peek(queue), `peek ${queue}`, null);
  }

  /**
   * False while disconnected or on a slow answer (the item may be gone or not): the caller
   * has recorded the command's id first, so an item still there is known as handled.
   */
  async queueRemove(queue: string, item: string): Promise<boolean> {
    if (!this.isUp()) return false;
    return this.orElse(() => this.store!.remove(queue, item), `remove from ${queue}`, false);
  }

  /** The operation's answer within opTimeoutMs, else `fallback` (the failure noted in health()). */
  private async orElse<T>(op: () => Promise<T>, what: string, fallback: T): Promise<T> {
    try {
      return await withTimeout(op(), this.opTimeoutMs, what);
    } catch (err) {
      this.fail(err);
      return fallback;
    }
  }

  async onMapEntry(map: string, listener: EntryListener): Promise<() => Promise<void>> {
    const sub: Subscription = { map, listener, remove: null };
    this.subscriptions.add(sub);
    if (this.isUp()) await this.subscribe(sub);
    return async () => {
      this.subscriptions.delete(sub);
      const remove = sub.remove;
      sub.remove = null;
      if (remove && this.isUp()) await remove().catch((err) => this.fail(err));
    };
  }

  /** True once connected; false after `ms` or when closed (start-up that needs the cluster waits here). */
  async waitConnected(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.isUp()) {
      if (this.closed || Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 25));
    }
    return true;
  }

  health(): BusHealth {
    return {
      kind: this.o.kind,
      connected: this.isUp(),
      pendingKeys: this.pending.size,
      lastError: this.lastError,
    };
  }

  /**
   * Buffered writes (the lease release among them) get a bounded last chance to land
   * first: a value dropped here is a stale surface, or a lease the next start must wait out.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flushBeforeClose();
    this.closed = true;
    this.connected = false;
    this.cancelRetry();
    await this.store?.close();
  }

  private async flushBeforeClose(): Promise<void> {
    const deadline = Date.now() + (this.o.closeFlushMs ?? 2 * this.opTimeoutMs);
    while (this.pending.size > 0 && this.isUp() && Date.now() < deadline) {
      const before = this.pending.size;
      if (!this.flushing) await this.republish();
      if (this.pending.size >= before) await new Promise((r) => setTimeout(r, 25));
    }
    this.cancelRetry();
    if (this.pending.size === 0) return;
    const keys = [...this.pending.values()].map((w) => `${w.map}[${w.key}]`);
    this.o.onUnflushed?.(
      `state bus closed with ${keys.length} write(s) not published: ${keys.join(', ')}${this.lastError ? ` (last error: ${this.lastError})` : ''}`,
    );
  }

  private cancelRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private isUp(): boolean {
    return this.connected && this.store !== null && !this.closed;
  }

  private assertUp(what: string): void {
    if (!this.isUp())
      throw new StateBusOffline(
        `${this.o.kind} state bus not connected: cannot ${what}${this.lastError ? ` (last error: ${this.lastError})` : ''}`,
      );
  }

  private async guarded<T>(p: Promise<T>, what: string): Promise<T> {
    try {
      return await withTimeout(p, this.opTimeoutMs, what);
    } catch (err) {
      this.fail(err);
      throw err;
    }
  }

  private fail(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
  }

  private bufferLatest(id: string, write: PendingWrite): void {
    // Delete first so the key moves to the end: republish follows the order of last writes.
    this.pending.delete(id);
    this.pending.set(id, write);
  }

  private async onConnected(): Promise<void> {
    if (!this.isUp()) return;
    this.lastError = '';
    for (const sub of this.subscriptions) if (!sub.remove) await this.subscribe(sub);
    await this.republish();
  }

  private async subscribe(sub: Subscription): Promise<void> {
    try {
      sub.remove = await withTimeout(
        this.store!.listen(sub.map, sub.listener),
        this.opTimeoutMs,
        `listen ${sub.map}`,
      );
    } catch (err) {
      this.fail(err);
    }
  }

  /** Sends the buffered latest values one by one; stops at the first failure and retries later. */
  async republish(): Promise<void> {
    if (this.flushing || !this.isUp()) return;
    this.flushing = true;
    try {
      while (this.pending.size > 0 && this.isUp()) {
        // Left in place until it lands, so a failure keeps the order of last writes.
        const [id, w] = this.pending.entries().next().value as [string, PendingWrite];
        const ttl = this.remainingTtl(w);
        if (ttl !== undefined && ttl <= 0) {
          this.pending.delete(id); // it would have expired by now anyway
          continue;
        }
        try {
          await withTimeout(
            this.store!.put(w.map, w.key, w.value, ttl),
            this.opTimeoutMs,
            `put ${w.map}[${w.key}]`,
          );
        } catch (err) {
          this.fail(err);
          this.scheduleRetry();
          return;
        }
        // A newer value written meanwhile moved to the end and is still to be sent.
        if (this.pending.get(id) === w) this.pending.delete(id);
      }
    } finally {
      this.flushing = false;
    }
  }

  private remainingTtl(w: PendingWrite): number | undefined {
    if (w.ttlMs === undefined) return undefined;
    return Math.ceil(w.ttlMs - (this.now() - w.writtenAt));
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.republish();
    }, this.retryMs);
    this.retryTimer.unref();
  }
}
