/**
 * BLUE's tooling language for the cross-language tests: the official Python client
 * (hazelcast-python-client, pinned) in a virtual environment of its own beside
 * node_modules, made once (about 6 s) and kept. Recipe: ../shared/docs/REAL-PARTS.md "Clients".
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const PYTHON_CLIENT = 'hazelcast-python-client==5.7.0';
const VENV = resolve(import.meta.dirname, '../../node_modules/.cache/hazelcast-python');
const PYTHON = join(VENV, 'bin', 'python');
const TOOLING = resolve(import.meta.dirname, 'blue_tooling.py');

/** The venv's python with the client installed, or why there is none. */
export function pythonClient(): { python: string } | { unavailable: string } {
  if (installed()) return { python: PYTHON };
  try {
    mkdirSync(VENV, { recursive: true });
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'pipe', timeout: 120_000 });
    execFileSync(PYTHON, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', PYTHON_CLIENT], {
      stdio: 'pipe',
      timeout: 300_000,
    });
  } catch (err) {
    const e = err as Error & { stderr?: Buffer };
    return {
      unavailable: `cannot install ${PYTHON_CLIENT} in ${VENV}: ${e.stderr?.toString().trim() || e.message}`,
    };
  }
  return installed()
    ? { python: PYTHON }
    : { unavailable: `${PYTHON_CLIENT} did not import after installing` };
}

function installed(): boolean {
  if (!existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ['-c', 'import hazelcast'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

/** Runs test/support/blue_tooling.py SUBCOMMAND on the given cluster; its one JSON document. */
export function blueTooling<T>(
  python: string,
  cluster: { members: string; clusterName: string },
  args: readonly string[],
  timeoutMs = 60_000,
): T {
  const r = spawnSync(python, [TOOLING, ...args], {
    env: { ...process.env, HAZELCAST_MEMBERS: cluster.members, HAZELCAST_CLUSTER_NAME: cluster.clusterName },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  if (r.status !== 0)
    throw new Error(`blue_tooling.py ${args[0]} exited ${r.status ?? r.signal}: ${r.stderr.slice(-2000)}`);
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as T;
}
