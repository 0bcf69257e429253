/**
 * One runtime per namespace across hosts that share a ClickHouse server but no Hazelcast
 * cluster (issue #16, 4): the lease in the namespace database's `runtime_lease` table, on
 * the ClickHouse engine that runs here (embedded chDB, the same SQL a server runs). Two
 * "hosts" are two lease clients on one engine, as two hosts are two clients of one server.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseLeaseStore } from '../src/adapters/clickhouse/lease-store.js';
import { applySchema } from '../src/adapters/clickhouse/schema.js';
import { loadConfig } from '../src/app/config.js';
import { LEASE_KEY, takeLease } from '../src/app/runtime-lease.js';
import { leaseHome } from '../src/cli/commands/run-wiring.js';
import { type EmbeddedEngine, openEmbedded, PINK } from './clickhouse-support.js';
import { leaseHolder, leaseLifecycle } from './support/lease-lifecycle.js';

const DB = PINK.clickhouseDb;
let ch: EmbeddedEngine;

beforeAll(async () => {
  ch = await openEmbedded('lease');
  await applySchema(ch.client, DB, ch.guard);
});
afterAll(() => ch?.close());

describe('the runtime lease in ClickHouse', () => {
  it('a live lease refuses, an expired one is taken over, a released one is free', async () => {
    const store = clickhouseLeaseStore(ch.client, DB, `${LEASE_KEY}:sequential`);
    expect(store.where).toBe('dolphin_pink.runtime_lease[runtime_lease:sequential]');
    await leaseLifecycle(store, PINK);
    // Every take, renewal and release is a row: the history of who held the namespace.
    const [row] = await ch.rows<{ n: string }>(
      `SELECT count() AS n FROM ${DB}.runtime_lease WHERE key = '${LEASE_KEY}:sequential'`,
    );
    expect(Number(row!.n)).toBe(5); // a's take and renewal, b's take and release, c's take (refusals and a's late release write nothing)
  });

  it('two runtimes starting together: exactly one keeps the lease, the other refuses naming it', async () => {
    const store = clickhouseLeaseStore(ch.client, DB, `${LEASE_KEY}:together`);
    const starts = await Promise.allSettled(
      ['host-a', 'host-b'].map((host) =>
        takeLease({ store, ns: PINK, holder: leaseHolder(host), ttlMs: 15_000, settleMs: 200 }),
      ),
    );
    const kept = starts.filter((s) => s.status === 'fulfilled');
    const refused = starts.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(kept).toHaveLength(1);
    expect(refused).toHaveLength(1);
    // Which message depends on whether the other's row was already there when this one looked.
    expect(String(refused[0]!.reason)).toMatch(
      /(started at the same time elsewhere and took the lease|holds the lease \S+) \(pid 1 on host-/,
    );
  });
});

describe('where pink run keeps its lease', () => {
  const home = (env: Record<string, string>) => leaseHome(loadConfig({ env }));
  it('on the cluster when there is one, else on a ClickHouse server, else nowhere beyond the host lock', () => {
    expect(home({ HAZELCAST_MEMBERS: '127.0.0.1:5701' })).toBe('hazelcast');
    expect(home({ HAZELCAST_MEMBERS: '127.0.0.1:5701', CLICKHOUSE_URL: 'http://127.0.0.1:8123' })).toBe(
      'hazelcast',
    );
    expect(home({ CLICKHOUSE_URL: 'http://127.0.0.1:8123' })).toBe('clickhouse');
    expect(home({})).toBeNull(); // in-process store and embedded chDB: nothing shared with another host
  });

  it('the same from a config file: a shared server or cluster named there takes the lease there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pink-lease-config-'));
    try {
      const fromFile = (values: object, env: Record<string, string> = {}) => {
        const file = join(dir, 'pink.json');
        writeFileSync(file, JSON.stringify({ strategy: 'pink', ...values }));
        return leaseHome(loadConfig({ file, env }));
      };
      expect(fromFile({ clickhouse: { url: 'http://127.0.0.1:8123' } })).toBe('clickhouse');
      expect(fromFile({ hazelcast: { members: ['127.0.0.1:5701'] } })).toBe('hazelcast');
      expect(
        fromFile({
          clickhouse: { url: 'http://127.0.0.1:8123' },
          hazelcast: { members: ['127.0.0.1:5701'] },
        }),
      ).toBe('hazelcast');
      // The environment overrides the file, and the lease follows what is really used.
      expect(fromFile({}, { CLICKHOUSE_URL: 'http://127.0.0.1:8123' })).toBe('clickhouse');
      expect(
        fromFile({ clickhouse: { url: 'http://127.0.0.1:8123' } }, { HAZELCAST_MEMBERS: '127.0.0.1:5701' }),
      ).toBe('hazelcast');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
