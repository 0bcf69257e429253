/**
 * The in-process state store (default when no Hazelcast members are configured):
 * maps of JSON text with per-entry TTL, FIFO queues and entry listeners, with the
 * same semantics the Hazelcast adapter offers. Other processes see it through the
 * loopback state server (state-server.ts).
 */
import { getOrCreate } from '../../domain/maps.js';
import type { BusHealth, EntryListener, StateBus } from '../../ports/state-bus.js';

export class StateValueError extends Error {
  override name = 'StateValueError';
}

/** Map values must be JSON text: BLUE's tooling parses every value it reads. */
export function assertJsonText(map: string, key: string, value: string): void {
  if (typeof value !== 'string')
    throw new StateValueError(`value for ${map}[${key}] must be JSON text, got ${typeof value}`);
  try {
    JSON.parse(value);
  } catch (err) {
    const preview = value.length > 60 ? `${value.slice(0, 60)}…` : value;
    throw new StateValueError(
      `value for ${map}[${key}] is not JSON text (${(err as Error).message}): ${JSON.stringify(preview)}`,
    );
  }
}

interface Entry {
  readonly value: string;
  /** Epoch ms after which the entry is gone; Infinity = no TTL. */
  readonly expiresAt: number;
}

/** A FIFO with O(1) poll (an array plus a moving head, compacted now and then). */
class Fifo {
  private items: string[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(v: string): void {
    this.items.push(v);
  }
  shift(): string | null {
    if (this.head >= this.items.length) return null;
    const v = this.items[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  peek(): string | null {
    return this.head < this.items.length ? this.items[this.head]! : null;
  }
  remove(v: string): boolean {
    const at = this.items.indexOf(v, this.head);
    if (at < 0) return false;
    this.items.splice(at, 1);
    return true;
  }
}

export interface MemoryStateBusOptions {
  /** How often expired entries are swept (listeners hear about them), ms. 0 = only lazily on read. */
  readonly sweepMs?: number;
  /** Offers beyond this many waiting items return false, as a bounded Hazelcast queue does. */
  readonly queueCapacity?: number;
  readonly now?: () => number;
}

export class MemoryStateBus implements StateBus {
  private readonly maps = new Map<string, Map<string, Entry>>();
  private readonly queues = new Map<string, Fifo>();
  private readonly listeners = new Map<string, Set<EntryListener>>();
  private readonly now: () => number;
  private readonly queueCapacity: number;
  private sweeper: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(o: MemoryStateBusOptions = {}) {
    this.now = o.now ?? Date.now;
    this.queueCapacity = o.queueCapacity ?? 100_000;
    const sweepMs = o.sweepMs ?? 1000;
    if (sweepMs > 0) {
      this.sweeper = setInterval(() => this.sweepExpired(), sweepMs);
      // The sweep must never keep a finished process alive.
      this.sweeper.unref();
    }
  }

  async mapPut(map: string, key: string, value: string, ttlMs?: number): Promise<void> {
    this.assertOpen();
    assertJsonText(map, key, value);
    if (ttlMs !== undefined && !(ttlMs > 0))
      throw new StateValueError(`ttl for ${map}[${key}] must be > 0 ms, got ${ttlMs}`);
    const expiresAt = ttlMs === undefined ? Number.POSITIVE_INFINITY : this.now() + ttlMs;
    this.mapOf(map).set(key, { value, expiresAt });
    this.notify(map, key, value);
  }

  async mapGet(map: string, key: string): Promise<string | null> {
    this.assertOpen();
    const m = this.maps.get(map);
    const e = m?.get(key);
    if (!m || !e) return null;
    if (this.expired(e)) {
      this.expire(map, m, key);
      return null;
    }
    return e.value;
  }

  async mapEntries(map: string): Promise<Array<[string, string]>> {
    this.assertOpen();
    const m = this.maps.get(map);
    if (!m) return [];
    const out: Array<[string, string]> = [];
    for (const [key, e] of [...m]) {
      if (this.expired(e)) this.expire(map, m, key);
      else out.push([key, e.value]);
    }
    return out;
  }

  /** Removes a key (listeners hear `null`). */
  async mapRemove(map: string, key: string): Promise<boolean> {
    this.assertOpen();
    const m = this.maps.get(map);
    if (!m?.delete(key)) return false;
    this.notify(map, key, null);
    return true;
  }

  /** Queues carry any text: the consumer validates (a malformed command gets a refusal). */
  async queueOffer(queue: string, value: string): Promise<boolean> {
    this.assertOpen();
    if (typeof value !== 'string') throw new StateValueError(`queue ${queue} item must be text`);
    const q = this.queueOf(queue);
    if (q.size >= this.queueCapacity) return false;
    q.push(value);
    return true;
  }

  async queuePoll(queue: string): Promise<string | null> {
    this.assertOpen();
    return this.queues.get(queue)?.shift() ?? null;
  }

  async queuePeek(queue: string): Promise<string | null> {
    this.assertOpen();
    return this.queues.get(queue)?.peek() ?? null;
  }

  async queueRemove(queue: string, item: string): Promise<boolean> {
    this.assertOpen();
    return this.queues.get(queue)?.remove(item) ?? false;
  }

  queueSize(queue: string): number {
    return this.queues.get(queue)?.size ?? 0;
  }

  async onMapEntry(map: string, listener: EntryListener): Promise<() => Promise<void>> {
    this.assertOpen();
    const set = getOrCreate(this.listeners, map, () => new Set<EntryListener>());
    set.add(listener);
    return async () => {
      set.delete(listener);
    };
  }

  health(): BusHealth {
    return { kind: 'memory', connected: !this.closed, pendingKeys: 0, lastError: '' };
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    this.closed = true;
    this.listeners.clear();
  }

  /** Drops every expired entry now (the periodic sweep calls this). */
  sweepExpired(): number {
    let n = 0;
    for (const [map, m] of this.maps)
      for (const [key, e] of [...m])
        if (this.expired(e)) {
          this.expire(map, m, key);
          n++;
        }
    return n;
  }

  private expired(e: Entry): boolean {
    return e.expiresAt <= this.now();
  }

  private expire(map: string, m: Map<string, Entry>, key: string): void {
    m.delete(key);
    this.notify(map, key, null);
  }

  private notify(map: string, key: string, value: string | null): void {
    const set = this.listeners.get(map);
    if (!set) return;
    for (const l of [...set]) {
      // A listener's failure is its own; it must not break the writer (the trading loop).
      try {
        l(key, value);
      } catch {}
    }
  }

  private mapOf(map: string): Map<string, Entry> {
    return getOrCreate(this.maps, map, () => new Map<string, Entry>());
  }

  private queueOf(queue: string): Fifo {
    return getOrCreate(this.queues, queue, () => new Fifo());
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('state bus is closed');
  }
}
