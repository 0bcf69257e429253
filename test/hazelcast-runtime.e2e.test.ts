/**
 * `pink run` on the real Hazelcast member of this test run (test/global-setup.ts), as an
 * operator runs it with HAZELCAST_MEMBERS: the published state is JSON text in the real
 * maps (read back here with the plain hazelcast-client, not PINK's adapter), `pink ctl`
 * and the TUI's source command it through the real `pink_runtime_commands` queue from
 * another var directory (so the cluster is the only way in), every command id is applied
 * exactly once (checked in the ledger afterwards), and a malformed command is refused
 * with its reason written back.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'hazelcast-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oncePerCommand } from '../src/adapters/clickhouse/rows.js';
import { unknownCommandId } from '../src/app/control/commands.js';
import { AccountProjection, type AccountState } from '../src/domain/account.js';
import { lookupNamespace } from '../src/domain/namespaces.js';
import { commandOutcomeKey } from '../src/ports/state-bus.js';
import { openSource } from '../src/tui/source.js';
import { pink } from './support/cli.js';
import { runMember, whyNoMember } from './support/hazelcast-run.js';
import { ledgerCounts, type Run, ready, startRun } from './support/pink-run.js';
import { freePort, until } from './support/wait.js';

const ns = lookupNamespace('pink');
const member = runMember();
const dir = mkdtempSync(join(tmpdir(), 'pink-hzrun-'));
const hzEnv: Record<string, string> = member
  ? { HAZELCAST_MEMBERS: member.members.join(','), HAZELCAST_CLUSTER_NAME: member.clusterName }
  : {};

describe.skipIf(!member)(
  `pink run on the real Hazelcast member ${member ? '' : `(skipped: ${whyNoMember()})`}`,
  () => {
    let hz: Client;
    let run: Run;
    const cleanups: Array<() => Promise<void>> = [];
    const varDir = join(dir, 'var');

    const stateText = async (key: string): Promise<string | null> => {
      const v = await (await hz.getMap<string, unknown>(ns.stateMap)).get(key);
      if (v === null || v === undefined) return null;
      expect(typeof v, `${ns.stateMap}[${key}] is JSON text, not an object`).toBe('string');
      return v as string;
    };
    const outcome = (id: string) =>
      until(`the outcome of ${id}`, 15_000, async () => {
        const t = await stateText(commandOutcomeKey(id));
        return t === null ? null : (JSON.parse(t) as { status: string; reason: string; type: string | null });
      });
    const offerRaw = async (text: string) =>
      expect(await (await hz.getQueue<string>(ns.commandQueue)).offer(text)).toBe(true);

    beforeAll(async () => {
      hz = await Client.newHazelcastClient({
        clusterName: member!.clusterName,
        network: { clusterMembers: member!.members },
        properties: { 'hazelcast.logging.level': 'OFF' },
      });
      for (const m of [ns.stateMap, ns.pnlMap]) await (await hz.getMap(m)).clear();
      await (await hz.getQueue(ns.commandQueue)).clear();
      run = startRun(varDir, hzEnv, cleanups);
      await ready(run);
    }, 120_000);

    afterAll(async () => {
      for (const c of cleanups) await c();
      await hz?.shutdown();
    });

    it('publishes engine_snapshot, capital_checkpoint, latest_nautilus and per-day PnL as JSON text in the real maps', async () => {
      for (const key of ['engine_snapshot', 'capital_checkpoint', 'latest_nautilus']) {
        const text = await until(`${ns.stateMap}[${key}]`, 20_000, () => stateText(key));
        expect(() => JSON.parse(text), `${key}: ${text.slice(0, 200)}`).not.toThrow();
      }
      const snapshot = JSON.parse((await stateText('engine_snapshot'))!) as Record<string, unknown>;
      expect(snapshot).toMatchObject({ posture: 'RUNNING', venue: 'sim', algorithm: 'blue-v7-ref' });
      // A day's PnL appears once a trade has closed on the simulated market.
      const pnl = await hz.getMap<string, unknown>(ns.pnlMap);
      const day = await until(`a day in ${ns.pnlMap}`, 90_000, async () => {
        const [e] = await pnl.entrySet();
        return e ?? null;
      });
      expect(day[0]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(typeof day[1]).toBe('string');
      expect(JSON.parse(day[1] as string)).toBeTypeOf('object');
    }, 120_000);

    it('pink ctl from another var directory commands the runtime through the cluster', async () => {
      const pause = pink(['ctl', 'pause', '--reason', 'hz e2e'], hzEnv);
      expect(pause.code, pause.stderr).toBe(0);
      expect(pause.stdout).toContain(`to ${ns.commandQueue} (Hazelcast`);
      expect(pause.stdout).toMatch(/APPLIED PAUSE id=\S+: paused: no new entries/);
      await until('engine_snapshot to show PAUSED', 10_000, async () =>
        /"posture":"PAUSED"/.test((await stateText('engine_snapshot')) ?? ''),
      );
      const status = pink(['ctl', 'status'], hzEnv);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/posture\s+PAUSED/);
      expect(pink(['ctl', 'resume'], hzEnv).code).toBe(0);

      const capital = pink(['ctl', 'set-capital', '31000', '--reason', 'hz top-up'], hzEnv);
      expect(capital.code, capital.stderr).toBe(0);
      const mirror = await stateText(ns.capitalMirrorKey);
      expect(mirror).not.toBeNull();
      expect(JSON.parse(mirror!)).toMatchObject({ type: 'SET_CAPITAL', amount: 31000, reason: 'hz top-up' });
    }, 120_000);

    it('a command id is applied once: ctl answers a repeat DUPLICATE, a repeat on the queue is not applied', async () => {
      const text = '{"id":"hz-once","type":"SET_CAPITAL","amount":32000,"reason":"hz once"}';
      const first = pink(['ctl', 'send', text], hzEnv);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain('APPLIED SET_CAPITAL id=hz-once');
      const again = pink(['ctl', 'send', text], hzEnv);
      expect(again.code).toBe(1);
      expect(again.stdout).toMatch(
        /DUPLICATE SET_CAPITAL id=hz-once: handled before, not sent again; the first time: APPLIED/,
      );

      // Straight onto the queue twice, as a careless tool would: the second is not applied.
      const raw = '{"id":"hz-raw","type":"CAPITAL_UPDATE","amount":33000}';
      await offerRaw(raw);
      await offerRaw(raw);
      expect((await outcome('hz-raw')).status).toBe('APPLIED');
      await until('the repeat to be seen', 10_000, async () =>
        /command hz-raw already handled; not applied again/.test(run.log()),
      );
      expect(await (await hz.getQueue(ns.commandQueue)).size()).toBe(0);
    }, 120_000);

    it('a malformed command on the queue is refused with its reason and changes nothing', async () => {
      await offerRaw('{"id":"hz-bad","type":"SET_CAPITAL","amount":"lots"}');
      const bad = await outcome('hz-bad');
      expect(bad.status).toBe('REFUSED');
      expect(bad.reason).toMatch(/amount/);
      const garbage = 'SET_CAPITAL 1000000';
      await offerRaw(garbage);
      const unreadable = await outcome(unknownCommandId(garbage));
      expect(unreadable).toMatchObject({ status: 'REFUSED', type: null });
      expect(unreadable.reason).toMatch(/^not JSON/);
      expect(JSON.parse((await stateText(ns.capitalMirrorKey))!)).toMatchObject({
        id: 'hz-raw',
        amount: 33000,
      });
    }, 60_000);

    it("the TUI's source reads the state from the cluster and its keys command the runtime", async () => {
      const { source, readOnly } = await openSource({
        env: { ...hzEnv, PINK_VAR_DIR: join(dir, 'tui-var') },
        commandTimeoutMs: 10_000,
      });
      try {
        expect(readOnly).toBe(false);
        const reading = await source.read();
        expect(reading.kind, JSON.stringify(reading)).toBe('state');
        if (reading.kind !== 'state') return;
        expect(reading.where).toContain(`Hazelcast ${member!.members.join(',')}`);
        expect(reading.texts.engineSnapshot).toMatch(/"posture":"RUNNING"/);
        const paused = await source.control!('PAUSE');
        expect(paused).toMatchObject({ status: 'APPLIED', type: 'PAUSE' });
        const resumed = await source.control!('RESUME');
        expect(resumed).toMatchObject({ status: 'APPLIED', type: 'RESUME' });
      } finally {
        await source.close();
      }
    }, 60_000);

    it('stops on SIGTERM, and the ledger holds each applied capital command once and the refused one never', async () => {
      run.child.kill('SIGTERM');
      expect(await run.exit, run.log()).toBe(0);
      const { commands: counts } = await ledgerCounts(varDir);
      expect(counts['hz-once'], JSON.stringify(counts)).toBe(1);
      expect(counts['hz-raw']).toBe(1);
      expect(counts['hz-bad']).toBeUndefined();
      expect(
        Object.values(counts).every((n) => n === 1),
        JSON.stringify(counts),
      ).toBe(true);
    }, 60_000);
  },
);

/**
 * kill -9 around an operator command's journal checkpoint (issue #17, 3), on the real member:
 * the queue outlives PINK, so the command is still there when the runtime comes back.
 * First killed after applying SET_CAPITAL in memory and flushing its ledger row, before the
 * checkpoint; then killed right after the checkpoint of the next one, before its outcome is
 * published or it leaves the queue. Each is applied once, each gets its outcome, and the
 * capital rows, one per command as capital replay counts them, match the journal.
 */
