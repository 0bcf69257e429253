/**
 * The Hazelcast adapter:
 *  - the reconnect/buffer logic (ReconnectingStateBus) runs over a real MemoryStateBus
 *    behind a link that the test takes down and brings back;
 *  - the real hazelcast-client runs against a closed port on 127.0.0.1 (never connects);
 *  - the round trips run against the real member `npm test` starts (test/global-setup.ts).
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createHazelcastStateBus,
  hazelcastSettingsFromEnv,
  libraryLogger,
} from '../src/adapters/statebus/hazelcast.js';
import { MemoryStateBus } from '../src/adapters/statebus/memory.js';
import {
  ReconnectingStateBus,
  type RemoteStore,
  StateBusOffline,
} from '../src/adapters/statebus/reconnecting.js';
import type { StateBus } from '../src/ports/state-bus.js';
import { runMember, whyNoMember } from './support/hazelcast-run.js';

/** A remote store in front of a real in-process store, with a link that can fail or hang. */
class Link implements RemoteStore {
  down = false;
  hang = false;
  readonly puts: string[] = [];
  constructor(readonly backing = new MemoryStateBus({ sweepMs: 0 })) {}
  private async gate(): Promise<void> {
    if (this.hang) await new Promise(() => {});
    if (this.down) throw new Error('link down');
  }
  async put(map: string, key: string, value: string, ttlMs?: number) {
    await this.gate();
    this.puts.push(`${key}=${value}`);
    await this.backing.mapPut(map, key, value, ttlMs);
  }
  async get(map: string, key: string) {
    await this.gate();
    return this.backing.mapGet(map, key);
  }
  async entries(map: string) {
    await this.gate();
    return this.backing.mapEntries(map);
  }
  async offer(q: string, v: string) {
    await this.gate();
    return this.backing.queueOffer(q, v);
  }
  /** A poll answered only after this many ms (the member slow, the item already taken). */
  pollDelayMs = 0;
  async poll(q: string) {
    await this.gate();
    const item = await this.backing.queuePoll(q);
    if (this.pollDelayMs) await new Promise((r) => setTimeout(r, this.pollDelayMs));
    return item;
  }
  async peek(q: string) {
    await this.gate();
    return this.backing.queuePeek(q);
  }
  async remove(q: string, item: string) {
    await this.gate();
    return this.backing.queueRemove(q, item);
  }
  async listen(map: string, l: (k: string, v: string | null) => void) {
    await this.gate();
    return this.backing.onMapEntry(map, l);
  }
  async close() {
    await this.backing.close();
  }
}

const open: StateBus[] = [];
afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
});

function setup(
  o: {
    opTimeoutMs?: number;
    connected?: boolean;
    retryMs?: number;
    closeFlushMs?: number;
    onUnflushed?: (m: string) => void;
  } = {},
) {
  const link = new Link();
  const bus = new ReconnectingStateBus({
    kind: 'hazelcast',
    opTimeoutMs: o.opTimeoutMs ?? 200,
    retryMs: o.retryMs ?? 20,
    closeFlushMs: o.closeFlushMs,
    onUnflushed: o.onUnflushed,
  });
  bus.attach(link);
  if (o.connected ?? true) bus.setConnected(true);
  open.push(bus);
  return { link, bus };
}

