import { afterEach, describe, expect, it } from 'vitest';
import { GuardedStateBus, ReadRefused } from '../src/adapters/statebus/guarded.js';
import { MemoryStateBus, StateValueError } from '../src/adapters/statebus/memory.js';
import { lookupNamespace, WriteGuard, type WriteRefused } from '../src/domain/namespaces.js';

const pink = lookupNamespace('pink');
const blue = lookupNamespace('blue');
const buses: MemoryStateBus[] = [];
function bus(o: ConstructorParameters<typeof MemoryStateBus>[0] = {}) {
  const b = new MemoryStateBus(o);
  buses.push(b);
  return b;
}
afterEach(async () => {
  for (const b of buses.splice(0)) await b.close();
});

describe('MemoryStateBus', () => {
  it('stores JSON text and refuses anything else with the map, key and parse error', async () => {
    const b = bus();
    await b.mapPut('M', 'k', '{"a":1}');
    expect(await b.mapGet('M', 'k')).toBe('{"a":1}');
    await expect(b.mapPut('M', 'bad', '{a:1}')).rejects.toThrow(StateValueError);
    await expect(b.mapPut('M', 'bad', 'not json')).rejects.toThrow(/M\[bad\] is not JSON text/);
    expect(await b.mapGet('M', 'bad')).toBeNull();
    await expect(b.mapPut('M', 'k', '1', 0)).rejects.toThrow(/ttl .* must be > 0/);
  });

  it('expires entries lazily on read and in entry listings, telling listeners', async () => {
    let now = 1000;
    const b = bus({ sweepMs: 0, now: () => now });
    const heard: Array<[string, string | null]> = [];
    await b.onMapEntry('M', (k, v) => heard.push([k, v]));
    await b.mapPut('M', 'short', '1', 100);
    await b.mapPut('M', 'long', '2');
    now += 99;
    expect(await b.mapGet('M', 'short')).toBe('1');
    now += 1;
    expect(await b.mapEntries('M')).toEqual([['long', '2']]);
    expect(await b.mapGet('M', 'short')).toBeNull();
    expect(heard).toEqual([
      ['short', '1'],
      ['long', '2'],
      ['short', null],
    ]);
  });

  it('the periodic sweep expires entries nobody reads', async () => {
    const b = bus({ sweepMs: 20 });
    const gone: string[] = [];
    await b.onMapEntry('M', (k, v) => v === null && gone.push(k));
    await b.mapPut('M', 'k', '"x"', 30);
    await new Promise((r) => setTimeout(r, 150));
    expect(gone).toEqual(['k']);
  });

  it('queues are FIFO, carry any text, and refuse offers beyond capacity', async () => {
    const b = bus({ queueCapacity: 3 });
    for (const v of ['a', '{"b":1}', 'c']) expect(await b.queueOffer('Q', v)).toBe(true);
    expect(await b.queueOffer('Q', 'd')).toBe(false);
    expect(await b.queuePoll('Q')).toBe('a');
    expect(await b.queuePoll('Q')).toBe('{"b":1}');
    expect(await b.queueOffer('Q', 'e')).toBe(true);
    expect(await b.queuePoll('Q')).toBe('c');
    expect(await b.queuePoll('Q')).toBe('e');
    expect(await b.queuePoll('Q')).toBeNull();
    expect(await b.queuePoll('other')).toBeNull();
  });

  it('peek leaves the head; remove takes the first item equal to the text, also after compaction', async () => {
    const b = bus();
    expect(await b.queuePeek('Q')).toBeNull();
    expect(await b.queueRemove('Q', 'x')).toBe(false);
    for (let i = 0; i < 3000; i++) await b.queueOffer('Q', String(i % 1500));
    for (let i = 0; i < 2000; i++) await b.queuePoll('Q'); // past the compaction point
    expect(await b.queuePeek('Q')).toBe('500');
    expect(await b.queuePeek('Q')).toBe('500');
    expect(await b.queueRemove('Q', '700')).toBe(true);
    expect(await b.queueRemove('Q', '700')).toBe(false); // the earlier '700' was polled
    expect(await b.queueRemove('Q', '500')).toBe(true);
    expect(await b.queuePeek('Q')).toBe('501');
    expect(b.queueSize('Q')).toBe(998);
  });

  it('keeps FIFO order across internal compaction (5,000 items)', async () => {
    const b = bus();
    for (let i = 0; i < 5000; i++) await b.queueOffer('Q', String(i));
    const got: string[] = [];
    for (let v = await b.queuePoll('Q'); v !== null; v = await b.queuePoll('Q')) got.push(v);
    expect(got).toEqual(Array.from({ length: 5000 }, (_, i) => String(i)));
  });

  it('listeners hear puts and removals until they unsubscribe; a throwing listener does not break writers', async () => {
    const b = bus();
    const heard: Array<[string, string | null]> = [];
    await b.onMapEntry('M', () => {
      throw new Error('listener bug');
    });
    const off = await b.onMapEntry('M', (k, v) => heard.push([k, v]));
    await b.mapPut('M', 'k', '1');
    await b.mapRemove('M', 'k');
    await b.mapPut('OTHER', 'k', '1');
    await off();
    await b.mapPut('M', 'k', '2');
    expect(heard).toEqual([
      ['k', '1'],
      ['k', null],
    ]);
  });

  it('health reports an open in-process store; a closed store refuses use', async () => {
    const b = bus();
    expect(b.health()).toEqual({ kind: 'memory', connected: true, pendingKeys: 0, lastError: '' });
    await b.close();
    expect(b.health().connected).toBe(false);
    await expect(b.mapGet('M', 'k')).rejects.toThrow(/closed/);
  });
});

