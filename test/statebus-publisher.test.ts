import { afterEach, describe, expect, it } from 'vitest';
import { GuardedStateBus } from '../src/adapters/statebus/guarded.js';
import { MemoryStateBus } from '../src/adapters/statebus/memory.js';
import { type EngineView, StatePublisher } from '../src/app/state-publisher.js';
import { lookupNamespace, WriteGuard } from '../src/domain/namespaces.js';

const buses: MemoryStateBus[] = [];
const publishers: StatePublisher[] = [];
afterEach(async () => {
  for (const p of publishers.splice(0)) p.stopHeartbeat();
  for (const b of buses.splice(0)) await b.close();
});

function view(over: Partial<EngineView> = {}): EngineView {
  return {
    ts: 1_000,
    posture: 'RUNNING',
    paused: false,
    venue: 'sim',
    algorithm: 'blue-v7-ref',
    slot: null,
    pendingOrders: 0,
    lastScan: { ts: 990, scanNumber: 7, assets: 20 },
    lastDecision: { ts: 995, action: 'HOLD', asset: null, reason: 'no signal' },
    capital: 25_000,
    equity: 25_000,
    realizedPnl: 0,
    unrealizedPnl: 0,
    fees: 0,
    funding: 0,
    openNotional: 0,
    leverage: 0,
    pnlByDay: [{ date: '2026-05-01', realizedPnl: 0, fees: 0, funding: 0, trades: 0, wins: 0, losses: 0 }],
    ...over,
  };
}

function setup(strategy = 'pink') {
  const ns = lookupNamespace(strategy);
  const mem = new MemoryStateBus({ sweepMs: 0 });
  buses.push(mem);
  let now = 5_000;
  const puts: string[] = [];
  void mem.onMapEntry(ns.stateMap, (k) => puts.push(k));
  void mem.onMapEntry(ns.pnlMap, (k) => puts.push(k));
  const pub = new StatePublisher({ bus: new GuardedStateBus(mem, new WriteGuard(ns)), ns, now: () => now });
  publishers.push(pub);
  const get = async (map: string, key: string) => JSON.parse((await mem.mapGet(map, key))!);
  return { ns, mem, pub, puts, get, tick: (ms: number) => (now += ms) };
}

describe('StatePublisher', () => {
  it('writes the DESIGN §6 surfaces of the namespace as JSON text', async () => {
    const { ns, pub, get } = setup();
    expect(await pub.publish(view())).toBe(4);
    expect(await get(ns.stateMap, 'engine_snapshot')).toMatchObject({
      strategy: 'pink',
      trader_id: 'DOLPHIN-PINK-001',
      posture: 'RUNNING',
      slot: null,
      last_scan: { ts: 990, scan_number: 7, assets: 20 },
      capital: 25_000,
      ts: 1_000,
      published_at: 5_000,
    });
    expect(await get(ns.stateMap, 'capital_checkpoint')).toMatchObject({ capital: 25_000, equity: 25_000 });
    expect(await get(ns.stateMap, 'latest_nautilus')).toMatchObject({
      in_position: false,
      posture: 'RUNNING',
    });
    expect(await get('DOLPHIN_PNL_PINK', '2026-05-01')).toMatchObject({ date: '2026-05-01', net_pnl: 0 });
  });

  it('rewrites only surfaces whose content changed (timestamps aside)', async () => {
    const { ns, pub, puts, get } = setup();
    await pub.publish(view());
    puts.length = 0;
    expect(await pub.publish(view({ ts: 2_000, lastScan: { ts: 990, scanNumber: 7, assets: 20 } }))).toBe(0);
    const slot = {
      tradeId: 't1',
      asset: 'BTCUSDT',
      side: 'SHORT' as const,
      stage: 'OPEN',
      size: 0.5,
      entryPrice: 60_000,
      barsHeld: 1,
    };
    expect(await pub.publish(view({ ts: 3_000, slot, pendingOrders: 1 }))).toBe(2);
    expect(puts.sort()).toEqual(['engine_snapshot', 'latest_nautilus']);
    expect((await get(ns.stateMap, 'engine_snapshot')).slot).toMatchObject({ trade_id: 't1', side: 'SHORT' });
    expect(await get(ns.stateMap, 'latest_nautilus')).toMatchObject({ in_position: true, asset: 'BTCUSDT' });
  });

  it('publishAll and the heartbeat rewrite everything with a fresh published_at', async () => {
    const { ns, pub, puts, get, tick } = setup();
    await pub.publish(view());
    puts.length = 0;
    tick(1_000);
    expect(await pub.publishAll()).toBe(4);
    expect((await get(ns.stateMap, 'engine_snapshot')).published_at).toBe(6_000);
    puts.length = 0;
    pub.startHeartbeat(20);
    await new Promise((r) => setTimeout(r, 90));
    pub.stopHeartbeat();
    await pub.flush();
    expect(puts.filter((k) => k === 'engine_snapshot').length).toBeGreaterThanOrEqual(2);
  });

  it('uses the namespace names only: a green publisher writes green surfaces, nothing of pink', async () => {
    const { mem, pub } = setup('green');
    await pub.publish(view());
    expect((await mem.mapEntries('DOLPHIN_STATE_GREEN')).map(([k]) => k).sort()).toEqual([
      'capital_checkpoint',
      'engine_snapshot',
      'latest_nautilus',
    ]);
    expect(await mem.mapEntries('DOLPHIN_STATE_PINK')).toEqual([]);
  });

  it('a failing bus never throws into the caller; failures are counted and retried on the next publish', async () => {
    /** The real store with an outage switch (the publisher is what is under test). */
    class FlakyBus extends MemoryStateBus {
      down = true;
      override async mapPut(map: string, key: string, value: string, ttlMs?: number) {
        if (this.down) throw new Error('store unavailable');
        return super.mapPut(map, key, value, ttlMs);
      }
    }
    const ns = lookupNamespace('pink');
    const bus = new FlakyBus({ sweepMs: 0 });
    buses.push(bus);
    const logged: string[] = [];
    const pub = new StatePublisher({ bus, ns, log: (m) => logged.push(m) });
    expect(await pub.publish(view())).toBe(0);
    expect(pub.failures).toBe(4);
    expect(logged[0]).toBe('state publish DOLPHIN_STATE_PINK[engine_snapshot] failed: store unavailable');
    bus.down = false;
    expect(await pub.publish(view({ ts: 2_000 }))).toBe(4);
    expect(await bus.mapGet(ns.stateMap, 'engine_snapshot')).not.toBeNull();
  });
});