const until = async (cond: () => boolean | Promise<boolean>, ms = 2000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('ReconnectingStateBus (buffer while disconnected, republish on reconnect)', () => {
  it('passes writes and reads straight through while connected', async () => {
    const { link, bus } = setup();
    await bus.mapPut('S', 'k', '{"v":1}', 60_000);
    expect(await link.backing.mapGet('S', 'k')).toBe('{"v":1}');
    expect(await bus.mapGet('S', 'k')).toBe('{"v":1}');
    expect(bus.health()).toEqual({ kind: 'hazelcast', connected: true, pendingKeys: 0, lastError: '' });
  });

  it('while disconnected: writes neither throw nor wait, only the latest value per key is kept', async () => {
    const { link, bus } = setup();
    link.down = true;
    bus.setConnected(false);
    const t0 = Date.now();
    for (let i = 1; i <= 1000; i++) await bus.mapPut('S', 'engine_snapshot', JSON.stringify({ i }));
    await bus.mapPut('P', '2026-01-01', '{"pnl":1}');
    expect(Date.now() - t0).toBeLessThan(500);
    expect(bus.health()).toMatchObject({ connected: false, pendingKeys: 2 });
    expect(bus.health().lastError).not.toBe('');
    // The runtime reading its own latest value gets it from the buffer.
    expect(await bus.mapGet('S', 'engine_snapshot')).toBe('{"i":1000}');
    await expect(bus.mapGet('S', 'never-written')).rejects.toThrow(StateBusOffline);
    expect(await bus.queuePoll('Q')).toBeNull();
    expect(await bus.queueOffer('Q', '{}')).toBe(false);
    await expect(bus.mapPut('S', 'bad', 'nope')).rejects.toThrow(/not JSON text/);

    link.down = false;
    bus.setConnected(true);
    await until(() => bus.health().pendingKeys === 0);
    expect(link.puts).toEqual(['engine_snapshot={"i":1000}', '2026-01-01={"pnl":1}']);
    expect(await link.backing.mapGet('S', 'engine_snapshot')).toBe('{"i":1000}');
    expect(bus.health()).toMatchObject({ connected: true, lastError: '' });
  });

  it('a write that hangs past opTimeoutMs is buffered and retried, not awaited forever', async () => {
    const { link, bus } = setup({ opTimeoutMs: 50 });
    link.hang = true;
    const t0 = Date.now();
    await bus.mapPut('S', 'k', '{"v":1}');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(bus.health().pendingKeys).toBe(1);
    expect(bus.health().lastError).toMatch(/timed out after 50 ms/);
    link.hang = false;
    await until(() => bus.health().pendingKeys === 0);
    expect(await link.backing.mapGet('S', 'k')).toBe('{"v":1}');
  });

  it('a value written during republish lands after the older buffered one, never before', async () => {
    const { link, bus } = setup();
    bus.setConnected(false);
    for (let i = 0; i < 50; i++) await bus.mapPut('S', `k${i}`, String(i));
    bus.setConnected(true); // republish starts
    await bus.mapPut('S', 'k49', '"newest"');
    await until(() => bus.health().pendingKeys === 0);
    expect(await link.backing.mapGet('S', 'k49')).toBe('"newest"');
    // The older buffered 49 is superseded before it is sent; the newest is the last put of k49.
    expect(link.puts.filter((p) => p.startsWith('k49='))).toEqual(['k49="newest"']);
    expect(link.puts).toHaveLength(50);
  });

  it('TTL keeps counting while buffered; an entry that expired while offline is not republished', async () => {
    const { link, bus } = setup();
    bus.setConnected(false);
    await bus.mapPut('S', 'brief', '1', 30);
    await bus.mapPut('S', 'lasting', '2', 60_000);
    await new Promise((r) => setTimeout(r, 60));
    bus.setConnected(true);
    await until(() => bus.health().pendingKeys === 0);
    expect(link.puts).toEqual(['lasting=2']);
  });

  it('a write after a failed one of the same key is not overtaken by the retry of the older value', async () => {
    const { link, bus } = setup({ opTimeoutMs: 50 });
    link.down = true;
    await bus.mapPut('S', 'capital_checkpoint', '{"capital":1}');
    link.down = false;
    await bus.mapPut('S', 'capital_checkpoint', '{"capital":2}');
    await until(() => bus.health().pendingKeys === 0);
    await new Promise((r) => setTimeout(r, 60)); // past the retry
    expect(link.puts).toEqual(['capital_checkpoint={"capital":2}']);
    expect(await link.backing.mapGet('S', 'capital_checkpoint')).toBe('{"capital":2}');
  });

  it('a poll answered after the time limit is not dropped: the next poll returns its item', async () => {
    const { link, bus } = setup({ opTimeoutMs: 50 });
    await link.backing.queueOffer('Q', '{"id":"c1"}');
    await link.backing.queueOffer('Q', '{"id":"c2"}');
    link.pollDelayMs = 150; // the member takes c1 off the queue at once, answers late
    expect(await bus.queuePoll('Q')).toBeNull();
    expect(bus.health().lastError).toMatch(/poll Q timed out after 50 ms/);
    link.pollDelayMs = 0;
    await new Promise((r) => setTimeout(r, 200));
    expect(await bus.queuePoll('Q')).toBe('{"id":"c1"}');
    expect(await bus.queuePoll('Q')).toBe('{"id":"c2"}');
    expect(await bus.queuePoll('Q')).toBeNull();
  });

  it('peek and remove: nothing and false while the link is down or slow, the item stays for later', async () => {
    const { link, bus } = setup({ opTimeoutMs: 50 });
    await link.backing.queueOffer('Q', '{"id":"c1"}');
    link.down = true;
    expect(await bus.queuePeek('Q')).toBeNull();
    expect(await bus.queueRemove('Q', '{"id":"c1"}')).toBe(false);
    link.down = false;
    link.hang = true;
    expect(await bus.queuePeek('Q')).toBeNull();
    expect(bus.health().lastError).toMatch(/peek Q timed out after 50 ms/);
    expect(await bus.queueRemove('Q', '{"id":"c1"}')).toBe(false);
    expect(bus.health().lastError).toMatch(/remove from Q timed out after 50 ms/);
    link.hang = false;
    expect(await bus.queuePeek('Q')).toBe('{"id":"c1"}');
    expect(await bus.queueRemove('Q', '{"id":"c1"}')).toBe(true);
    expect(await bus.queuePeek('Q')).toBeNull();
  });

  it('a poll that fails is asked again, not replayed', async () => {
    const { link, bus } = setup({ opTimeoutMs: 50 });
    await link.backing.queueOffer('Q', '{"id":"c1"}');
    link.down = true;
    expect(await bus.queuePoll('Q')).toBeNull();
    link.down = false;
    expect(await bus.queuePoll('Q')).toBe('{"id":"c1"}');
    expect(await bus.queuePoll('Q')).toBeNull();
  });

  it('close lands the writes still buffered (a lease release among them) before it closes the link', async () => {
    const unflushed: string[] = [];
    // No retry before close: only close itself can land the buffered value.
    const { link, bus } = setup({ retryMs: 60_000, onUnflushed: (m) => unflushed.push(m) });
    link.down = true;
    await bus.mapPut('S', 'runtime_lease', '{"ttlMs":15000}');
    await bus.mapPut('S', 'runtime_lease', '{"ttlMs":0}');
    expect(bus.health().pendingKeys).toBe(1);
    link.down = false;
    await bus.close();
    expect(link.puts).toEqual(['runtime_lease={"ttlMs":0}']);
    expect(unflushed).toEqual([]);
  });

  it('close gives up after closeFlushMs on a hung link and names what it could not land', async () => {
    const unflushed: string[] = [];
    const { link, bus } = setup({
      opTimeoutMs: 50,
      retryMs: 60_000,
      closeFlushMs: 300,
      onUnflushed: (m) => unflushed.push(m),
    });
    link.hang = true;
    await bus.mapPut('S', 'engine_snapshot', '{"v":1}');
    await bus.mapPut('P', '2026-12-06', '{"pnl":1}');
    const t0 = Date.now();
    await bus.close();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(unflushed).toEqual([
      'state bus closed with 2 write(s) not published: S[engine_snapshot], P[2026-12-06] (last error: put S[engine_snapshot] timed out after 50 ms)',
    ]);
  });

  it('a listener registered before a disconnect is not registered twice after reconnecting', async () => {
    const { link, bus } = setup();
    const heard: string[] = [];
    await bus.onMapEntry('S', (k) => heard.push(k));
    bus.setConnected(false);
    bus.setConnected(true);
    await new Promise((r) => setTimeout(r, 20));
    await link.backing.mapPut('S', 'once', '1');
    expect(heard).toEqual(['once']);
  });

  it('listeners requested while offline are registered once the link is up', async () => {
    const { link, bus } = setup({ connected: false });
    const heard: string[] = [];
    const off = await bus.onMapEntry('S', (k, v) => heard.push(`${k}=${v}`));
    bus.setConnected(true);
    await until(async () => {
      await link.backing.mapPut('S', 'x', '1');
      return heard.length > 0;
    });
    await off();
    const n = heard.length;
    await link.backing.mapPut('S', 'y', '2');
    expect(heard.length).toBe(n);
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('createHazelcastStateBus with the real hazelcast-client', () => {
  it('parses HAZELCAST_MEMBERS / HAZELCAST_CLUSTER_NAME and refuses malformed members', () => {
    expect(hazelcastSettingsFromEnv({})).toBeNull();
    expect(hazelcastSettingsFromEnv({ HAZELCAST_MEMBERS: ' 10.0.0.1:5701, hz:5702 ' })).toEqual({
      members: ['10.0.0.1:5701', 'hz:5702'],
      clusterName: 'dev',
    });
    expect(
      hazelcastSettingsFromEnv({ HAZELCAST_MEMBERS: 'a:1', HAZELCAST_CLUSTER_NAME: 'prod' })?.clusterName,
    ).toBe('prod');
    expect(() => hazelcastSettingsFromEnv({ HAZELCAST_MEMBERS: 'no-port' })).toThrow(
      /"no-port" is not host:port/,
    );
  });

  it('with no member reachable: starts at once, buffers writes, reports health, closes quickly', async () => {
    const port = await closedPort();
    const t0 = Date.now();
    const bus = await createHazelcastStateBus({ members: [`127.0.0.1:${port}`], clusterName: 'dev' });
    expect(Date.now() - t0).toBeLessThan(2000);
    await bus.mapPut('DOLPHIN_STATE_PINK', 'engine_snapshot', '{"a":1}');
    await bus.mapPut('DOLPHIN_STATE_PINK', 'engine_snapshot', '{"a":2}');
    expect(bus.health()).toMatchObject({ kind: 'hazelcast', connected: false, pendingKeys: 1 });
    expect(bus.health().lastError).toContain(`127.0.0.1:${port}`);
    expect(await bus.queuePoll('pink_runtime_commands')).toBeNull();
    const t1 = Date.now();
    await bus.close();
    expect(Date.now() - t1).toBeLessThan(3000);
  });
});

describe("hazelcast-client's own messages", () => {
  it('go to the structured logger at their level, tagged with the client object; nothing below the chosen level', async () => {
    const port = await closedPort();
    const lines: string[] = [];
    const sink = (level: string) => (m: string) => lines.push(`${level} ${m}`);
    const log = { error: sink('error'), warn: sink('warn'), info: sink('info'), debug: sink('debug') };
    const bus = await createHazelcastStateBus({ members: [`127.0.0.1:${port}`], clusterName: 'dev', log });
    const deadline = Date.now() + 10_000;
    while (!lines.some((l) => l.startsWith('warn ')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await bus.close();
    expect(lines.find((l) => l.startsWith('warn '))).toMatch(
      new RegExp(`^warn hazelcast ConnectionManager: .*127\\.0\\.0\\.1:${port}`),
    );
    // Default WARN: the client's INFO chatter (starting, trying to connect) is not passed on.
    expect(lines.filter((l) => l.startsWith('info ') || l.startsWith('debug '))).toEqual([]);
  });

  it('maps each ILogger level and the detail of an Error', () => {
    const lines: string[] = [];
    const sink = (level: string) => (m: string) => lines.push(`${level} ${m}`);
    const log = { error: sink('error'), warn: sink('warn'), info: sink('info'), debug: sink('debug') };
    const hz = libraryLogger(log, 'INFO');
    hz.error('Invocation', 'failed', new Error('member left'));
    hz.warn('Cluster', 'no connection');
    hz.info('Lifecycle', 'STARTED', undefined);
    hz.debug('Heartbeat', 'beat');
    hz.log(1, 'Partition', 'stale table', { partitions: 271 });
    expect(lines).toEqual([
      'error hazelcast Invocation: failed: Error: member left',
      'warn hazelcast Cluster: no connection',
      'info hazelcast Lifecycle: STARTED',
      'warn hazelcast Partition: stale table: {"partitions":271}',
    ]);
  });
});

const member = runMember();
describe.skipIf(!member)(
  `the real Hazelcast member of this run ${member ? '' : `(skipped: ${whyNoMember()})`}`,
  () => {
    const connect = async () => {
      const bus = await createHazelcastStateBus({ ...member!, opTimeoutMs: 5000 });
      open.push(bus);
      await until(() => bus.health().connected, 15_000);
      return bus;
    };

    it('puts JSON text, reads it back byte for byte, lists entries, queues FIFO and hears entry events', async () => {
      const bus = await connect();
      const map = `PINK_TEST_${Date.now()}`;
      const heard: string[] = [];
      await bus.onMapEntry(map, (k, v) => heard.push(`${k}=${v}`));
      const text = '{"v":1,"price":0.1234567890123,"note":"é ✓"}';
      await bus.mapPut(map, 'k', text, 60_000);
      expect(await bus.mapGet(map, 'k')).toBe(text);
      expect(await bus.mapEntries(map)).toEqual([['k', text]]);
      expect(await bus.queueOffer(`${map}_q`, 'a')).toBe(true);
      expect(await bus.queueOffer(`${map}_q`, 'b')).toBe(true);
      expect(await bus.queuePoll(`${map}_q`)).toBe('a');
      expect(await bus.queuePoll(`${map}_q`)).toBe('b');
      expect(await bus.queuePoll(`${map}_q`)).toBeNull();
      // Peek takes nothing; remove takes exactly the text named, wherever it is.
      for (const v of ['c', 'd', 'c']) await bus.queueOffer(`${map}_q`, v);
      expect(await bus.queuePeek(`${map}_q`)).toBe('c');
      expect(await bus.queuePeek(`${map}_q`)).toBe('c');
      expect(await bus.queueRemove(`${map}_q`, 'd')).toBe(true);
      expect(await bus.queueRemove(`${map}_q`, 'd')).toBe(false);
      expect(await bus.queueRemove(`${map}_q`, 'c')).toBe(true);
      expect(await bus.queuePoll(`${map}_q`)).toBe('c');
      expect(await bus.queuePeek(`${map}_q`)).toBeNull();
      await until(() => heard.includes(`k=${text}`), 5000);
    });

    it('an entry written with a TTL is gone after it, and its expiry is heard', async () => {
      const bus = await connect();
      const map = `PINK_TTL_${Date.now()}`;
      const heard: string[] = [];
      await bus.onMapEntry(map, (k, v) => heard.push(`${k}=${v}`));
      await bus.mapPut(map, 'short', '"x"', 1000);
      await bus.mapPut(map, 'long', '"y"', 600_000);
      await until(async () => (await bus.mapGet(map, 'short')) === null, 10_000);
      expect(await bus.mapGet(map, 'long')).toBe('"y"');
      await until(() => heard.includes('short=null'), 10_000);
    });

    it('a second client sees what the first wrote; a queue item is taken by one of them only', async () => {
      const a = await connect();
      const b = await connect();
      const map = `PINK_TWO_${Date.now()}`;
      await a.mapPut(map, 'k', '"from a"');
      expect(await b.mapGet(map, 'k')).toBe('"from a"');
      await a.queueOffer(`${map}_q`, 'only-once');
      const taken = [await b.queuePoll(`${map}_q`), await a.queuePoll(`${map}_q`)];
      expect(taken).toEqual(['only-once', null]);
    });
  },
);