describe('GuardedStateBus', () => {
  function guarded(readOnlyMaps: string[] = []) {
    const inner = bus();
    const alerts: WriteRefused[] = [];
    const readRefusals: ReadRefused[] = [];
    const g = new GuardedStateBus(inner, new WriteGuard(pink, (r) => alerts.push(r)), {
      readOnlyMaps,
      onReadRefused: (r) => readRefusals.push(r),
    });
    return { inner, g, alerts, readRefusals };
  }

  it('writes the namespace maps and command queue', async () => {
    const { inner, g, alerts } = guarded();
    await g.mapPut(pink.stateMap, 'engine_snapshot', '{}');
    await g.mapPut(pink.pnlMap, '2026-01-01', '{}');
    expect(await g.queueOffer(pink.commandQueue, '{}')).toBe(true);
    expect(await inner.mapGet(pink.stateMap, 'engine_snapshot')).toBe('{}');
    expect(alerts).toEqual([]);
  });

  it("refuses and alerts on writes to another strategy's map or queue, and to shared read-only maps", async () => {
    const { inner, g, alerts } = guarded([blue.stateMap]);
    await expect(g.mapPut(blue.stateMap, 'engine_snapshot', '{}')).rejects.toThrow(
      /write to map DOLPHIN_STATE_BLUE\[engine_snapshot\] refused: outside namespace "pink"/,
    );
    await expect(g.mapPut('DOLPHIN_FEATURES', 'x', '{}')).rejects.toThrow(/refused/);
    await expect(g.queueOffer(blue.commandQueue, '{}')).rejects.toThrow(
      /queue blue_runtime_commands refused/,
    );
    await expect(g.queuePoll(blue.commandQueue)).rejects.toThrow(/refused/);
    await inner.queueOffer(blue.commandQueue, '{"id":"b1"}');
    await expect(g.queuePeek(blue.commandQueue)).rejects.toThrow(/refused/);
    await expect(g.queueRemove(blue.commandQueue, '{"id":"b1"}')).rejects.toThrow(/refused/);
    expect(alerts.map((a) => a.target.kind)).toEqual(['map', 'map', 'queue', 'queue', 'queue', 'queue']);
    expect(await inner.mapEntries(blue.stateMap)).toEqual([]);
    expect(inner.queueSize(blue.commandQueue)).toBe(1); // only BLUE's own item, untouched
  });

  it('reads: own maps and shared maps always; other strategies only when opened read-only', async () => {
    const { inner, g, readRefusals } = guarded();
    await inner.mapPut(blue.stateMap, 'engine_snapshot', '{"blue":true}');
    await inner.mapPut('DOLPHIN_SAFETY', 'posture', '"APEX"');
    expect(await g.mapGet('DOLPHIN_SAFETY', 'posture')).toBe('"APEX"');
    expect(await g.mapEntries(pink.stateMap)).toEqual([]);
    await expect(g.mapGet(blue.stateMap, 'engine_snapshot')).rejects.toThrow(ReadRefused);
    await expect(g.mapEntries(blue.pnlMap)).rejects.toThrow(/read of map DOLPHIN_PNL_BLUE refused/);
    await expect(g.onMapEntry(blue.stateMap, () => {})).rejects.toThrow(/listener/);
    expect(readRefusals).toHaveLength(3);
    g.openReadOnly(blue.stateMap);
    expect(await g.mapGet(blue.stateMap, 'engine_snapshot')).toBe('{"blue":true}');
    await expect(g.mapPut(blue.stateMap, 'engine_snapshot', '{}')).rejects.toThrow(/refused/);
  });
});
