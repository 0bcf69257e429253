/**
 * Isolation on a shared cluster, as production runs it, and the JSON contract across
 * languages (issue #17, 4 and 5). BLUE's tooling is Python: test/support/blue_tooling.py,
 * on the official hazelcast-python-client, writes BLUE's state, PnL and command queue and
 * the shared read-only maps before the PINK run, and publishes the scans PINK trades on
 * (`pink run --source features`) on DOLPHIN_FEATURES while rewriting BLUE's entries during
 * it. Afterwards every BLUE entry is what BLUE last wrote, byte for byte, no BLUE queue item
 * was taken, and the only distributed objects that appeared are PINK's own. The same client
 * reads PINK's maps as JSON and sends a SET_CAPITAL through PINK's queue, applied once.
 * Its own member, so the cluster's object list holds only this scenario's objects.
 *
 * The lease across hosts (issue #17, 6): a second runtime that names the same member
 * another way (`localhost:PORT`, as a second host would name it) shares no host lock with
 * the first, so only the lease on the cluster keeps it from trading beside it.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lookupNamespace } from '../src/domain/namespaces.js';
import { pink } from './support/cli.js';
import { startMember } from './support/hazelcast-member.js';
import { runMember, whyNoMember } from './support/hazelcast-run.js';
import { lastScan, ledgerCounts, READY, ready, startRun } from './support/pink-run.js';
import { blueTooling, pythonClient } from './support/python-hazelcast.js';
import { until } from './support/wait.js';

const ns = lookupNamespace('pink');
const root = mkdtempSync(join(tmpdir(), 'pink-hziso-'));
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const memberHere = runMember() !== null;
const py = memberHere ? pythonClient() : { unavailable: 'no Hazelcast member' };
if ('unavailable' in py && memberHere && process.env.CI === 'true')
  throw new Error(`CI needs the Python Hazelcast client: ${py.unavailable}`);
const why = !memberHere ? whyNoMember() : 'unavailable' in py ? py.unavailable : '';

type Surfaces = Record<string, Record<string, string>>;

/** This file's member, started by the first test that needs it (the scenarios run one after the other). */
let member: Promise<{ members: string; clusterName: string }> | null = null;
function sharedMember() {
  member ??= startMember({}).then((m) => {
    cleanups.push(() => m.stop());
    return { members: m.address, clusterName: m.clusterName };
  });
  return member;
}

