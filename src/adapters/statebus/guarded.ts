/**
 * The namespace fence around any StateBus (DESIGN.md §3, spec §8.4): every map put
 * and queue offer passes the WriteGuard; reads are limited to the namespace's own
 * maps, the shared read-only maps and maps the caller explicitly opened read-only.
 */
import {
  type Namespace,
  SHARED_READ_ONLY_MAPS,
  type WriteGuard,
  type WriteTarget,
} from '../../domain/namespaces.js';
import type { BusHealth, EntryListener, StateBus } from '../../ports/state-bus.js';

export class ReadRefused extends Error {
  override name = 'ReadRefused';
  constructor(
    readonly source: string,
    readonly strategy: string,
  ) {
    super(
      `read of ${source} refused: outside namespace "${strategy}" (open it read-only explicitly to read another strategy's map)`,
    );
  }
}

export interface GuardedStateBusOptions {
  /** Maps outside the namespace the caller asked to read (analytics); never writable. */
  readonly readOnlyMaps?: readonly string[];
  /** Called for each refused read (refused writes alert through the WriteGuard). */
  readonly onReadRefused?: (refusal: ReadRefused) => void;
}

export class GuardedStateBus implements StateBus {
  private readonly ns: Namespace;
  private readonly readable: Set<string>;

  constructor(
    private readonly inner: StateBus,
    private readonly guard: WriteGuard,
    private readonly o: GuardedStateBusOptions = {},
  ) {
    this.ns = guard.ns;
    this.readable = new Set([
      this.ns.stateMap,
      this.ns.pnlMap,
      ...SHARED_READ_ONLY_MAPS,
      ...(o.readOnlyMaps ?? []),
    ]);
  }

  /** Adds a map to the read-only set (explicit, logged by the caller). Writes stay refused. */
  openReadOnly(map: string): void {
    this.readable.add(map);
  }

  canRead(map: string): boolean {
    return this.readable.has(map);
  }

  async mapPut(map: string, key: string, value: string, ttlMs?: number): Promise<void> {
    this.checkWrite({ kind: 'map', map, key });
    return this.inner.mapPut(map, key, value, ttlMs);
  }

  async mapGet(map: string, key: string): Promise<string | null> {
    this.checkRead(`map ${map}[${key}]`, map);
    return this.inner.mapGet(map, key);
  }

  async mapEntries(map: string): Promise<Array<[string, string]>> {
    this.checkRead(`map ${map}`, map);
    return this.inner.mapEntries(map);
  }

  async queueOffer(queue: string, value: string): Promise<boolean> {
    this.checkWrite({ kind: 'queue', queue });
    return this.inner.queueOffer(queue, value);
  }

  /** Polling removes items, so it is a write to the queue: only the namespace's own queue. */
  async queuePoll(queue: string): Promise<string | null> {
    this.checkWrite({ kind: 'queue', queue });
    return this.inner.queuePoll(queue);
  }

  /** The command queue is consumed by peek then remove: both only on the namespace's own queue. */
  async queuePeek(queue: string): Promise<string | null> {
    this.checkWrite({ kind: 'queue', queue });
    return this.inner.queuePeek(queue);
  }

  async queueRemove(queue: string, item: string): Promise<boolean> {
    this.checkWrite({ kind: 'queue', queue });
    return this.inner.queueRemove(queue, item);
  }

  async onMapEntry(map: string, listener: EntryListener): Promise<() => Promise<void>> {
    this.checkRead(`map ${map} (listener)`, map);
    return this.inner.onMapEntry(map, listener);
  }

  health(): BusHealth {
    return this.inner.health();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Methods are async, so a refusal reaches callers as a rejected promise, never a sync throw. */
  private checkWrite(target: WriteTarget): void {
    this.guard.check(target);
  }

  private checkRead(source: string, map: string): void {
    if (this.readable.has(map)) return;
    const refusal = new ReadRefused(source, this.ns.strategy);
    this.o.onReadRefused?.(refusal);
    throw refusal;
  }
}
