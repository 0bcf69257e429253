/**
 * `pink ctl status` and `pink ctl healthcheck`: read the running PINK's published
 * state (loopback state server found by its discovery file, or Hazelcast). PINK
 * surfaces only. healthcheck exit codes: 0 healthy, 1 unhealthy, 2 not found/bad input.
 */

import path from 'node:path';
import type { Command } from 'commander';
import { isProcessAlive, readDiscovery } from '../../adapters/statebus/discovery.js';
import { connectHazelcastStateBus } from '../../adapters/statebus/hazelcast.js';
import { RemoteStateBus } from '../../adapters/statebus/remote.js';
import type { StateBus } from '../../ports/state-bus.js';
import { action, CliError, EXIT } from '../errors.js';
import { numberArg } from '../numbers.js';
import { runningNamespace } from '../running-namespace.js';

interface StatusOptions {
  config?: string;
  json?: boolean;
  maxHeartbeatAgeMs?: string;
}

interface Found {
  readonly bus: StateBus;
  readonly where: string;
  readonly pid: number | null;
}

async function findRuntime(o: StatusOptions): Promise<Found & { stateMap: string; strategy: string }> {
  const { ns, cfg } = runningNamespace({ use: 'act', file: o.config });
  if (cfg.hazelcast.members.length) {
    const bus = await connectHazelcastStateBus({
      members: cfg.hazelcast.members,
      clusterName: cfg.hazelcast.clusterName,
    });
    return {
      bus,
      where: `Hazelcast ${cfg.hazelcast.members.join(',')}`,
      pid: null,
      stateMap: ns.stateMap,
      strategy: ns.strategy,
    };
  }
  const dir = path.join(cfg.varDir, 'run');
  const found = await readDiscovery(dir, ns);
  if (!found)
    throw new CliError(
      `no running PINK for "${ns.strategy}": ${path.join(dir, `${ns.strategy}.json`)} does not exist`,
    );
  if (!isProcessAlive(found.pid))
    throw new CliError(`stale discovery file: pid ${found.pid} is not running`, EXIT.FAILED);
  const bus = new RemoteStateBus({ baseUrl: `http://${found.host}:${found.statePort}`, ns });
  return {
    bus,
    where: `pid ${found.pid} on ${found.host}:${found.statePort}`,
    pid: found.pid,
    stateMap: ns.stateMap,
    strategy: ns.strategy,
  };
}

async function readSnapshot(o: StatusOptions) {
  const rt = await findRuntime(o);
  try {
    const text = await rt.bus.mapGet(rt.stateMap, 'engine_snapshot');
    const nautilus = await rt.bus.mapGet(rt.stateMap, 'latest_nautilus');
    return {
      rt,
      snapshot: text ? (JSON.parse(text) as Record<string, unknown>) : null,
      nautilus: nautilus ? JSON.parse(nautilus) : null,
    };
  } finally {
    await rt.bus.close();
  }
}

function heartbeatAge(snapshot: Record<string, unknown> | null): number | null {
  const ts = snapshot?.ts ?? snapshot?.published_at;
  const n = typeof ts === 'string' ? Date.parse(ts) : typeof ts === 'number' ? ts : Number.NaN;
  return Number.isFinite(n) ? Date.now() - n : null;
}

async function statusCommand(o: StatusOptions): Promise<number> {
  const { rt, snapshot, nautilus } = await readSnapshot(o);
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ where: rt.where, engine_snapshot: snapshot, latest_nautilus: nautilus }, null, 2)}\n`,
    );
    return EXIT.OK;
  }
  const s = snapshot ?? {};
  const h = nautilus?.health as PublishedHealth | undefined;
  const age = heartbeatAge(snapshot);
  const lines = [
    `process        ${rt.where}`,
    `namespace      ${rt.strategy} (${rt.stateMap})`,
    `venue          ${String(s.venue ?? '?')} (BingX env ${process.env.DOLPHIN_BINGX_ENV || 'VST'})`,
    `posture        ${String(s.posture ?? '?')}${s.paused ? ' (paused)' : ''}`,
    `slot           ${s.slot ? JSON.stringify(s.slot) : 'empty'}`,
    `capital        ${String(s.capital ?? '?')}  equity ${String(s.equity ?? '?')}`,
    `heartbeat age  ${age === null ? '?' : `${age} ms`}`,
    `spool depth    ${String(h?.clickhouse?.spool_depth ?? '?')}`,
    `strategy       ${strategyDetail(h?.strategy, s.paused === true)}`,
    `last decision  ${s.last_decision ? JSON.stringify(s.last_decision) : '-'}`,
    `health         ${nautilus ? JSON.stringify(nautilus) : '-'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.OK;
}

