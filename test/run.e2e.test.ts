/**
 * `pink run` on embedded defaults as an operator runs it: starts, becomes ready,
 * trades the simulated market, answers `pink ctl` from a second process, refuses a
 * second runtime on the same namespace, stops cleanly on SIGTERM, and after a
 * restart the ledger is complete: no decision or terminal row lost or doubled.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClickHouseClient } from '../src/adapters/clickhouse/client.js';
import { CLI, pink, REPO } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pink-run-'));
const env = {
  PINK_VAR_DIR: join(dir, 'var'),
  PINK_CLICKHOUSE_DIR: join(dir, 'var', 'clickhouse'),
  PINK_SCAN_INTERVAL_MS: '25',
  PINK_HEARTBEAT_MS: '500',
  PINK_METRICS_PORT: '0',
};

function start(extra: string[] = []): {
  child: ChildProcess;
  log: () => string;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, [CLI, 'run', ...extra], {
    cwd: REPO,
    env: { ...process.env, CI: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  child.stderr?.on('data', (b: Buffer) => {
    text += b.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, log: () => text, exit };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('pink run as a service', () => {
  it('starts, is ready, answers ctl, refuses a twin, stops on SIGTERM, and the ledger is complete after a restart', async () => {
    const first = start();
    await until(() => /ready/.test(first.log()), 60_000, 'ready');
    await until(() => existsSync(join(dir, 'var', 'run', 'pink.json')), 10_000, 'discovery file');
    await new Promise((r) => setTimeout(r, 3000));

    const twin = pink(['run'], env, 60_000);
    expect(twin.code).toBe(2);
    expect(twin.stderr).toMatch(/already running/);

    const status = pink(['ctl', 'status'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/posture\s+RUNNING/);
    expect(pink(['ctl', 'healthcheck'], env).code).toBe(0);
    expect(pink(['ctl', 'mode-verify'], env).code).toBe(0);

    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
    expect(first.log()).toMatch(/SIGTERM received/);
    expect(first.log()).toMatch(/stopping \(SIGTERM\)/);
    expect(existsSync(join(dir, 'var', 'run', 'pink.lock'))).toBe(false);
    expect(pink(['ctl', 'healthcheck'], env).code).toBe(2);

    const second = start(['--scans', '60']);
    expect(await second.exit).toBe(0);
    expect(second.log()).toMatch(/ready/);

    const journal = JSON.parse(readFileSync(join(dir, 'var', 'run', 'pink-journal.json'), 'utf8')) as {
      lastScan: number;
    };
    const { client } = await createClickHouseClient({ dataDir: env.PINK_CLICKHOUSE_DIR });
    try {
      const q = async <T>(sql: string) =>
        (await client.query({ query: sql, format: 'JSONEachRow' })).json<T>();
      const [d] = await q<{ n: string; scans: string; last: string }>(
        'SELECT count() AS n, uniqExact(scan) AS scans, max(scan) AS last FROM dolphin_pink.v7_decision_events',
      );
      expect(Number(d!.n)).toBe(Number(d!.scans));
      expect(Number(d!.last)).toBe(journal.lastScan);
      const [t] = await q<{ n: string; ids: string }>(
        'SELECT count() AS n, uniqExact(trade_id) AS ids FROM dolphin_pink.trade_events',
      );
      expect(Number(t!.n)).toBe(Number(t!.ids));
      const [s] = await q<{ n: string }>('SELECT count() AS n FROM dolphin_pink.status_snapshots');
      expect(Number(s!.n)).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  }, 240_000);
});