describe.skipIf(!member)('operator commands across kill -9 on the real member', () => {
  let hz: Client;
  const cleanups: Array<() => Promise<void>> = [];
  const varDir = join(dir, 'crash-var');
  const journal = () =>
    JSON.parse(readFileSync(join(varDir, 'run', 'pink-journal.json'), 'utf8')) as {
      commands?: Array<[string, string]>;
      account: AccountState;
    };
  const journaledIds = () => (journal().commands ?? []).map(([id]) => id);
  const queueSize = async () => (await hz.getQueue<string>(ns.commandQueue)).size();
  const offer = async (id: string, amount: number) =>
    expect(
      await (await hz.getQueue<string>(ns.commandQueue)).offer(
        JSON.stringify({ id, type: 'SET_CAPITAL', amount, reason: 'crash e2e' }),
      ),
    ).toBe(true);
  /** A killed runtime's lease holds until its time to live is out; then the next may start. */
  const leaseExpired = async () => {
    const text = (await (await hz.getMap<string, string>(ns.stateMap)).get('runtime_lease')) ?? null;
    if (text === null) return;
    const lease = JSON.parse(text) as { renewedAt: number; ttlMs: number };
    await new Promise((r) => setTimeout(r, Math.max(0, lease.renewedAt + lease.ttlMs - Date.now() + 300)));
  };
  const killedAt = async (point: string) => {
    const run = startRun(varDir, { ...hzEnv, PINK_FAULT_KILL_AT: point }, cleanups);
    await ready(run);
    return run;
  };

  beforeAll(async () => {
    hz = await Client.newHazelcastClient({
      clusterName: member!.clusterName,
      network: { clusterMembers: member!.members },
      properties: { 'hazelcast.logging.level': 'OFF' },
    });
    await (await hz.getQueue(ns.commandQueue)).clear();
    await (await hz.getMap(ns.stateMap)).clear();
  }, 60_000);

  afterAll(async () => {
    for (const c of cleanups) await c();
    await hz?.shutdown();
  });

  it('killed before and after the checkpoint: applied once each, outcomes published, capital rows match', async () => {
    // 1. Killed after the effect and its ledger row, before the journal records the command.
    const first = await killedAt('before-command-checkpoint');
    await offer('crash-a', 41_000);
    await first.exit;
    expect(first.child.signalCode, first.log()).toBe('SIGKILL');
    expect(await queueSize()).toBe(1);
    expect(journaledIds()).not.toContain('crash-a');

    // 2. Restarted: crash-a is applied (again: its first effect died with the process), then
    //    killed right after the checkpoint of crash-b, before its outcome and its removal.
    await leaseExpired();
    const second = await killedAt('after-command-checkpoint:2');
    await offer('crash-b', 42_000);
    await second.exit;
    expect(second.child.signalCode, second.log()).toBe('SIGKILL');
    expect(journaledIds()).toEqual(expect.arrayContaining(['crash-a', 'crash-b']));
    expect(AccountProjection.fromState(journal().account).capital).toBe(42_000);
    expect(await queueSize()).toBe(1);
    const map = await hz.getMap<string, string>(ns.stateMap);
    expect(await map.get(commandOutcomeKey('crash-b'))).toBeNull();

    // 3. A clean start: crash-b is known from the journal: removed, its outcome published.
    await leaseExpired();
    const third = startRun(varDir, hzEnv, cleanups);
    await ready(third);
    await until('the queue to drain', 20_000, async () => (await queueSize()) === 0);
    for (const id of ['crash-a', 'crash-b']) {
      const text = await until(`the outcome of ${id}`, 15_000, () => map.get(commandOutcomeKey(id)));
      expect(JSON.parse(text), id).toMatchObject({ id, status: 'APPLIED', type: 'SET_CAPITAL' });
    }
    expect(third.log()).toMatch(/command crash-b already handled; not applied again/);
    third.child.kill('SIGTERM');
    expect(await third.exit, third.log()).toBe(0);

    // crash-a's row from the killed process stays in the append-only ledger beside the one
    // that held; crash-b's row was written once. Capital replay counts one per command:
    // the last, and the capital path it gives is the journal's.
    const { commands, capitalRows } = await ledgerCounts(varDir);
    expect(commands).toMatchObject({ 'crash-a': 2, 'crash-b': 1 });
    const held = oncePerCommand(capitalRows).filter((r) => r.command_id.startsWith('crash-'));
    expect(held.map((r) => [r.command_id, r.capital])).toEqual([
      ['crash-a', 41_000],
      ['crash-b', 42_000],
    ]);
    expect(held[1]!.capital_delta).toBe(1_000);
    expect(AccountProjection.fromState(journal().account).capital).toBe(42_000);
  }, 180_000);
});

describe('pink run with HAZELCAST_MEMBERS that do not answer', () => {
  it('exits 2 naming the members and why, before anything trades (the runtime lease lives there)', async () => {
    const port = await freePort();
    const r = pink(['run', '--scans', '50'], { HAZELCAST_MEMBERS: `127.0.0.1:${port}` }, 60_000);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `cannot reach Hazelcast members 127.0.0.1:${port} (cluster "dev") within 10000 ms`,
    );
    expect(r.stderr).toMatch(/the runtime lease \(one runtime per namespace\) is kept there/);
    expect(r.stderr).not.toMatch(/"msg":"ready"/);
  }, 60_000);
});
