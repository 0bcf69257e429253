/**
 * What a runtime writes that another runtime of its namespace must not: each is locked
 * on this host (adapters/files/host-lock.ts). Two runtimes that share none of them (own
 * var directory, own embedded ledger, in-process state, simulated venue) are separate
 * instances; any shared one refuses the second start.
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { resolveBingxEnv } from '../adapters/bingx/safety.js';
import { redactUrl } from '../adapters/clickhouse/client.js';
import type { LockedResource, LockHolder } from '../adapters/files/host-lock.js';
import type { PinkConfig } from '../app/config.js';
import type { Namespace } from '../domain/namespaces.js';

/** The directory's real path (symlinks and `..` resolved, so two spellings are one directory). */
function realDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return realpathSync(resolve(dir));
}

export function runtimeResources(cfg: PinkConfig, ns: Namespace): LockedResource[] {
  const same = (text: string) => ({ id: text, describe: text });
  const out = [same(`var directory ${realDir(cfg.varDir)}`)];
  out.push(
    same(
      cfg.clickhouse.url
        ? `ClickHouse ${redactUrl(cfg.clickhouse.url)} database ${ns.clickhouseDb}`
        : `embedded ClickHouse ${realDir(cfg.clickhouse.dataDir)}`,
    ),
  );
  if (cfg.hazelcast.members.length)
    out.push(
      same(
        `Hazelcast cluster "${cfg.hazelcast.clusterName}" at ${[...cfg.hazelcast.members].sort().join(',')}`,
      ),
    );
  if (cfg.venue === 'bingx') {
    const env = resolveBingxEnv(process.env);
    // The key itself only in the lock's (hashed) name, never in a message.
    out.push({
      id: `bingx ${env.env} ${cfg.bingx.baseUrl ?? ''} ${env.apiKey.reveal()}`,
      describe: `the BingX ${env.env} account of this API key${cfg.bingx.baseUrl ? ` at ${cfg.bingx.baseUrl}` : ''}`,
    });
  }
  return out;
}

export function runtimeHolder(cfg: PinkConfig): LockHolder {
  return {
    pid: process.pid,
    host: hostname(),
    varDir: resolve(cfg.varDir),
    startedAt: new Date().toISOString(),
  };
}
