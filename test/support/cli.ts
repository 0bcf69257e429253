/** Runs the built CLI (dist/) as a child process, the way an operator does. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = `${REPO}dist/cli/main.js`;

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment a spawned `pink` gets: its own var and ClickHouse directories, an ephemeral metrics port. */
export function cliEnv(varDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CI: '1',
    PINK_VAR_DIR: varDir,
    PINK_CLICKHOUSE_DIR: join(varDir, 'clickhouse'),
    PINK_METRICS_PORT: '0',
    ...extra,
  };
}

/** Each call gets its own var directory (embedded ClickHouse allows one process per data directory). */
export function pink(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): CliResult {
  const varDir = mkdtempSync(join(tmpdir(), 'pink-var-'));
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: REPO,
    env: cliEnv(varDir, env),
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  rmSync(varDir, { recursive: true, force: true });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
