/**
 * Faults on a real Hazelcast cluster while PINK runs (issue #17, 3). Each scenario starts
 * its own members (it kills them), on loopback with a cluster name of its own:
 *  - one member SIGKILLed while PINK trades, then started again on the same port: PINK
 *    keeps trading (the journal's scan count keeps rising), /healthz and `ctl healthcheck`
 *    say the state bus is down while it is, a command sent meanwhile is refused as not
 *    sent (never half-sent), the state is republished on reconnect, the command sent
 *    again is applied once, and the ledger has every scan exactly once;
 *  - a cluster of two, one member SIGKILLed while commands wait in the queue for a stopped
 *    runtime: the survivor holds every published entry unchanged and every queued command,
 *    the lease was released on the clean stop (the next start is not refused), and the
 *    next run applies each command once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'hazelcast-client';
import { afterAll, describe, expect, it } from 'vitest';
import { lookupNamespace } from '../src/domain/namespaces.js';
import { commandOutcomeKey } from '../src/ports/state-bus.js';
import { pink } from './support/cli.js';
import { type Member, startMember } from './support/hazelcast-member.js';
import { runMember, whyNoMember } from './support/hazelcast-run.js';
import { healthz, lastScan, ledgerCounts, ready, startRun } from './support/pink-run.js';
import { freePort, until } from './support/wait.js';

const ns = lookupNamespace('pink');
const root = mkdtempSync(join(tmpdir(), 'pink-hzfault-'));
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function member(o: Parameters<typeof startMember>[0]): Promise<Member> {
  const m = await startMember(o);
  cleanups.push(() => m.kill());
  return m;
}

async function client(clusterName: string, members: string[]): Promise<Client> {
  const c = await Client.newHazelcastClient({
    clusterName,
    network: { clusterMembers: members },
    properties: { 'hazelcast.logging.level': 'OFF' },
  });
  cleanups.push(() => c.shutdown());
  return c;
}

const available = runMember() !== null;

describe.skipIf(!available)(
  `faults on a real Hazelcast cluster ${available ? '' : `(skipped: ${whyNoMember()})`}`,
  () => {
    it('member SIGKILLed while PINK trades: trading goes on, the outage is reported, state comes back, commands once, ledger whole', async () => {
      const port = await freePort();
      const clusterName = `pink-fault-${port}`;
      let m = await member({ clusterName, port });
      const env = { HAZELCAST_MEMBERS: m.address, HAZELCAST_CLUSTER_NAME: clusterName };
      const run = startRun(join(root, 'one'), env, cleanups);
      await ready(run);
      const hz = await client(clusterName, [m.address]);
      const state = await hz.getMap<string, string>(ns.stateMap);
      await until('engine_snapshot', 20_000, async () => (await state.get('engine_snapshot')) ?? null);
      expect((await healthz(run)).status).toBe(200);

      await m.kill();
      const killedAt = lastScan(run);
      // While the member is gone: the runtime says the state bus is down, and keeps trading.
      const down = await until('healthz to report the state bus down', 20_000, async () => {
        const h = await healthz(run);
        return h.status === 503 && h.body.components?.statebus === false ? h : null;
      });
      expect(down.body.components).toMatchObject({ statebus: false, clickhouse: true, venue: true });
      const check = pink(['ctl', 'healthcheck'], env, 60_000);
      expect(check.code).toBe(2);
      expect(check.stderr).toContain(`cannot reach Hazelcast members ${m.address}`);
      const during =
        '{"id":"outage-cap","type":"SET_CAPITAL","amount":27000,"reason":"sent during the outage"}';
      const refused = pink(['ctl', 'send', during, '--timeout', '2000'], env, 60_000);
      expect(refused.code).toBe(2);
      expect(refused.stdout).not.toContain('sent SET_CAPITAL');
      await until(
        'scans to go on while the member is down',
        20_000,
        async () => lastScan(run) > killedAt + 40,
      );
      expect(run.child.exitCode).toBeNull();

      // Back on the same port (an empty member: everything PINK holds must be published again).
      m = await member({ clusterName, port });
      const hz2 = await client(clusterName, [m.address]);
      const state2 = await hz2.getMap<string, string>(ns.stateMap);
      for (const key of ['engine_snapshot', 'capital_checkpoint', 'latest_nautilus', 'runtime_lease'])
        await until(`${key} republished`, 30_000, async () => (await state2.get(key)) ?? null);
      await until('healthz ok again', 20_000, async () => (await healthz(run)).status === 200);
      expect(pink(['ctl', 'healthcheck'], env, 60_000).code).toBe(0);
      const sent = pink(['ctl', 'send', during], env, 60_000);
      expect(sent.code, sent.stderr).toBe(0);
      expect(sent.stdout).toContain('APPLIED SET_CAPITAL id=outage-cap');
      const again = pink(['ctl', 'send', during], env, 60_000);
      expect(again.code).toBe(1);
      expect(again.stdout).toContain('DUPLICATE SET_CAPITAL id=outage-cap');

      run.child.kill('SIGTERM');
      expect(await run.exit, run.log().slice(-3000)).toBe(0);
      const l = await ledgerCounts(run.varDir);
      // Every scan decided once, none missing across the outage.
      expect(l.decisions).toBe(l.scans);
      expect(l.last - l.first + 1).toBe(l.scans);
      expect(l.last).toBe(lastScan(run));
      expect(l.commands).toEqual({ 'outage-cap': 1 });
    }, 240_000);

    it('two-member cluster, one SIGKILLed: published state and queued commands survive on the other', async () => {
      const clusterName = `pink-pair-${Date.now()}`;
      const [pa, pb] = [await freePort(), await freePort()];
      const both = [`127.0.0.1:${pa}`, `127.0.0.1:${pb}`];
      const a = await member({ clusterName, port: pa, join: both });
      const b = await member({ clusterName, port: pb, join: both });
      const hz = await client(clusterName, [b.address]);
      await until('a cluster of two', 30_000, async () => hz.getCluster().getMembers().length === 2);
      const env = { HAZELCAST_MEMBERS: both.join(','), HAZELCAST_CLUSTER_NAME: clusterName };
      const varDir = join(root, 'pair');
      const first = startRun(varDir, env, cleanups);
      await ready(first);
      const state = await hz.getMap<string, string>(ns.stateMap);
      const pnl = await hz.getMap<string, string>(ns.pnlMap);
      await until('a day of PnL', 90_000, async () => (await pnl.size()) > 0);
      first.child.kill('SIGTERM');
      expect(await first.exit).toBe(0);
      const published = new Map(await state.entrySet());
      const days = new Map(await pnl.entrySet());
      for (const key of ['engine_snapshot', 'capital_checkpoint', 'latest_nautilus'])
        expect(published.has(key), key).toBe(true);

      // Commands queued while no runtime reads them.
      const queue = await hz.getQueue<string>(ns.commandQueue);
      const commands = [
        { id: 'q-1', type: 'SET_CAPITAL', amount: 40_000 },
        { id: 'q-2', type: 'PAUSE', reason: 'queued' },
        { id: 'q-3', type: 'CAPITAL_UPDATE', amount: 41_000 },
      ];
      for (const c of commands) expect(await queue.offer(JSON.stringify(c))).toBe(true);

      await a.kill();
      await until('the survivor alone', 30_000, async () => hz.getCluster().getMembers().length === 1);
      expect(new Map(await state.entrySet())).toEqual(published);
      expect(new Map(await pnl.entrySet())).toEqual(days);
      expect(await queue.size()).toBe(commands.length);

      const second = startRun(varDir, env, cleanups);
      await ready(second);
      for (const c of commands)
        await until(`the outcome of ${c.id}`, 20_000, async () => {
          const t = await state.get(commandOutcomeKey(c.id));
          return t ? (JSON.parse(t) as { status: string }).status === 'APPLIED' : null;
        });
      // An item leaves the queue only after its outcome is published (processor.ts): wait for it.
      await until('the queue empty', 10_000, async () => (await queue.size()) === 0);
      await until('engine_snapshot PAUSED', 10_000, async () =>
        /"posture":"PAUSED"/.test((await state.get('engine_snapshot')) ?? ''),
      );
      second.child.kill('SIGTERM');
      expect(await second.exit).toBe(0);
      expect((await ledgerCounts(varDir)).commands).toEqual({ 'q-1': 1, 'q-3': 1 });
      await b.stop();
    }, 240_000);
  },
);
