import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DiscoveryError,
  discoveryPath,
  isProcessAlive,
  readDiscovery,
  removeDiscovery,
  writeDiscovery,
} from '../src/adapters/statebus/discovery.js';
import { GuardedStateBus } from '../src/adapters/statebus/guarded.js';
import { MemoryStateBus } from '../src/adapters/statebus/memory.js';
import { RemoteBusError, RemoteStateBus } from '../src/adapters/statebus/remote.js';
import { type StateServer, startStateServer } from '../src/adapters/statebus/state-server.js';
import { lookupNamespace, WriteGuard } from '../src/domain/namespaces.js';
import { commandOutcomeKey } from '../src/ports/state-bus.js';

const pink = lookupNamespace('pink');
const blue = lookupNamespace('blue');
const TOKEN = 'a'.repeat(64);
const dir = mkdtempSync(path.join(os.tmpdir(), 'pink-statebus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let bus: MemoryStateBus;
let server: StateServer;
let remote: RemoteStateBus;
beforeEach(async () => {
  bus = new MemoryStateBus();
  server = await startStateServer(new GuardedStateBus(bus, new WriteGuard(pink)), {
    ns: pink,
    commandToken: () => TOKEN,
  });
  remote = new RemoteStateBus({ baseUrl: server.url, ns: pink, pollMs: 20, commandToken: TOKEN });
});
afterEach(async () => {
  await remote.close();
  await server.close();
  await bus.close();
});

describe('state server + RemoteStateBus over loopback', () => {
  it('listens on 127.0.0.1 and serves health', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const h = await remote.serverHealth();
    expect(h).toMatchObject({ strategy: 'pink', stateMap: pink.stateMap, commandQueue: pink.commandQueue });
    expect(remote.health()).toMatchObject({ kind: 'remote', connected: true });
  });

  it("reads the namespace's maps exactly as stored (JSON text), keys with odd characters included", async () => {
    await bus.mapPut(pink.stateMap, 'engine_snapshot', '{"posture":"RUNNING","x":1.50}');
    await bus.mapPut(pink.stateMap, 'command_outcome:unknown:ab/cd', '{"ok":true}');
    await bus.mapPut(pink.pnlMap, '2026-05-01', '{"pnl":3}');
    expect(await remote.mapGet(pink.stateMap, 'engine_snapshot')).toBe('{"posture":"RUNNING","x":1.50}');
    expect(await remote.mapGet(pink.stateMap, 'command_outcome:unknown:ab/cd')).toBe('{"ok":true}');
    expect(await remote.mapGet(pink.stateMap, 'missing')).toBeNull();
    expect(await remote.mapEntries(pink.pnlMap)).toEqual([['2026-05-01', '{"pnl":3}']]);
  });

  it("refuses other strategies' maps and shared maps over HTTP (403 with the reason)", async () => {
    await bus.mapPut(blue.stateMap, 'engine_snapshot', '{}');
    await expect(remote.mapGet(blue.stateMap, 'engine_snapshot')).rejects.toThrow(
      /HTTP 403: map "DOLPHIN_STATE_BLUE" is not served/,
    );
    await expect(remote.mapEntries('DOLPHIN_FEATURES')).rejects.toThrow(/403/);
    const res = await fetch(`${server.url}/map/${blue.stateMap}`);
    expect(res.status).toBe(403);
  });

  it('is read-only: no map writes, no polls, only the command queue accepts offers', async () => {
    await expect(remote.mapPut(pink.stateMap, 'k')).rejects.toThrow(/read-only/);
    await expect(remote.queuePoll(pink.commandQueue)).rejects.toThrow(/only the runtime consumes/);
    await expect(remote.queueOffer(blue.commandQueue, '{}')).rejects.toThrow(RemoteBusError);
    const direct = await fetch(`${server.url}/queue/${blue.commandQueue}`, { method: 'POST', body: '{}' });
    expect(direct.status).toBe(403);
    const put = await fetch(`${server.url}/map/${pink.stateMap}/k`, { method: 'PUT', body: '{}' });
    expect(put.status).toBe(405);
    expect(await bus.mapEntries(pink.stateMap)).toEqual([]);
    expect(bus.queueSize(blue.commandQueue)).toBe(0);
  });

  it('offers a command to the queue and long-polls its outcome', async () => {
    expect(await remote.queueOffer(pink.commandQueue, '{"id":"c1","type":"PAUSE"}')).toBe(true);
    expect(await bus.queuePoll(pink.commandQueue)).toBe('{"id":"c1","type":"PAUSE"}');
    const t0 = Date.now();
    const waiting = remote.waitForOutcome('c1', 5000);
    setTimeout(() => void bus.mapPut(pink.stateMap, commandOutcomeKey('c1'), '{"status":"APPLIED"}'), 50);
    expect(await waiting).toBe('{"status":"APPLIED"}');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await remote.waitForOutcome('never', 100)).toBeNull();
    const tooBig = await fetch(`${server.url}/queue/${pink.commandQueue}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: 'x'.repeat(70_000),
    });
    expect(tooBig.status).toBe(413);
  });

  it('emulates entry listeners by polling', async () => {
    const heard: string[] = [];
    const off = await remote.onMapEntry(pink.stateMap, (k, v) => heard.push(`${k}=${v}`));
    await bus.mapPut(pink.stateMap, 'a', '1');
    await new Promise((r) => setTimeout(r, 80));
    await bus.mapRemove(pink.stateMap, 'a');
    await new Promise((r) => setTimeout(r, 80));
    await off();
    expect(heard).toEqual(['a=1', 'a=null']);
  });

  it('reports an unreachable server with its address', async () => {
    const port = server.port;
    await server.close();
    const r = new RemoteStateBus({ baseUrl: `http://127.0.0.1:${port}`, ns: pink, requestTimeoutMs: 1000 });
    await expect(r.mapGet(pink.stateMap, 'k')).rejects.toThrow(
      /cannot reach PINK state server at http:\/\/127\.0\.0\.1/,
    );
    expect(r.health().connected).toBe(false);
    server = await startStateServer(bus, { ns: pink, commandToken: () => TOKEN });
  });
});

describe('discovery file', () => {
  it('writes and reads {pid, statePort, startedAt}; missing file = null', async () => {
    const run = path.join(dir, 'run');
    expect(await readDiscovery(run, pink)).toBeNull();
    const file = await writeDiscovery(run, pink, {
      pid: process.pid,
      statePort: 4321,
      startedAt: '2026-01-01T00:00:00Z',
    });
    expect(file).toBe(path.join(run, 'pink.json'));
    expect(await readDiscovery(run, pink)).toEqual({
      pid: process.pid,
      statePort: 4321,
      startedAt: '2026-01-01T00:00:00Z',
      host: '127.0.0.1',
    });
    expect(isProcessAlive(process.pid)).toBe(true);
    await removeDiscovery(run, pink, process.pid + 1); // someone else's: kept
    expect(await readDiscovery(run, pink)).not.toBeNull();
    await removeDiscovery(run, pink);
    expect(await readDiscovery(run, pink)).toBeNull();
  });

  it('names the file and field when the file is malformed', async () => {
    const run = path.join(dir, 'bad');
    await writeDiscovery(run, pink, { pid: 1, statePort: 1, startedAt: 'x' });
    writeFileSync(discoveryPath(run, pink), '{"pid":1,"statePort":"http","startedAt":"x"}');
    await expect(readDiscovery(run, pink)).rejects.toThrow(DiscoveryError);
    await expect(readDiscovery(run, pink)).rejects.toThrow(/pink\.json: field "statePort"/);
    writeFileSync(discoveryPath(run, pink), '{oops');
    await expect(readDiscovery(run, pink)).rejects.toThrow(/is not JSON/);
  });
});