async function healthcheckCommand(o: StatusOptions): Promise<number> {
  const maxAge = numberArg('--max-heartbeat-age-ms', o.maxHeartbeatAgeMs ?? '30000', { above: 0 });
  const { snapshot, nautilus } = await readSnapshot(o);
  const age = heartbeatAge(snapshot);
  const h = (nautilus?.health ?? {}) as PublishedHealth;
  const checks: Array<[string, boolean, string]> = [
    ['state published', snapshot !== null, snapshot ? 'engine_snapshot present' : 'no engine_snapshot'],
    ['heartbeat fresh', age !== null && age <= maxAge, `${age ?? '?'} ms (max ${maxAge})`],
    [
      'runtime running',
      snapshot?.posture === 'RUNNING' || snapshot?.posture === 'PAUSED',
      String(snapshot?.posture ?? '?'),
    ],
    [
      'clickhouse',
      h.clickhouse?.reachable !== false,
      `reachable ${String(h.clickhouse?.reachable ?? '?')}, spool depth ${String(h.clickhouse?.spool_depth ?? '?')}${h.clickhouse?.last_error ? `, last error: ${h.clickhouse.last_error}` : ''}`,
    ],
    [
      'state bus',
      h.state_bus?.connected !== false,
      `${h.state_bus?.kind ?? '?'} connected ${String(h.state_bus?.connected ?? '?')}`,
    ],
    ['strategy', h.strategy?.healthy !== false, strategyDetail(h.strategy, snapshot?.paused === true)],
    ['venue', typeof snapshot?.venue === 'string', String(snapshot?.venue ?? '?')],
    [
      'data-rate cap',
      (h.account_events?.alerts ?? 0) === 0,
      `account_events cap alerts ${h.account_events?.alerts ?? 0}, windows over cap ${h.account_events?.windowsOverCap ?? 0}`,
    ],
  ];
  for (const [name, ok, detail] of checks)
    process.stdout.write(`${ok ? 'OK  ' : 'FAIL'}  ${name.padEnd(16)} ${detail}\n`);
  return checks.every((c) => c[1]) ? EXIT.OK : EXIT.FAILED;
}

/** What `latest_nautilus.health` carries that status and healthcheck read (run-wiring.ts writes it). */
interface PublishedHealth {
  clickhouse?: { reachable?: boolean; spool_depth?: number; last_error?: string };
  state_bus?: { connected?: boolean; kind?: string };
  account_events?: { windowsOverCap?: number; alerts?: number };
  strategy?: PublishedStrategy | null;
}

interface PublishedStrategy {
  name?: string;
  healthy?: boolean;
  failures?: number;
  last_error?: string | null;
}

/** The strategy line: up or down, its failures, and whether entries wait for RESUME. */
function strategyDetail(s: PublishedStrategy | null | undefined, paused: boolean): string {
  if (!s) return 'not published';
  const state = s.healthy === false ? 'DOWN (entries paused, restarting)' : 'up';
  const failures = s.failures ? `, failures ${s.failures}` : '';
  const last = s.healthy === false && s.last_error ? `, last error: ${s.last_error}` : '';
  const resume = s.healthy !== false && s.failures && paused ? ', entries paused until RESUME' : '';
  return `${s.name ?? '?'} ${state}${failures}${last}${resume}`;
}

export function registerStatusCommands(ctl: Command): void {
  ctl
    .command('status')
    .description('process, namespace, venue, posture, slot, capital, heartbeat age, last decision')
    .option('--config <file>', 'configuration file (JSON)')
    .option('--json', 'print the published surfaces as JSON')
    .action(action((o: StatusOptions) => statusCommand(o)));
  ctl
    .command('healthcheck')
    .description(
      'exit 0 when healthy (state published, heartbeat fresh, running), 1 when not, 2 when not found',
    )
    .option('--config <file>', 'configuration file (JSON)')
    .option('--max-heartbeat-age-ms <ms>', 'oldest acceptable heartbeat', '30000')
    .action(action((o: StatusOptions) => healthcheckCommand(o)));
}
