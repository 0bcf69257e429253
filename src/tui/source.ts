/**
 * Where `pink tui` gets its data: a TuiSource polls the state bus for the DESIGN.md §6
 * surfaces of one namespace and, when that namespace may be controlled (PINK's own),
 * sends operator commands through the same path as `pink ctl pause|resume|flatten`
 * (sendOperatorCommand: discovery file or Hazelcast, offer, wait for the outcome).
 * Every read goes through GuardedStateBus; another strategy's maps are opened
 * read-only explicitly, so nothing here can write to them.
 */

import path from 'node:path';
import {
  DiscoveryError,
  discoveryPath,
  isProcessAlive,
  readDiscovery,
} from '../adapters/statebus/discovery.js';
import { GuardedStateBus } from '../adapters/statebus/guarded.js';
import { createHazelcastStateBus } from '../adapters/statebus/hazelcast.js';
import { RemoteStateBus } from '../adapters/statebus/remote.js';
import { newCommandId, sendOperatorCommand } from '../cli/commands/ctl-commands.js';
import { CliError, EXIT } from '../cli/errors.js';
import { runningNamespace } from '../cli/running-namespace.js';
import { DEFAULT_STRATEGY, lookupNamespace, type Namespace, WriteGuard } from '../domain/namespaces.js';
import type { StateBus } from '../ports/state-bus.js';
import type { CommandReport, ControlType, PublishedTexts } from './model.js';

export type Reading =
  | {
      readonly kind: 'state';
      readonly readAt: number;
      readonly where: string;
      readonly texts: PublishedTexts;
    }
  | {
      readonly kind: 'not-found';
      readonly readAt: number;
      readonly where: string | null;
      readonly message: string;
    }
  | {
      readonly kind: 'error';
      readonly readAt: number;
      readonly where: string | null;
      readonly message: string;
    };

/** Sends one operator command and resolves with its outcome (never rejects). */
export type CommandSender = (type: ControlType) => Promise<CommandReport>;

export interface TuiSource {
  readonly ns: Namespace;
  /** null = read-only: the dashboard offers no control keys. */
  readonly control: CommandSender | null;
  read(): Promise<Reading>;
  close(): Promise<void>;
}

/** Only PINK's own namespace can be controlled from PINK; any other is shown read-only. */
export function isControllable(ns: Namespace): boolean {
  return ns.strategy === DEFAULT_STRATEGY;
}

/**
 * Wraps a bus for reading `target`: writes are fenced to PINK's own namespace and the
 * target's maps, when they are another strategy's, are opened read-only.
 */
export function guardedReader(raw: StateBus, target: Namespace): GuardedStateBus {
  const own = lookupNamespace(DEFAULT_STRATEGY);
  const foreign = target.strategy !== own.strategy;
  return new GuardedStateBus(raw, new WriteGuard(own), {
    readOnlyMaps: foreign ? [target.stateMap, target.pnlMap] : [],
  });
}

export function utcDay(ts: number): string {
  return new Date(ts).toISOString().slice(0, 10);
}

/** One poll: the three state-map surfaces and today's pnl entry. */
export async function readPublished(bus: StateBus, ns: Namespace, now: number): Promise<PublishedTexts> {
  const [engineSnapshot, latestNautilus, capitalCheckpoint, pnlToday] = await Promise.all([
    bus.mapGet(ns.stateMap, 'engine_snapshot'),
    bus.mapGet(ns.stateMap, 'latest_nautilus'),
    bus.mapGet(ns.stateMap, 'capital_checkpoint'),
    bus.mapGet(ns.pnlMap, utcDay(now)),
  ]);
  return { engineSnapshot, latestNautilus, capitalCheckpoint, pnlToday };
}

export interface BusSourceOptions {
  /** The bus as it is (the source wraps it with guardedReader). */
  readonly bus: StateBus;
  readonly ns: Namespace;
  readonly where: string;
  /** Omit (or null) for read-only. Ignored when the namespace is not controllable. */
  readonly control?: CommandSender | null;
  /** Close the bus with the source (default true). */
  readonly owns?: boolean;
  /** Waits this long on the first read for the bus to report connected (Hazelcast), ms. */
  readonly connectWaitMs?: number;
  readonly now?: () => number;
}

