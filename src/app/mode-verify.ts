/**
 * `pink ctl mode-verify`: checks the namespace wiring end to end before anyone
 * trades. Every write target must sit in the running namespace, the guard must
 * refuse a foreign one, BingX must be VST unless mainnet is explicitly allowed, and
 * the strategy's parameter hash must be the expected one.
 */

import { LEDGER_TABLES as ALL_LEDGER_TABLES } from '../adapters/clickhouse/rows.js';
import {
  lookupNamespace,
  NAMESPACE_REGISTRY,
  type Namespace,
  resolveNamespace,
  WriteGuard,
  type WriteTarget,
} from '../domain/namespaces.js';
import { parameterHash } from '../strategy/decision-log.js';
import type { Strategy } from '../strategy/strategy.js';

/** The tables every run writes (the debug table only in account-event debug mode). */
export const LEDGER_TABLES = ALL_LEDGER_TABLES.filter((t) => t !== 'account_events_debug');

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface ModeVerifyInput {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly configStrategy: string;
  readonly strategy: Strategy;
  readonly expectedParamHash?: string;
  /** The venue's planned endpoints (REST and websocket) and what is wrong with them; null = no exchange. */
  readonly endpoints: {
    readonly venue: string;
    readonly hosts: readonly { readonly name: string; readonly host: string }[];
    readonly problems: readonly string[];
  } | null;
  /** Resolves the BingX environment or throws (adapters/bingx/safety). */
  readonly resolveBingxEnv: (env: Readonly<Record<string, string | undefined>>) => { name: string };
}

function attempt(name: string, fn: () => string): Check {
  try {
    return { name, ok: true, detail: fn() };
  } catch (err) {
    return { name, ok: false, detail: (err as Error).message };
  }
}

export function writeTargets(ns: Namespace): WriteTarget[] {
  return [
    ...LEDGER_TABLES.map((table) => ({ kind: 'clickhouse' as const, database: ns.clickhouseDb, table })),
    { kind: 'map', map: ns.stateMap, key: 'engine_snapshot' },
    { kind: 'map', map: ns.stateMap, key: 'capital_checkpoint' },
    { kind: 'map', map: ns.stateMap, key: 'latest_nautilus' },
    { kind: 'map', map: ns.stateMap, key: ns.capitalMirrorKey },
    { kind: 'map', map: ns.pnlMap, key: 'YYYY-MM-DD' },
    { kind: 'queue', queue: ns.commandQueue },
  ];
}

export function modeVerify(i: ModeVerifyInput): Check[] {
  const checks: Check[] = [];
  let ns: Namespace | null = null;
  checks.push(
    attempt('namespace resolves from the registry', () => {
      ns = resolveNamespace(i.env);
      return `${ns.strategy}: db ${ns.clickhouseDb}, maps ${ns.stateMap} / ${ns.pnlMap}, queue ${ns.commandQueue}`;
    }),
  );
  if (!ns) return checks;
  const n: Namespace = ns;
  checks.push({
    name: 'config strategy matches the namespace',
    ok: i.configStrategy === n.strategy,
    detail: `config "${i.configStrategy}", namespace "${n.strategy}"`,
  });
  const guard = new WriteGuard(n);
  const targets = writeTargets(n);
  const outside = targets.filter((t) => !guard.allows(t));
  checks.push({
    name: 'every write target is inside the namespace',
    ok: outside.length === 0,
    detail: outside.length
      ? `outside: ${outside.map((t) => JSON.stringify(t)).join(', ')}`
      : `${targets.length} targets in ${n.clickhouseDb} / ${n.stateMap} / ${n.pnlMap} / ${n.commandQueue}`,
  });
  const dbEnv = i.env.CLICKHOUSE_DATABASE;
  checks.push({
    name: 'ClickHouse database setting',
    ok: !dbEnv || dbEnv === n.clickhouseDb,
    detail: dbEnv ? `CLICKHOUSE_DATABASE=${dbEnv}` : `unset (uses ${n.clickhouseDb})`,
  });
  const foreign = [...NAMESPACE_REGISTRY.values()].filter((x) => x.strategy !== n.strategy);
  const leaks = foreign.flatMap((f) => writeTargets(f)).filter((t) => guard.allows(t));
  checks.push({
    name: "guard refuses every other namespace's targets",
    ok: leaks.length === 0,
    detail: leaks.length
      ? `would allow ${leaks.map((t) => JSON.stringify(t)).join(', ')}`
      : `${foreign.map((f) => f.strategy).join(', ')} refused`,
  });
  checks.push(
    attempt('BingX environment guard', () => {
      const env = i.resolveBingxEnv(i.env);
      let refused = false;
      try {
        i.resolveBingxEnv({ DOLPHIN_BINGX_ENV: 'MAINNET' });
      } catch {
        refused = true;
      }
      if (!refused) throw new Error('MAINNET without DOLPHIN_BINGX_ALLOW_MAINNET=1 was not refused');
      return `running ${env.name}; MAINNET without the allow flag is refused`;
    }),
  );
  checks.push(endpointCheck(i.endpoints));
  const hash = parameterHash(i.strategy.params);
  checks.push({
    name: 'strategy parameter hash',
    ok: !i.expectedParamHash || i.expectedParamHash === hash,
    detail: `${i.strategy.name} ${hash}${i.expectedParamHash && i.expectedParamHash !== hash ? ` (expected ${i.expectedParamHash})` : ''}`,
  });
  checks.push({
    name: 'trader id',
    ok: lookupNamespace(n.strategy).traderId.includes(n.strategy.toUpperCase()),
    detail: n.traderId,
  });
  return checks;
}

export function formatChecks(checks: readonly Check[]): string {
  const w = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.map((c) => `${c.ok ? 'PASS' : 'FAIL'}  ${c.name.padEnd(w)}  ${c.detail}`);
  const failed = checks.filter((c) => !c.ok).length;
  lines.push(
    failed ? `mode-verify: ${failed} check(s) FAILED` : `mode-verify: all ${checks.length} checks passed`,
  );
  return lines.join('\n');
}

/** Every endpoint the venue would use, by its effective host (not by the variable that set it). */
function endpointCheck(e: ModeVerifyInput['endpoints']): Check {
  const name = 'venue endpoints (REST and websocket)';
  if (e === null) return { name, ok: true, detail: 'sim venue: in-process, no network endpoints' };
  if (e.problems.length) return { name, ok: false, detail: e.problems.join('; ') };
  const hosts = [...new Set(e.hosts.map((h) => h.host))];
  return { name, ok: true, detail: `${e.venue}: ${e.hosts.length} endpoints on ${hosts.join(', ')}` };
}
