/**
 * A `pink run` child process for the end-to-end tests on a real cluster: started with its
 * own var directory, its stderr kept, waited for `ready`, and read back afterwards
 * (the journal's last scan, /healthz, the ledger's per-scan and per-command counts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createClickHouseClient } from '../../src/adapters/clickhouse/client.js';
import { CLI, cliEnv, REPO } from './cli.js';
import { until } from './wait.js';

export interface Run {
  readonly child: ChildProcess;
  readonly log: () => string;
  readonly exit: Promise<number | null>;
  readonly varDir: string;
}

/** Starts `pink run ARGS`; `cleanups` gets a SIGKILL for it in case the test ends early. */
export function startRun(
  varDir: string,
  env: Record<string, string>,
  cleanups: Array<() => Promise<void>>,
  args: readonly string[] = [],
): Run {
  const child = spawn(process.execPath, [CLI, 'run', ...args], {
    cwd: REPO,
    env: cliEnv(varDir, { PINK_SCAN_INTERVAL_MS: '25', PINK_HEARTBEAT_MS: '300', ...env }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  child.stderr?.on('data', (b: Buffer) => {
    text += b.toString();
  });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exit;
  });
  return { child, log: () => text, exit, varDir };
}

/** The runtime's `ready: …` log line (JSON logs; a bare /ready/ also matches "already"). */
export const READY = /"msg":"ready: /;

export async function ready(run: Run): Promise<void> {
  await until(
    'pink run to be ready',
    90_000,
    async () => READY.test(run.log()) || run.child.exitCode !== null,
  );
  expect(run.child.exitCode, run.log()).toBeNull();
}

/** The last scan the runtime's journal has checkpointed. */
export const lastScan = (run: Run): number =>
  (JSON.parse(readFileSync(join(run.varDir, 'run', 'pink-journal.json'), 'utf8')) as { lastScan: number })
    .lastScan;

const metricsPort = (run: Run) => Number(/"metrics_port":(\d+)/.exec(run.log())?.[1]);

export async function healthz(
  run: Run,
): Promise<{ status: number; body: { components?: Record<string, boolean> } }> {
  const r = await fetch(`http://127.0.0.1:${metricsPort(run)}/healthz`);
  return { status: r.status, body: (await r.json()) as { components?: Record<string, boolean> } };
}

/** Decision rows and distinct scans in the ledger, its capital rows (in order) and their count per command id. */
export async function ledgerCounts(varDir: string) {
  const { client: ch } = await createClickHouseClient({ dataDir: join(varDir, 'clickhouse') });
  try {
    const q = async <T>(sql: string) => (await ch.query({ query: sql, format: 'JSONEachRow' })).json<T>();
    const [d] = await q<{ n: string; scans: string; first: string; last: string }>(
      'SELECT count() AS n, uniqExact(scan) AS scans, min(scan) AS first, max(scan) AS last FROM dolphin_pink.v7_decision_events',
    );
    const capitalRows = await q<{ command_id: string; capital: number; capital_delta: number }>(
      "SELECT command_id, capital, capital_delta FROM dolphin_pink.status_snapshots WHERE command_id != '' ORDER BY ts, event_seq",
    );
    const commands: Record<string, number> = {};
    for (const r of capitalRows) commands[r.command_id] = (commands[r.command_id] ?? 0) + 1;
    return {
      decisions: Number(d!.n),
      scans: Number(d!.scans),
      first: Number(d!.first),
      last: Number(d!.last),
      commands,
      capitalRows,
    };
  } finally {
    await ch.close();
  }
}
