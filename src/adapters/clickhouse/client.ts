/**
 * The ClickHouse client factory: `@clickhouse/client` either over the embedded chDB
 * engine (default; no server needed) or against a server when `CLICKHOUSE_URL` is set.
 * chDB allows one engine and one data directory per process: open one client per
 * process and share it.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import type { Namespace } from '../../domain/namespaces.js';

export interface ClickHouseSettings {
  readonly url?: string;
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
  /** Embedded chDB data directory (default `./var/clickhouse`). */
  readonly dataDir?: string;
}

export const DEFAULT_CLICKHOUSE_DIR = './var/clickhouse';

export interface ClickHouseHandle {
  readonly client: ClickHouseClient;
  readonly engine: 'embedded' | 'server';
  /** Where it talks to, for logs: data directory or URL without credentials. */
  readonly describe: string;
}

export class ClickHouseConfigError extends Error {
  override name = 'ClickHouseConfigError';
}

/** Settings from the environment (CLICKHOUSE_URL, _USER, _PASSWORD, _DATABASE, PINK_CLICKHOUSE_DIR). */
export function clickHouseSettingsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): ClickHouseSettings {
  const v = (k: string) => (env[k] && env[k] !== '' ? env[k] : undefined);
  return {
    url: v('CLICKHOUSE_URL'),
    user: v('CLICKHOUSE_USER'),
    password: v('CLICKHOUSE_PASSWORD'),
    database: v('CLICKHOUSE_DATABASE'),
    dataDir: v('PINK_CLICKHOUSE_DIR') ?? DEFAULT_CLICKHOUSE_DIR,
  };
}

/** The database this process writes: the namespace's; a different CLICKHOUSE_DATABASE is refused. */
export function ledgerDatabase(cfg: ClickHouseSettings, ns: Namespace): string {
  if (cfg.database && cfg.database !== ns.clickhouseDb)
    throw new ClickHouseConfigError(
      `CLICKHOUSE_DATABASE="${cfg.database}" is not the database of strategy "${ns.strategy}" (expected "${ns.clickhouseDb}")`,
    );
  return ns.clickhouseDb;
}

/** The secrets a URL carries in its user info (`http://user:password@host`), for the log masker. */
export function urlSecrets(url: string | undefined): string[] {
  if (!url) return [];
  try {
    const u = new URL(url);
    return [u.password, decodeURIComponent(u.password)].filter((s) => s !== '');
  } catch {
    return [];
  }
}

/** A URL fit for logs: no user info, no query string. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(unparseable CLICKHOUSE_URL)';
  }
}

type ChdbConnectionModule = {
  createChdbConnection: (o: { path?: string }) => unknown;
};

async function loadChdb(): Promise<ChdbConnectionModule> {
  try {
    // Dynamic so that server deployments can leave the optional chdb package out.
    return (await import('chdb/connection')) as unknown as ChdbConnectionModule;
  } catch (err) {
    throw new ClickHouseConfigError(
      `embedded ClickHouse needs the optional package "chdb" (npm install chdb), or set CLICKHOUSE_URL to use a server: ${(err as Error).message}`,
    );
  }
}

/**
 * Opens a client. Tables are always addressed as `db.table`, so the client has no
 * default database (a server refuses every request naming a database that does not
 * exist yet, including the CREATE DATABASE that would make it).
 */
export async function createClickHouseClient(cfg: ClickHouseSettings): Promise<ClickHouseHandle> {
  if (cfg.url) {
    const client = createClient({
      url: cfg.url,
      username: cfg.user ?? 'default',
      password: cfg.password ?? '',
      request_timeout: 30_000,
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    return { client, engine: 'server', describe: `server ${redactUrl(cfg.url)}` };
  }
  const dir = path.resolve(cfg.dataDir ?? DEFAULT_CLICKHOUSE_DIR);
  mkdirSync(dir, { recursive: true });
  const holder = await liveEmbeddedHolder(dir);
  if (holder && holder.pid !== process.pid)
    throw new ClickHouseConfigError(
      `embedded ClickHouse at ${dir} is in use by process ${holder.pid}${holder.startedAt ? ` (open since ${holder.startedAt}, ${path.join(dir, 'status')})` : ''}: chDB allows one process per data directory; stop that process or wait for it to finish, or use a ClickHouse server (CLICKHOUSE_URL)`,
    );
  const { createChdbConnection } = await loadChdb();
  let connection: unknown;
  try {
    connection = createChdbConnection({ path: dir });
  } catch (err) {
    throw new ClickHouseConfigError(
      `embedded ClickHouse at ${dir} could not open (chDB allows one data directory per process): ${(err as Error).message}`,
    );
  }
  const client = createClient({ connection } as Parameters<typeof createClient>[0]);
  return { client, engine: 'embedded', describe: `embedded chDB ${dir}` };
}

/**
 * The process holding chDB's lock on `<dir>/status`, found in /proc/locks (Linux): asked
 * before opening, because chDB itself answers a held directory only on its native stderr
 * and with a bare "Failed to create connection". A status file left by a killed process
 * holds no lock and is not reported. Null when free or when it cannot be told.
 */
/** How long a lock whose process has died may take to go (the kernel closing its files). */
const DEAD_HOLDER_WAIT_MS = 5_000;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * embeddedHolder, but a lock whose process is already gone (killed a moment ago: the kernel
 * may still be closing its files, under load for a while) is waited for instead of reported.
 */
async function liveEmbeddedHolder(dir: string): Promise<ReturnType<typeof embeddedHolder>> {
  const deadline = Date.now() + DEAD_HOLDER_WAIT_MS;
  for (;;) {
    const holder = embeddedHolder(dir);
    if (!holder || alive(holder.pid) || Date.now() > deadline) return holder;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function embeddedHolder(dir: string): { pid: number; startedAt: string | null } | null {
  const file = path.join(dir, 'status');
  let id: string;
  let text = '';
  try {
    const st = statSync(file);
    const major = Math.floor(st.dev / 256) & 0xfff;
    const minor = (st.dev & 0xff) | (Math.floor(st.dev / 4096) & 0xfff00);
    id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  let locks: string;
  try {
    locks = readFileSync('/proc/locks', 'utf8');
  } catch {
    return null;
  }
  for (const line of locks.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 27420 fe:00:14172878 0 EOF" (waiters carry "->" first)
    const f = line.replace('->', '').trim().split(/\s+/);
    if (f[5] !== id) continue;
    const pid = Number(f[4]);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    return { pid, startedAt: /^Started at: (.+)$/m.exec(text)?.[1] ?? null };
  }
  return null;
}
