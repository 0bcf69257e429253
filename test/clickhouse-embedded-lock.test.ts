/**
 * One process per embedded data directory (chDB): a second opener is told which process
 * holds it, in PINK's own words (issue #16, 6). chDB itself says so only on its native
 * stderr, with a bare "Failed to create connection" as the error. A status file left by
 * a killed process holds no lock and blocks nothing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedHolder } from '../src/adapters/clickhouse/client.js';
import { pink, REPO } from './support/cli.js';
import { until } from './support/wait.js';

const varDir = mkdtempSync(join(tmpdir(), 'pink-chlock-'));
const dataDir = join(varDir, 'clickhouse');
const env = { PINK_VAR_DIR: varDir, PINK_CLICKHOUSE_DIR: dataDir };
let holder: ChildProcess | null = null;
afterAll(() => {
  holder?.kill('SIGKILL');
});

/** Another process with the ledger open (as `pink run` would have), until killed. */
function holdOpen(): Promise<ChildProcess> {
  const script = `
    const { createClickHouseClient } = await import(${JSON.stringify(`${REPO}dist/adapters/clickhouse/client.js`)});
    const { client } = await createClickHouseClient({ dataDir: ${JSON.stringify(dataDir)} });
    await client.query({ query: 'SELECT 1', format: 'JSONEachRow' });
    process.stdout.write('open\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
}

describe('embedded ClickHouse held by another process', () => {
  it('names the process holding it; chDB is not even asked (no native stderr)', async () => {
    holder = await holdOpen();
    expect(embeddedHolder(dataDir)?.pid).toBe(holder.pid);
    const r = pink(['report', '--out', join(varDir, 'report')], env);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `embedded ClickHouse at ${dataDir} is in use by process ${holder.pid} \\(open since [^)]+\\): chDB allows one process per data directory`,
      ),
    );
    expect(r.stderr).not.toContain('DB::Exception');
  }, 60_000);

  it('after a kill -9 of the holder its status file is left, holds nothing, and the ledger opens', async () => {
    holder!.kill('SIGKILL');
    await until(
      'the holder to be gone',
      10_000,
      async () => holder!.exitCode !== null || holder!.signalCode !== null,
    );
    expect(existsSync(join(dataDir, 'status'))).toBe(true);
    expect(embeddedHolder(dataDir)).toBeNull();
    const r = pink(['report', '--out', join(varDir, 'report')], env);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);
});
