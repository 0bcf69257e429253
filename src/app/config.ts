/**
 * Runtime configuration: one zod schema, defaults for embedded operation, a JSON
 * file (`--config`) and environment variables on top. Every setting is listed in
 * CONFIG_DOCS (rendered into the README) with its default and variable.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { baseUrlProblem } from '../adapters/bingx/hosts.js';
import { describeJsonTextProblem, jsonTextProblem } from '../adapters/files/scan-lines.js';
import { DEFAULT_ACCOUNT_VOLUME, TRACKED_FIELDS } from '../domain/account-volume.js';
import { lookupNamespace } from '../domain/namespaces.js';
import { parseDecimalText } from './decimal-text.js';

/** An http(s) URL: `localhost:8123` or `ftp://…` parse as URLs but name no server the clients can use. */
const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http:// or https:// URL');

/** `host` or `host:port` (IPv6 in brackets), port 1-65535. */
const memberAddress = z
  .string()
  .regex(/^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?$/, 'must be host or host:port')
  .refine((m) => {
    const port = /:(\d+)$/.exec(m)?.[1];
    return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
  }, 'port must be in 1-65535');

const SimSchema = z
  .object({
    seed: z.number().int().default(1),
    latencyMs: z.number().min(0).default(40),
    ackMs: z.number().min(0).default(10),
    partialFills: z.number().int().min(1).max(100).default(1),
    feeRate: z.number().min(0).max(0.01).default(0.0005),
    slippageBps: z.number().min(0).max(1000).default(1),
    slippageJitterBps: z.number().min(0).max(1000).default(1),
    rejectRate: z.number().min(0).max(1).default(0),
    externalCloseRate: z.number().min(0).max(1).default(0),
  })
  .strict();

const Tolerance = z
  .object({ abs: z.number().min(0).finite().optional(), rel: z.number().min(0).finite().optional() })
  .strict();

/** DESIGN.md §7: account_events volume control. Position, capital and open notional changes are never suppressed. */
const AccountEventsSchema = z
  .object({
    minIntervalMs: z.number().int().min(0).max(3_600_000).default(DEFAULT_ACCOUNT_VOLUME.minIntervalMs),
    capRowsPerSec: z.number().positive().finite().default(DEFAULT_ACCOUNT_VOLUME.capRowsPerSec),
    windowMs: z.number().int().min(1000).max(86_400_000).default(DEFAULT_ACCOUNT_VOLUME.windowMs),
    alertAfterWindows: z.number().int().min(1).max(1000).default(DEFAULT_ACCOUNT_VOLUME.alertAfterWindows),
    debug: z.boolean().default(false),
    tolerances: z.partialRecord(z.enum(TRACKED_FIELDS), Tolerance).default({}),
  })
  .strict();

