/**
 * Hazelcast state bus (hazelcast-client): IMap for state/pnl maps (values are JSON
 * text, as BLUE's tooling reads them), IQueue for operator commands. The client
 * starts asynchronously and reconnects forever; while it is disconnected the
 * ReconnectingStateBus keeps the latest value per key and republishes it.
 */
import type { Client, ClientConfig, EntryEvent, ILogger } from 'hazelcast-client';
import type { EntryListener } from '../../ports/state-bus.js';
import { ReconnectingStateBus, type RemoteStore } from './reconnecting.js';

export interface HazelcastStateBusOptions {
  /** `host:port` members. */
  readonly members: readonly string[];
  readonly clusterName: string;
  /** Per-operation time limit before a write is buffered instead, ms (default 2000). */
  readonly opTimeoutMs?: number;
  /** Reconnect back-off bounds, ms (defaults 250 and 5000). */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /**
   * Where hazelcast-client's own messages go (the runtime's structured logger). Without
   * it they are dropped: failures still surface through health().
   */
  readonly log?: LibraryLog;
  /** The least severe of hazelcast-client's messages passed to `log` (default WARN). */
  readonly logLevel?: 'OFF' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG';
}

/** The part of a structured logger a library's messages need. */
export interface LibraryLog {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

const LEVELS = ['ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE'] as const;

/**
 * hazelcast-client's ILogger onto `log`: each message at its own level, tagged with the
 * client object that said it; the detail (usually an Error) by its message only.
 */
export function libraryLogger(
  log: LibraryLog,
  least: HazelcastStateBusOptions['logLevel'] = 'WARN',
): ILogger {
  const max = least === 'OFF' ? -1 : LEVELS.indexOf(least);
  const at = (level: number, objectName: string, message: string, further?: unknown) => {
    if (level > max) return;
    const detail = further === undefined || further === null ? '' : `: ${detailOf(further)}`;
    const text = `hazelcast ${objectName}: ${message}${detail}`;
    if (level === 0) log.error(text);
    else if (level === 1) log.warn(text);
    else if (level === 2) log.info(text);
    else log.debug(text);
  };
  return {
    log: (level, objectName, message, further) => at(level, objectName, message, further),
    error: (objectName, message, further) => at(0, objectName, message, further),
    warn: (objectName, message, further) => at(1, objectName, message, further),
    info: (objectName, message, further) => at(2, objectName, message, further),
    debug: (objectName, message, further) => at(3, objectName, message, further),
    trace: (objectName, message, further) => at(4, objectName, message, further),
  };
}

function detailOf(further: unknown): string {
  if (further instanceof Error) return `${further.name}: ${further.message}`;
  return typeof further === 'string' ? further : (JSON.stringify(further) ?? String(further));
}

export class HazelcastConfigError extends Error {
  override name = 'HazelcastConfigError';
}

const MEMBER = /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/;

/** Reads HAZELCAST_MEMBERS (comma list host:port) and HAZELCAST_CLUSTER_NAME (default "dev"). */
export function hazelcastSettingsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): HazelcastStateBusOptions | null {
  const raw = env.HAZELCAST_MEMBERS?.trim();
  if (!raw) return null;
  const members = raw
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  for (const m of members)
    if (!MEMBER.test(m))
      throw new HazelcastConfigError(`HAZELCAST_MEMBERS: "${m}" is not host:port (value "${raw}")`);
  return { members, clusterName: env.HAZELCAST_CLUSTER_NAME?.trim() || 'dev' };
}

type HazelcastModule = typeof import('hazelcast-client');

function clientConfig(
  hz: HazelcastModule,
  o: HazelcastStateBusOptions,
  onState: (s: string) => void,
): ClientConfig {
  return {
    clusterName: o.clusterName,
    network: { clusterMembers: [...o.members], connectionTimeout: 3000 },
    connectionStrategy: {
      asyncStart: true,
      reconnectMode: hz.ReconnectMode.ON,
      connectionRetry: {
        initialBackoffMillis: o.initialBackoffMs ?? 250,
        maxBackoffMillis: o.maxBackoffMs ?? 5000,
        clusterConnectTimeoutMillis: -1, // keep trying for as long as the runtime lives
      },
    },
    // The member answers once the backup is written, instead of the backup member acking
    // to the client: on a cluster of two, those acks went missing and every put waited
    // out the client's 5 s backup timeout, past opTimeoutMs (hazelcast/hazelcast#17887).
    backupAckToClientEnabled: false,
    lifecycleListeners: [onState],
    ...(o.log ? { customLogger: libraryLogger(o.log, o.logLevel) } : {}),
    properties: {
      'hazelcast.logging.level': o.log ? 'OFF' : (o.logLevel ?? 'OFF'),
      // In-flight invocations fail instead of retrying for the default 2 minutes.
      'hazelcast.client.invocation.timeout.millis': Math.max(1000, (o.opTimeoutMs ?? 2000) * 2),
    },
  };
}