describe.skipIf(why !== '')(`isolation on a shared cluster ${why ? `(skipped: ${why})` : ''}`, () => {
  it("BLUE's tooling in Python before and during a PINK run: BLUE untouched, PINK's objects only, PINK's maps read and commanded from Python", async () => {
    const python = (py as { python: string }).python;
    const cluster = await sharedMember();
    const m = { address: cluster.members, clusterName: cluster.clusterName };
    const tooling = <T>(...args: string[]) => blueTooling<T>(python, cluster, args);

    const seeded = tooling<{ objects: string[]; queue: string[] }>('seed');
    expect(seeded.queue).toHaveLength(3);
    const scans = join(root, 'scans.jsonl');
    const sim = pink(['simulate', '--scans', '150', '--assets', '5', '--out', scans]);
    expect(sim.code, sim.stderr).toBe(0);
    const lines = readFileSync(scans, 'utf8').trim().split('\n');
    const finalScan = (JSON.parse(lines.at(-1)!) as { scan: number }).scan;

    const env = { HAZELCAST_MEMBERS: m.address, HAZELCAST_CLUSTER_NAME: m.clusterName };
    const run = startRun(join(root, 'var'), env, cleanups, ['--source', 'features']);
    await ready(run);
    const published = tooling<{ published: number; blue: Surfaces }>('publish', scans, '20');
    expect(published.published).toBe(lines.length);
    await until(`PINK to decide scan ${finalScan}`, 60_000, async () => lastScan(run) === finalScan);

    // The JSON contract across languages: every value of PINK's maps parses in Python.
    const pinkMaps = tooling<Record<string, Record<string, unknown>>>('read-pink');
    const state = pinkMaps[ns.stateMap]!;
    for (const key of ['engine_snapshot', 'capital_checkpoint', 'latest_nautilus', 'runtime_lease'])
      expect(state[key], key).toBeTypeOf('object');
    expect(Object.keys(pinkMaps[ns.pnlMap]!).length).toBeGreaterThan(0);
    const command = { id: 'py-cap-1', type: 'SET_CAPITAL', amount: 33_333, reason: 'from BLUE tooling' };
    const { outcome } = tooling<{ outcome: { status: string } | null }>('send', JSON.stringify(command));
    expect(outcome?.status).toBe('APPLIED');
    await until('capital_checkpoint at 33333', 10_000, async () => {
      const now = tooling<Record<string, Record<string, { capital?: number }>>>('read-pink');
      return now[ns.stateMap]?.capital_checkpoint?.capital === 33_333;
    });

    run.child.kill('SIGTERM');
    expect(await run.exit, run.log().slice(-3000)).toBe(0);
    const after = tooling<{ blue: Surfaces; queue: string[]; objects: string[] }>('snapshot');
    expect(after.blue).toEqual(published.blue); // byte for byte what BLUE wrote last
    expect(after.queue).toEqual(seeded.queue); // none of BLUE's commands taken
    const appeared = after.objects.filter((o) => !seeded.objects.includes(o)).map((o) => o.split(':').at(-1));
    expect(appeared.sort()).toEqual([ns.pnlMap, ns.stateMap, ns.commandQueue].sort());

    const ledger = await ledgerCounts(run.varDir);
    expect(ledger.decisions).toBe(lines.length); // every published scan decided once
    expect(ledger.scans).toBe(lines.length);
    expect(ledger.commands).toEqual({ 'py-cap-1': 1 });
    expect(run.log()).not.toMatch(/WriteRefused|ReadRefused/);
  }, 240_000);

  it('the lease across hosts: a second runtime naming the cluster differently (so no host lock is shared) cannot trade beside the first', async () => {
    const cluster = await sharedMember();
    const port = cluster.members.split(':')[1]!;
    const asFirst = { HAZELCAST_MEMBERS: cluster.members, HAZELCAST_CLUSTER_NAME: cluster.clusterName };
    // Another spelling of the same member: what a second host would write. The host lock
    // keys on the spelling, so only the lease on the cluster stands between them.
    const asSecond = { HAZELCAST_MEMBERS: `localhost:${port}`, HAZELCAST_CLUSTER_NAME: cluster.clusterName };
    const first = startRun(join(root, 'lease-a'), asFirst, cleanups);
    await ready(first);
    const refused = startRun(join(root, 'lease-b'), asSecond, cleanups);
    expect(await refused.exit, refused.log().slice(-2000)).toBe(2);
    expect(refused.log()).toMatch(
      /holds the lease DOLPHIN_STATE_PINK\[runtime_lease\].*refusing to start a second one/,
    );
    expect(refused.log()).not.toMatch(READY);

    // A clean stop releases it: the second starts at once.
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
    const second = startRun(join(root, 'lease-b'), asSecond, cleanups);
    await ready(second);

    // Killed without a goodbye, the holder keeps the lease until its time to live runs out
    // (15 s; the entry's own time to live removes it): a third is refused meanwhile, then starts.
    second.child.kill('SIGKILL');
    await second.exit;
    const killedAt = Date.now();
    const early = startRun(join(root, 'lease-c'), asFirst, cleanups);
    expect(await early.exit).toBe(2);
    expect(early.log()).toMatch(/holds the lease/);
    const third = await until('the expired lease taken over', 40_000, async () => {
      const r = startRun(join(root, 'lease-c'), asFirst, cleanups);
      await until('a start to settle', 60_000, async () => r.child.exitCode !== null || READY.test(r.log()));
      return r.child.exitCode === null ? r : null;
    });
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    third.child.kill('SIGTERM');
    expect(await third.exit).toBe(0);
  }, 180_000);
});
