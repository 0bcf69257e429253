/**
 * The live scan source on DOLPHIN_FEATURES (issue #6 item 4): read-only subscription,
 * values validated exactly like replay scans, duplicates skipped, bad values refused
 * with the reason while the runtime keeps trading.
 */
import { describe, expect, it } from 'vitest';
import { MemoryJournal } from '../src/adapters/files/journal.js';
import { GuardedStateBus } from '../src/adapters/statebus/guarded.js';
import { MemoryStateBus } from '../src/adapters/statebus/memory.js';
import { FEATURES_MAP, featuresScans } from '../src/app/features-source.js';
import { simVenueFor } from '../src/app/replay.js';
import { Runtime, type ScanInput } from '../src/app/runtime.js';
import type { CanonicalEvent } from '../src/domain/events.js';
import { lookupNamespace, WriteGuard, type WriteRefused } from '../src/domain/namespaces.js';
import { simulateScans } from '../src/market/simulator.js';
import type { EntryListener, StateBus } from '../src/ports/state-bus.js';
import { BlueV7Ref } from '../src/strategy/blue-v7-ref.js';

const KEY = 'latest_eigen_scan';

function pinkBus() {
  const shared = new MemoryStateBus();
  const alerts: WriteRefused[] = [];
  const bus = new GuardedStateBus(shared, new WriteGuard(lookupNamespace('pink'), (r) => alerts.push(r)));
  // The features service writes the shared map directly; PINK sees it only through its guard.
  const publish = (value: string) => shared.mapPut(FEATURES_MAP, KEY, value);
  return { bus, publish, alerts };
}

async function take(it: AsyncIterator<ScanInput>, n: number): Promise<ScanInput[]> {
  const out: ScanInput[] = [];
  for (let i = 0; i < n; i++) out.push((await it.next()).value as ScanInput);
  return out;
}

/** A runtime on the sim venue fed by the features source. */
function featuresRuntime(bus: StateBus, signal: AbortSignal, events: CanonicalEvent[]): Runtime {
  return new Runtime({
    namespace: 'pink',
    strategy: new BlueV7Ref(),
    capital: 25_000,
    journal: new MemoryJournal(),
    makeVenue: (marks) => simVenueFor(marks, { seed: 3 }),
    source: featuresScans(bus, { key: KEY }, signal),
    sinks: [(e) => events.push(e)],
    idleMs: 5,
    log: () => {},
  });
}

describe('DOLPHIN_FEATURES scan source', () => {
  it('passes every published scan in order, starting from the current value, and skips re-publications', async () => {
    const { bus, publish } = pinkBus();
    const scans = [...simulateScans({ scans: 4, assets: 3, seed: 5 })];
    await publish(JSON.stringify(scans[0]));
    const abort = new AbortController();
    const stats = { received: 0, duplicates: 0, dropped: 0 };
    const it = featuresScans(bus, { key: KEY }, abort.signal, stats)[Symbol.asyncIterator]();
    const first = it.next();
    await new Promise((r) => setTimeout(r, 5));
    await publish(JSON.stringify(scans[1]));
    await publish(JSON.stringify(scans[1])); // re-published by the service: not a new scan
    await publish(JSON.stringify(scans[2]));
    const got = [(await first).value as ScanInput, ...(await take(it, 2))];
    expect(got.map((g) => (g.value as { scan: number }).scan)).toEqual(scans.slice(0, 3).map((s) => s.scan));
    expect(got[0]?.where).toContain(`${FEATURES_MAP}[${KEY}]`);
    expect(stats.duplicates).toBe(1);
    abort.abort();
    expect((await it.next()).done).toBe(true);
  });

  it('refuses a value that is not JSON with the reason (a Hazelcast map can hold anything)', async () => {
    // The in-process store refuses non-JSON puts itself, so this bus hands over raw text
    // the way a foreign writer on Hazelcast could.
    let deliver: EntryListener = () => {};
    const raw = {
      onMapEntry: async (_map: string, l: EntryListener) => {
        deliver = l;
        return async () => {};
      },
      mapGet: async () => null,
    } as unknown as StateBus;
    const abort = new AbortController();
    const it = featuresScans(raw, { key: KEY }, abort.signal)[Symbol.asyncIterator]();
    const next = it.next();
    await new Promise((r) => setTimeout(r, 5));
    deliver('other_key', '{"ignored": true}');
    deliver(KEY, '{"scan": 1, "ts": ');
    const bad = (await next).value as ScanInput;
    expect(bad.parseError).toMatch(/not valid JSON/);
    expect(bad.where).toBe(`${FEATURES_MAP}[${KEY}]`);
    abort.abort();
    await it.next();
  });

  it('is read-only for PINK: a write to DOLPHIN_FEATURES is refused by the guard and raises an alert', async () => {
    const { bus, alerts } = pinkBus();
    await expect(bus.mapPut(FEATURES_MAP, KEY, '{}')).rejects.toThrow(/refused: outside namespace "pink"/);
    expect(alerts).toHaveLength(1);
  });

  it('feeds the runtime: valid scans are decided, bad ones refused naming the problem, trading goes on', async () => {
    const { bus, publish } = pinkBus();
    const abort = new AbortController();
    const events: CanonicalEvent[] = [];
    const scans = [...simulateScans({ scans: 60, assets: 4, seed: 9 })];
    const runtime = featuresRuntime(bus, abort.signal, events);
    await runtime.start();
    const running = runtime.run();
    const bad = [
      '"just a string"',
      JSON.stringify({ ...scans[21], scan: (scans[20]?.scan ?? 0) + 0.5, assets: {} }),
    ];
    for (const [i, scan] of scans.entries()) {
      await publish(JSON.stringify(scan));
      if (i === 20) for (const b of bad) await publish(b);
      await new Promise((r) => setTimeout(r, 2));
    }
    const deadline = Date.now() + 5_000;
    while (events.filter((e) => e.type === 'decision').length < scans.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    abort.abort();
    await runtime.stop('test over');
    await running;
    const decided = events
      .filter((e) => e.type === 'decision')
      .map((e) => (e.type === 'decision' ? e.record.scan : 0));
    expect(decided).toEqual(scans.map((s) => s.scan));
    const rejected = events.flatMap((e) => (e.type === 'scan_rejected' ? [e.reason] : []));
    expect(rejected).toHaveLength(2);
    expect(rejected[0]).toMatch(/object/);
    expect(rejected[1]).toMatch(/scan|assets/);
  });

  it('a runtime stopped while the feed is quiet stops at once (SIGTERM of pink run --source features)', async () => {
    const { bus, publish } = pinkBus();
    const abort = new AbortController(); // aborted only after the runtime has stopped, as pink run does
    const events: CanonicalEvent[] = [];
    const [first] = [...simulateScans({ scans: 1, assets: 3, seed: 4 })];
    const runtime = featuresRuntime(bus, abort.signal, events);
    await runtime.start();
    const running = runtime.run();
    await publish(JSON.stringify(first));
    const deadline = Date.now() + 5_000;
    while (!events.some((e) => e.type === 'decision') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    await runtime.stop('SIGTERM');
    const ended = await Promise.race([
      running.then(() => 'stopped'),
      new Promise((r) => setTimeout(() => r('still waiting for a scan'), 2_000)),
    ]);
    abort.abort();
    expect(ended).toBe('stopped');
  });
});