function storeOf(client: Client): RemoteStore {
  return {
    async put(map, key, value, ttlMs) {
      const m = await client.getMap<string, string>(map);
      await m.set(key, value, ttlMs);
    },
    async get(map, key) {
      const m = await client.getMap<string, string>(map);
      return (await m.get(key)) ?? null;
    },
    async entries(map) {
      const m = await client.getMap<string, string>(map);
      return m.entrySet();
    },
    async offer(queue, value) {
      const q = await client.getQueue<string>(queue);
      return q.offer(value);
    },
    async poll(queue) {
      const q = await client.getQueue<string>(queue);
      return (await q.poll()) ?? null;
    },
    async peek(queue) {
      const q = await client.getQueue<string>(queue);
      return (await q.peek()) ?? null;
    },
    async remove(queue, item) {
      const q = await client.getQueue<string>(queue);
      return q.remove(item);
    },
    async listen(map, listener: EntryListener) {
      const m = await client.getMap<string, string>(map);
      const changed = (e: EntryEvent<string, string>) => listener(e.key, e.value ?? null);
      const gone = (e: EntryEvent<string, string>) => listener(e.key, null);
      const id = await m.addEntryListener(
        { added: changed, updated: changed, removed: gone, evicted: gone, expired: gone },
        undefined,
        true,
      );
      return async () => {
        await m.removeEntryListener(id);
      };
    },
    async close() {
      await client.shutdown();
    },
  };
}

/**
 * Starts the client without waiting for a member (async start): the returned bus
 * works at once, buffering writes until the first CONNECTED event.
 */
export async function createHazelcastStateBus(o: HazelcastStateBusOptions): Promise<ReconnectingStateBus> {
  if (o.members.length === 0) throw new HazelcastConfigError('Hazelcast members list is empty');
  const bus = new ReconnectingStateBus({
    kind: 'hazelcast',
    opTimeoutMs: o.opTimeoutMs,
    onUnflushed: (m) => o.log?.warn(m),
  });
  // Loaded on first use: the client takes about a second to import.
  const hz = await import('hazelcast-client');
  const { LifecycleState } = hz;
  const onState = (s: string) => {
    if (s === LifecycleState.CONNECTED) bus.setConnected(true);
    else if (s === LifecycleState.DISCONNECTED || s === LifecycleState.SHUTTING_DOWN) {
      bus.noteError(`hazelcast ${s.toLowerCase()} (members ${o.members.join(',')})`);
      bus.setConnected(false);
    }
  };
  const client = await hz.Client.newHazelcastClient(clientConfig(hz, o, onState));
  bus.attach(storeOf(client));
  if (!bus.health().connected)
    bus.noteError(`connecting to ${o.members.join(',')} (cluster "${o.clusterName}")`);
  return bus;
}

/** How long a command that needs the cluster at once (run's lease, ctl) waits for it, ms. */
export const CLUSTER_CONNECT_WAIT_MS = 10_000;

export class HazelcastUnreachable extends Error {
  override name = 'HazelcastUnreachable';
}

/**
 * A bus that is connected when it is returned: for start-up work that must read the
 * cluster (the runtime lease, ctl). Closes the client and names members and cause otherwise.
 */
export async function connectHazelcastStateBus(
  o: HazelcastStateBusOptions,
  waitMs = CLUSTER_CONNECT_WAIT_MS,
): Promise<ReconnectingStateBus> {
  const bus = await createHazelcastStateBus(o);
  if (await bus.waitConnected(waitMs)) return bus;
  const why = bus.health().lastError;
  await bus.close();
  throw new HazelcastUnreachable(
    `cannot reach Hazelcast members ${o.members.join(',')} (cluster "${o.clusterName}") within ${waitMs} ms${why ? `: ${why}` : ''}`,
  );
}