export const ConfigSchema = z
  .object({
    strategy: z
      .string()
      .min(1)
      .superRefine((s, ctx) => {
        try {
          lookupNamespace(s);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      })
      .default('pink'),
    algorithm: z.string().min(1).default('blue-v7-ref'),
    algorithmParams: z.record(z.string(), z.unknown()).default({}),
    venue: z.enum(['sim', 'bingx-sim', 'bingx']).default('sim'),
    capital: z.number().positive().finite().default(25_000),
    varDir: z.string().min(1).default('./var'),
    clickhouse: z
      .object({
        url: httpUrl.optional(),
        user: z.string().optional(),
        password: z.string().optional(),
        database: z.string().optional(),
        /** Unset = `<varDir>/clickhouse` (filled in below), so a var directory is a whole instance. */
        dataDir: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    hazelcast: z
      .object({
        members: z.array(memberAddress).default([]),
        clusterName: z.string().min(1).default('dev'),
      })
      .strict()
      .default({ members: [], clusterName: 'dev' }),
    bingx: z
      .object({
        baseUrl: z
          .string()
          .superRefine((u, ctx) => {
            const problem = baseUrlProblem(u);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          })
          .optional(),
        pollMs: z.number().int().min(20).max(60_000).default(1000),
        streams: z.boolean().default(true),
      })
      .strict()
      .default({ pollMs: 1000, streams: true }),
    unknownPosition: z.enum(['manage', 'flatten']).default('manage'),
    /** -1 (or "off") = no metrics server, 0 = an ephemeral port. */
    metricsPort: z
      .union([z.number().int().min(-1).max(65535), z.literal('off')])
      .transform((v) => (v === 'off' ? -1 : v))
      .default(9464),
    logFormat: z.enum(['json', 'text']).default('json'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** A file name under <varDir>/logs/; unset = stderr. */
    logFile: z
      .string()
      .min(1)
      .regex(/^(?!\.{1,2}$)[^/\\]+$/, 'a file name (no directories): the file goes under <varDir>/logs/')
      .optional(),
    statePort: z.number().int().min(0).max(65535).default(0),
    scanIntervalMs: z.number().int().min(10).max(3_600_000).default(5000),
    assets: z.number().int().min(1).max(1000).default(20),
    seed: z.number().int().default(42),
    heartbeatMs: z.number().int().min(100).default(5000),
    sim: SimSchema.default(SimSchema.parse({})),
    accountEvents: AccountEventsSchema.default(AccountEventsSchema.parse({})),
    scanSource: z.enum(['simulator', 'features']).default('simulator'),
    featuresKey: z.string().min(1).default('latest_eigen_scan'),
  })
  .strict()
  .transform((c) => ({
    ...c,
    clickhouse: { ...c.clickhouse, dataDir: c.clickhouse.dataDir ?? join(c.varDir, 'clickhouse') },
  }));

export type PinkConfig = z.infer<typeof ConfigSchema>;

/** Setting -> [environment variable, meaning]. Defaults come from the schema itself. */
export const CONFIG_DOCS: Readonly<Record<string, readonly [string, string]>> = {
  strategy: ['DOLPHIN_STRATEGY_NAME', 'namespace (registered strategy) the runtime writes to'],
  algorithm: [
    'PINK_ALGORITHM',
    'decision algorithm: `blue-v7-ref`, a path to a module exporting createStrategy(), or `process:<command>` (a strategy process speaking the bridge protocol, bridges/python/README.md)',
  ],
  venue: ['PINK_VENUE', 'execution venue: sim | bingx-sim | bingx'],
  capital: ['PINK_CAPITAL', 'initial capital (USDT)'],
  varDir: [
    'PINK_VAR_DIR',
    'runtime files: spool, insert-staging/ (embedded ClickHouse batches in flight), run/ discovery and lock files, reports',
  ],
  'clickhouse.url': ['CLICKHOUSE_URL', 'ClickHouse server URL; unset = embedded chDB'],
  'clickhouse.user': ['CLICKHOUSE_USER', 'server user'],
  'clickhouse.password': ['CLICKHOUSE_PASSWORD', 'server password (never logged)'],
  'clickhouse.database': ['CLICKHOUSE_DATABASE', 'must equal the namespace database when set'],
  'clickhouse.dataDir': [
    'PINK_CLICKHOUSE_DIR',
    'embedded chDB data directory (default `<varDir>/clickhouse`)',
  ],
  'hazelcast.members': ['HAZELCAST_MEMBERS', 'comma-separated host:port list; empty = in-process store'],
  'hazelcast.clusterName': ['HAZELCAST_CLUSTER_NAME', 'Hazelcast cluster name'],
  'bingx.baseUrl': [
    'PINK_BINGX_BASE_URL',
    'point the bingx venue at a loopback BingX-protocol simulator (VST only): the host, after URL parsing, must be 127.0.0.0/8, ::1 or localhost; user info (`http://127.0.0.1@host`) is refused',
  ],
  'bingx.pollMs': [
    'PINK_BINGX_POLL_MS',
    'bingx venue poll cadence for orders and positions (account: twice that)',
  ],
  'bingx.streams': [
    'PINK_BINGX_STREAMS',
    'bingx venue: watch the private websocket streams (`1`/`true`) so updates are polled at once; `0`/`false` = polling only (see docs/bingx.md)',
  ],
  unknownPosition: [
    'PINK_UNKNOWN_POSITION',
    'start-up: a venue position no journal explains is `manage`d as RECOVERED or `flatten`ed',
  ],
  metricsPort: [
    'PINK_METRICS_PORT',
    '`pink run` Prometheus /metrics and /healthz port on 127.0.0.1 (0 = ephemeral, -1 or `off` = disabled); see docs/observability.md',
  ],
  logFormat: [
    'PINK_LOG_FORMAT',
    '`pink run` log lines: `json` (pino JSON lines) or `text` (one readable line each)',
  ],
  logLevel: ['PINK_LOG_LEVEL', 'log level: fatal | error | warn | info | debug | trace | silent'],
  logFile: ['PINK_LOG_FILE', '`pink run` logs to `<varDir>/logs/<this file name>` instead of stderr'],
  statePort: ['PINK_STATE_PORT', 'read-only state server port on 127.0.0.1 (0 = random)'],
  scanIntervalMs: ['PINK_SCAN_INTERVAL_MS', '`pink run` simulated scan cadence'],
  assets: ['PINK_ASSETS', '`pink run` simulated market size'],
  seed: ['PINK_SEED', '`pink run` simulated market seed'],
  heartbeatMs: ['PINK_HEARTBEAT_MS', 'state heartbeat / status cadence'],
  scanSource: [
    'PINK_SCAN_SOURCE',
    '`pink run` without --data: `simulator` (built-in market + sensing) or `features` (live scans from the read-only map DOLPHIN_FEATURES)',
  ],
  featuresKey: [
    'PINK_FEATURES_KEY',
    'the DOLPHIN_FEATURES key the features service writes the latest scan under',
  ],
  'accountEvents.minIntervalMs': [
    'PINK_ACCOUNT_EVENTS_MIN_INTERVAL_MS',
    'account_events: minimum spacing of rows without a never-suppressed change (DESIGN.md §7)',
  ],
  'accountEvents.capRowsPerSec': [
    'PINK_ACCOUNT_EVENTS_CAP_ROWS_PER_SEC',
    'account_events: rows/s cap, averaged over a window',
  ],
  'accountEvents.windowMs': ['PINK_ACCOUNT_EVENTS_WINDOW_MS', 'account_events: cap window length'],
  'accountEvents.alertAfterWindows': [
    'PINK_ACCOUNT_EVENTS_ALERT_AFTER_WINDOWS',
    'account_events: alert after this many consecutive windows over the cap',
  ],
  'accountEvents.debug': [
    'PINK_ACCOUNT_EVENTS_DEBUG',
    'account_events: debug mode, every snapshot also to account_events_debug (`1`/`true`)',
  ],
  'accountEvents.tolerances': [
    '-',
    'account_events: per-field material-change tolerances {abs, rel} for capital, positionQty, openNotional, openPositions, equity, leverage, realizedPnl, fees, funding, adjustments',
  ],
  sim: [
    '-',
    'sim venue: seed, latencyMs, ackMs, partialFills, feeRate, slippageBps, slippageJitterBps, rejectRate, externalCloseRate',
  ],
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function numberFromEnv(name: string, value: string): number {
  const n = parseDecimalText(value);
  if (typeof n === 'string') throw new ConfigError(`${name}="${value}" is not a number`);
  return n;
}

/** Environment values as a partial config (validated by the schema afterwards). */
function fromEnv(env: Env): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const ch: Record<string, unknown> = {};
  const hz: Record<string, unknown> = {};
  const str = (k: string) => (env[k] !== undefined && env[k] !== '' ? env[k] : undefined);
  if (str('DOLPHIN_STRATEGY_NAME')) out.strategy = env.DOLPHIN_STRATEGY_NAME;
  if (str('PINK_ALGORITHM')) out.algorithm = env.PINK_ALGORITHM;
  if (str('PINK_VENUE')) out.venue = env.PINK_VENUE;
  if (str('PINK_VAR_DIR')) out.varDir = env.PINK_VAR_DIR;
  if (str('PINK_UNKNOWN_POSITION')) out.unknownPosition = env.PINK_UNKNOWN_POSITION;
  if (str('PINK_LOG_FORMAT')) out.logFormat = env.PINK_LOG_FORMAT;
  if (str('PINK_LOG_LEVEL')) out.logLevel = env.PINK_LOG_LEVEL;
  if (str('PINK_LOG_FILE')) out.logFile = env.PINK_LOG_FILE;
  const metricsPort = str('PINK_METRICS_PORT')?.trim();
  if (metricsPort !== undefined)
    out.metricsPort =
      metricsPort.toLowerCase() === 'off' ? 'off' : numberFromEnv('PINK_METRICS_PORT', metricsPort);
  const bingx: Record<string, unknown> = {};
  if (str('PINK_BINGX_BASE_URL')) bingx.baseUrl = env.PINK_BINGX_BASE_URL;
  if (str('PINK_BINGX_POLL_MS')) bingx.pollMs = numberFromEnv('PINK_BINGX_POLL_MS', env.PINK_BINGX_POLL_MS!);
  const streams = str('PINK_BINGX_STREAMS')?.trim().toLowerCase();
  if (streams !== undefined) {
    if (!['1', '0', 'true', 'false'].includes(streams))
      throw new ConfigError(`PINK_BINGX_STREAMS="${env.PINK_BINGX_STREAMS}" must be 1, 0, true or false`);
    bingx.streams = streams === '1' || streams === 'true';
  }
  if (Object.keys(bingx).length) out.bingx = bingx;
  for (const [k, name] of [
    ['capital', 'PINK_CAPITAL'],
    ['statePort', 'PINK_STATE_PORT'],
    ['scanIntervalMs', 'PINK_SCAN_INTERVAL_MS'],
    ['assets', 'PINK_ASSETS'],
    ['seed', 'PINK_SEED'],
    ['heartbeatMs', 'PINK_HEARTBEAT_MS'],
  ] as const) {
    const v = str(name);
    if (v !== undefined) out[k] = numberFromEnv(name, v);
  }
  if (str('CLICKHOUSE_URL')) ch.url = env.CLICKHOUSE_URL;
  if (str('CLICKHOUSE_USER')) ch.user = env.CLICKHOUSE_USER;
  if (str('CLICKHOUSE_PASSWORD')) ch.password = env.CLICKHOUSE_PASSWORD;
  if (str('CLICKHOUSE_DATABASE')) ch.database = env.CLICKHOUSE_DATABASE;
  if (str('PINK_CLICKHOUSE_DIR')) ch.dataDir = env.PINK_CLICKHOUSE_DIR;
  if (str('HAZELCAST_MEMBERS')) {
    hz.members = env.HAZELCAST_MEMBERS!.split(',').map((m) => m.trim());
    // An empty member would be dropped, and "," alone would mean the in-process store.
    const empty = (hz.members as string[]).indexOf('');
    if (empty !== -1)
      throw new ConfigError(`HAZELCAST_MEMBERS="${env.HAZELCAST_MEMBERS}": member ${empty + 1} is empty`);
  }
  if (str('HAZELCAST_CLUSTER_NAME')) hz.clusterName = env.HAZELCAST_CLUSTER_NAME;
  const ae: Record<string, unknown> = {};
  for (const [k, name] of [
    ['minIntervalMs', 'PINK_ACCOUNT_EVENTS_MIN_INTERVAL_MS'],
    ['capRowsPerSec', 'PINK_ACCOUNT_EVENTS_CAP_ROWS_PER_SEC'],
    ['windowMs', 'PINK_ACCOUNT_EVENTS_WINDOW_MS'],
    ['alertAfterWindows', 'PINK_ACCOUNT_EVENTS_ALERT_AFTER_WINDOWS'],
  ] as const) {
    const v = str(name);
    if (v !== undefined) ae[k] = numberFromEnv(name, v);
  }
  const debug = str('PINK_ACCOUNT_EVENTS_DEBUG')?.trim().toLowerCase();
  if (debug !== undefined) {
    if (!['1', '0', 'true', 'false'].includes(debug))
      throw new ConfigError(
        `PINK_ACCOUNT_EVENTS_DEBUG="${env.PINK_ACCOUNT_EVENTS_DEBUG}" must be 1, 0, true or false`,
      );
    ae.debug = debug === '1' || debug === 'true';
  }
  if (Object.keys(ae).length) out.accountEvents = ae;
  if (str('PINK_SCAN_SOURCE')) out.scanSource = env.PINK_SCAN_SOURCE;
  if (str('PINK_FEATURES_KEY')) out.featuresKey = env.PINK_FEATURES_KEY;
  if (Object.keys(ch).length) out.clickhouse = ch;
  if (Object.keys(hz).length) out.hazelcast = hz;
  return out;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      b && typeof b === 'object' && !Array.isArray(b) && v && typeof v === 'object' && !Array.isArray(v)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** Each issue with where its value came from: the environment variable when it set the value, else `origin`. */
function describeIssues(err: z.ZodError, origin: string, envValues: Record<string, unknown>): string {
  const fromEnvVar = (path: readonly PropertyKey[]): string | null => {
    for (let n = path.length; n > 0; n--) {
      const setting = path.slice(0, n).join('.');
      const variable = CONFIG_DOCS[setting]?.[0];
      if (variable === undefined || variable === '-') continue;
      let v: unknown = envValues;
      for (const k of path.slice(0, n)) v = (v as Record<PropertyKey, unknown> | undefined)?.[k];
      return v === undefined ? null : variable;
    }
    return null;
  };
  return err.issues
    .map(
      (i) => `${fromEnvVar(i.path) ?? origin}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`,
    )
    .join('\n');
}

/** The config file's values as written (an object), or a ConfigError naming the file and the cause. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!values || typeof values !== 'object' || Array.isArray(values))
    throw new ConfigError(`config file ${file} must hold a JSON object`);
  const twice = jsonTextProblem(text);
  if (twice) throw new ConfigError(`config file ${file}: ${describeJsonTextProblem(twice)}`);
  return values as Record<string, unknown>;
}

/** Loads file (optional) then environment; throws ConfigError naming every bad setting. */
export function loadConfig(opts: {
  file?: string;
  env: Env;
  overrides?: Record<string, unknown>;
}): PinkConfig {
  const fileValues = opts.file ? readConfigFile(opts.file) : {};
  const envValues = fromEnv(opts.env);
  const merged = merge(merge(fileValues, envValues), opts.overrides ?? {});
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success)
    throw new ConfigError(describeIssues(parsed.error, opts.file ?? 'configuration', envValues));
  return parsed.data;
}
