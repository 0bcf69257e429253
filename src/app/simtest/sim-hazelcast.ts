/**
 * Hazelcast for the fault simulation: an in-memory map/queue store behind the real
 * reconnecting state bus. While `down`, every call fails as a lost member would; the
 * simulation also tells the bus the connection dropped and came back, as the
 * hazelcast-client lifecycle events do.
 */
import type { RemoteStore } from '../../adapters/statebus/reconnecting.js';
import type { EntryListener } from '../../ports/state-bus.js';

export class SimHazelcast implements RemoteStore {
  down = false;
  readonly maps = new Map<string, Map<string, string>>();
  refused = 0;

  private up(what: string): void {
    if (!this.down) return;
    this.refused += 1;
    throw Object.assign(new Error(`${what}: member unreachable (simulated outage)`), {
      code: 'ECONNREFUSED',
    });
  }

  map(name: string): Map<string, string> {
    const m = this.maps.get(name) ?? new Map<string, string>();
    this.maps.set(name, m);
    return m;
  }

  async put(map: string, key: string, value: string): Promise<void> {
    this.up(`put ${map}[${key}]`);
    this.map(map).set(key, value);
  }
  async get(map: string, key: string): Promise<string | null> {
    this.up(`get ${map}[${key}]`);
    return this.map(map).get(key) ?? null;
  }
  async entries(map: string): Promise<Array<[string, string]>> {
    this.up(`entries ${map}`);
    return [...this.map(map)];
  }
  async offer(queue: string): Promise<boolean> {
    this.up(`offer ${queue}`);
    return true;
  }
  async poll(queue: string): Promise<string | null> {
    this.up(`poll ${queue}`);
    return null;
  }
  async peek(queue: string): Promise<string | null> {
    this.up(`peek ${queue}`);
    return null;
  }
  async remove(queue: string): Promise<boolean> {
    this.up(`remove from ${queue}`);
    return false;
  }
  async listen(_map: string, _listener: EntryListener): Promise<() => Promise<void>> {
    this.up('listen');
    return async () => {};
  }
  async close(): Promise<void> {}
}