/** A source over any StateBus: the in-process store, or a Hazelcast client. */
export function busSource(o: BusSourceOptions): TuiSource {
  const bus = guardedReader(o.bus, o.ns);
  const now = o.now ?? Date.now;
  let first = true;
  return {
    ns: o.ns,
    control: isControllable(o.ns) ? (o.control ?? null) : null,
    async read(): Promise<Reading> {
      if (first && o.connectWaitMs) {
        const deadline = Date.now() + o.connectWaitMs;
        while (!bus.health().connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      }
      first = false;
      const readAt = now();
      const h = bus.health();
      if (!h.connected)
        return {
          kind: 'error',
          readAt,
          where: o.where,
          message: `${o.where} not connected${h.lastError ? `: ${h.lastError}` : ''}`,
        };
      try {
        const texts = await readPublished(bus, o.ns, readAt);
        if (
          texts.engineSnapshot === null &&
          texts.latestNautilus === null &&
          texts.capitalCheckpoint === null
        )
          return {
            kind: 'not-found',
            readAt,
            where: o.where,
            message: `no ${o.ns.strategy.toUpperCase()} runtime found (nothing published in ${o.ns.stateMap} on ${o.where})`,
          };
        return { kind: 'state', readAt, where: o.where, texts };
      } catch (err) {
        return { kind: 'error', readAt, where: o.where, message: (err as Error).message };
      }
    },
    async close() {
      if (o.owns !== false) await bus.close();
    },
  };
}

export interface DiscoverySourceOptions {
  readonly ns: Namespace;
  /** `<varDir>/run`, where `pink run` writes `<strategy>.json`. */
  readonly runDir: string;
  readonly control?: CommandSender | null;
  readonly requestTimeoutMs?: number;
  readonly now?: () => number;
}

/**
 * A source that finds the runtime the way `pink ctl status` does (discovery file, pid
 * alive, loopback state server) and finds it again after a restart: a failed read
 * drops the connection and the next read looks at the discovery file again.
 */
export function discoverySource(o: DiscoverySourceOptions): TuiSource {
  const now = o.now ?? Date.now;
  const file = discoveryPath(o.runDir, o.ns);
  const name = o.ns.strategy.toUpperCase();
  let link: { bus: GuardedStateBus; where: string } | null = null;
  const drop = async () => {
    const l = link;
    link = null;
    await l?.bus.close().catch(() => undefined);
  };
  return {
    ns: o.ns,
    control: isControllable(o.ns) ? (o.control ?? null) : null,
    async read(): Promise<Reading> {
      const readAt = now();
      if (!link) {
        let found: Awaited<ReturnType<typeof readDiscovery>>;
        try {
          found = await readDiscovery(o.runDir, o.ns);
        } catch (err) {
          if (err instanceof DiscoveryError)
            return {
              kind: 'not-found',
              readAt,
              where: null,
              message: `no ${name} runtime found (${err.message})`,
            };
          throw err;
        }
        if (!found)
          return {
            kind: 'not-found',
            readAt,
            where: null,
            message: `no ${name} runtime found (discovery file ${file} does not exist)`,
          };
        if (!isProcessAlive(found.pid))
          return {
            kind: 'not-found',
            readAt,
            where: null,
            message: `no ${name} runtime found (discovery file ${file} names pid ${found.pid}, which is not running)`,
          };
        const remote = new RemoteStateBus({
          baseUrl: `http://${found.host}:${found.statePort}`,
          ns: o.ns,
          requestTimeoutMs: o.requestTimeoutMs ?? 3000,
        });
        link = {
          bus: guardedReader(remote, o.ns),
          where: `pid ${found.pid} on ${found.host}:${found.statePort}`,
        };
      }
      const { bus, where } = link;
      try {
        return { kind: 'state', readAt, where, texts: await readPublished(bus, o.ns, readAt) };
      } catch (err) {
        await drop();
        return { kind: 'error', readAt, where, message: (err as Error).message };
      }
    },
    close: drop,
  };
}

export interface CtlSenderOptions {
  readonly ns: Namespace;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly config?: string;
  /** How long to wait for the outcome, ms (as `pink ctl --timeout`). */
  readonly timeoutMs?: number;
  /** Recorded with each command (default "pink tui"). */
  readonly reason?: string;
}

const OUTCOME_LINE = /^(APPLIED|REFUSED) (\S+) id=(\S+): (.*)$/;

/**
 * Sends through `pink ctl`'s own code path (sendOperatorCommand) pinned to `ns`, and
 * turns what it printed or threw into a CommandReport.
 */
export function ctlCommandSender(o: CtlSenderOptions): CommandSender {
  const env = { ...o.env, DOLPHIN_STRATEGY_NAME: o.ns.strategy };
  return async (type) => {
    const lines: string[] = [];
    const id = newCommandId();
    const command = { id, type, reason: o.reason ?? 'pink tui', issued_at: new Date().toISOString() };
    try {
      await sendOperatorCommand(
        command,
        { config: o.config, timeout: o.timeoutMs === undefined ? undefined : String(o.timeoutMs) },
        { env, out: (t) => lines.push(...t.split('\n').filter((l) => l !== '')) },
      );
      const m = OUTCOME_LINE.exec(lines[lines.length - 1] ?? '');
      if (!m) return { status: 'NO_OUTCOME', type, id, reason: 'unreadable outcome', lines };
      return { status: m[1] as 'APPLIED' | 'REFUSED', type, id: m[3] ?? id, reason: m[4] ?? '', lines };
    } catch (err) {
      const sent = lines.some((l) => l.startsWith('sent '));
      const failedAfterSend = err instanceof CliError && err.exitCode === EXIT.FAILED && sent;
      return {
        status: failedAfterSend ? 'NO_OUTCOME' : 'NOT_SENT',
        type,
        id: sent ? id : null,
        reason: (err as Error).message,
        lines,
      };
    }
  };
}

export interface OpenSourceOptions {
  /** Namespace to show (default: the configured strategy, pink unless overridden). */
  readonly strategy?: string;
  readonly config?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Outcome wait for control commands, ms. */
  readonly commandTimeoutMs?: number;
}

export interface OpenedSource {
  readonly source: TuiSource;
  readonly ns: Namespace;
  readonly readOnly: boolean;
  /** Heartbeat cadence the configuration names (for the staleness limit), ms. */
  readonly heartbeatMs: number;
}

/** Opens the source `pink tui` uses: Hazelcast when members are configured, else the discovery file. */
export async function openSource(o: OpenSourceOptions): Promise<OpenedSource> {
  // Another strategy is shown read-only; control (below) is PINK's alone.
  const { ns, cfg } = runningNamespace({
    use: 'read',
    file: o.config,
    env: o.env as NodeJS.ProcessEnv,
    flag: o.strategy === undefined ? undefined : { name: '--strategy', value: o.strategy },
  });
  const control = isControllable(ns)
    ? ctlCommandSender({ ns, env: o.env, config: o.config, timeoutMs: o.commandTimeoutMs })
    : null;
  let source: TuiSource;
  if (cfg.hazelcast.members.length) {
    const raw = await createHazelcastStateBus({
      members: cfg.hazelcast.members,
      clusterName: cfg.hazelcast.clusterName,
    });
    source = busSource({
      bus: raw,
      ns,
      where: `Hazelcast ${cfg.hazelcast.members.join(',')} (cluster "${cfg.hazelcast.clusterName}")`,
      control,
      connectWaitMs: 5000,
    });
  } else source = discoverySource({ ns, runDir: path.join(cfg.varDir, 'run'), control });
  return { source, ns, readOnly: source.control === null, heartbeatMs: cfg.heartbeatMs };
}
