/**
 * Structured logs for PINK (docs/observability.md): pino, one JSON object per line, to
 * stderr or to a file. Every line carries the namespace and the run id (the ledger's,
 * the same `run_id` stamped on every ClickHouse row; null until the ledger is open);
 * child loggers add `trade_id`, `command_id` or `component` where known.
 *
 * Secrets never reach the output, in four layers:
 *  1. pino `redact` paths for secret-named fields (apiKey, apiSecret, secret, password,
 *     authorization, signature, X-BX-APIKEY), top level and two levels down;
 *  2. a log formatter that walks every logged object (any depth, errors included) and
 *     masks secret-named fields and any string equal to, or containing, a known secret
 *     (BINGX_API_KEY, BINGX_API_SECRET, CLICKHOUSE_PASSWORD, HAZELCAST_PASSWORD and any
 *     other `*_PASSWORD`, `*_SECRET`, `*_API_KEY`, `*_TOKEN` variable, plus secrets the
 *     caller adds, e.g. from a config or credentials file);
 *  3. a logMethod hook that masks the message strings the same way;
 *  4. a last check on the serialized line for any long secret that slipped through.
 *
 * `format: 'text'` prints `time pink[ns] LEVEL message key=value` lines for people at a
 * terminal (pino-pretty is deliberately not a dependency); JSON is the default.
 */
import { mkdirSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import pino, { type DestinationStream, type Logger } from 'pino';
import { printable } from './printable.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type LogFormat = 'json' | 'text';
export type LogFields = Readonly<Record<string, unknown>>;

type Env = Readonly<Record<string, string | undefined>>;

export const CENSOR = '[REDACTED]';

/** Field names whose values are always redacted (case-insensitive in the formatter). */
export const SECRET_FIELDS = [
  'apiKey',
  'apiSecret',
  'secret',
  'password',
  'authorization',
  'Authorization',
  'signature',
  'X-BX-APIKEY',
] as const;

/** Environment variables always treated as secrets (when set). */
export const SECRET_ENV_VARS = [
  'BINGX_API_KEY',
  'BINGX_API_SECRET',
  'CLICKHOUSE_PASSWORD',
  'HAZELCAST_PASSWORD',
] as const;

/** Any other variable with one of these suffixes is a secret too. */
const SECRET_ENV_NAME =
  /(?:^|_)(?:PASSWORD|PASSWD|SECRET|API_?KEY|API_?SECRET|TOKEN|PASSPHRASE|PRIVATE_KEY)$/i;
/** True for a variable that holds a secret: a named one or one with a secret suffix. */
export function isSecretEnvName(name: string): boolean {
  return (SECRET_ENV_VARS as readonly string[]).includes(name) || SECRET_ENV_NAME.test(name);
}

const SECRET_FIELD_NAME = new Set(SECRET_FIELDS.map((f) => f.toLowerCase()));
/** Secrets this short are masked only where a whole value equals them (a substring match would garble text). */
const MIN_SUBSTRING = 4;
/** The serialized-line backstop only looks for secrets at least this long (JSON keys are shorter). */
const MIN_LINE_BACKSTOP = 8;
const MAX_DEPTH = 10;

/** The secret values known from the environment plus `extra`, longest first. */
export function knownSecrets(
  env: Env = process.env,
  extra: readonly (string | undefined | null)[] = [],
): string[] {
  const out = new Set<string>();
  const add = (v: string | undefined | null) => {
    const t = v?.trim();
    if (t) out.add(t);
    if (v && v !== t) out.add(v);
  };
  for (const [name, value] of Object.entries(env)) if (isSecretEnvName(name)) add(value);
  for (const v of extra) add(v);
  return [...out].sort((a, b) => b.length - a.length);
}

/** Redact paths for pino: each secret field at the top level and one and two levels down. */
function redactPaths(): string[] {
  const paths: string[] = [];
  for (const f of SECRET_FIELDS) {
    const key = /^[A-Za-z_$][\w$]*$/.test(f) ? f : `["${f}"]`;
    const dot = key.startsWith('[') ? '' : '.';
    paths.push(key, `*${dot}${key}`, `*.*${dot}${key}`);
  }
  return paths;
}

/** Masks secrets in strings and secret-named fields in objects; never mutates its input. */
export class SecretMasker {
  private readonly secrets: string[];
  private readonly lineNeedles: Array<[string, string]>;

  constructor(secrets: readonly string[]) {
    this.secrets = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
    this.lineNeedles = this.secrets
      .filter((s) => s.length >= MIN_LINE_BACKSTOP)
      .map((s) => [JSON.stringify(s).slice(1, -1), CENSOR]);
  }

  get size(): number {
    return this.secrets.length;
  }

  string(s: string): string {
    if (this.secrets.length === 0 || s.length === 0) return s;
    let out = s;
    for (const secret of this.secrets) {
      if (out === secret) return CENSOR;
      if (secret.length >= MIN_SUBSTRING && out.includes(secret)) out = out.split(secret).join(CENSOR);
    }
    return out;
  }

  value(v: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
    if (typeof v === 'string') return this.string(v);
    if (v === null || typeof v !== 'object') return v;
    if (seen.has(v)) return '[Circular]';
    if (depth >= MAX_DEPTH) return '[Truncated]';
    seen.add(v);
    if (Array.isArray(v)) return v.map((x) => this.value(x, depth + 1, seen));
    if (v instanceof Error) {
      // Same prototype, so pino's error serializer still names the class.
      const e = Object.create(Object.getPrototypeOf(v) as object) as Record<string, unknown>;
      const hidden = (k: string, x: unknown) =>
        Object.defineProperty(e, k, { value: x, enumerable: false, writable: true, configurable: true });
      hidden('message', this.string(v.message));
      if (v.stack) hidden('stack', this.string(v.stack));
      if (v.cause !== undefined) hidden('cause', this.value(v.cause, depth + 1, seen));
      for (const [k, x] of Object.entries(v)) e[k] = this.field(k, x, depth, seen);
      return e;
    }
    if (v instanceof Date || v instanceof Map || v instanceof Set || ArrayBuffer.isView(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = this.field(k, x, depth, seen);
    return out;
  }

  /** The serialized line: any long secret left (e.g. in a custom serializer's output) is replaced. */
  line(s: string): string {
    let out = s;
    for (const [needle, censor] of this.lineNeedles)
      if (out.includes(needle)) out = out.split(needle).join(censor);
    return out;
  }

  private field(k: string, x: unknown, depth: number, seen: WeakSet<object>): unknown {
    if (SECRET_FIELD_NAME.has(k.toLowerCase()) && x !== undefined && x !== null && x !== '') return CENSOR;
    return this.value(x, depth + 1, seen);
  }
}

export interface LoggerOptions {
  /** The namespace (strategy) every line carries. */
  readonly namespace: string;
  /** The run id every line carries; settable later (setRunId) once the ledger has one. */
  readonly runId?: string | null;
  readonly level?: LogLevel;
  readonly format?: LogFormat;
  /** Append to this file (directories created) instead of stderr. */
  readonly file?: string;
  /** Write here instead (tests); takes precedence over `file`. */
  readonly stream?: { write(line: string): unknown };
  /** Where known secrets come from (default process.env). */
  readonly env?: Env;
  /** More secret values to mask (config-file passwords, credentials-file keys). */
  readonly secrets?: readonly (string | undefined | null)[];
}

export interface PinkLogger {
  readonly pino: Logger;
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A child carrying these fields on every line, e.g. `{ trade_id }`, `{ command_id }`, `{ component }`. */
  child(bindings: LogFields): PinkLogger;
  /**
   * A plain `(message) => void` for modules that take a log callback: info level, or
   * warn with `alert: true` for messages starting with `ALERT `.
   */
  readonly line: (message: string) => void;
  /** Sets the run id carried by this logger, its parent and all their children from now on. */
  setRunId(runId: string | null): void;
  flush(): void;
}

interface Shared {
  runId: string | null;
}

function wrap(logger: Logger, shared: Shared): PinkLogger {
  const call =
    (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') => (msg: string, fields?: LogFields) => {
      if (fields) logger[level](fields, msg);
      else logger[level](msg);
    };
  const self: PinkLogger = {
    pino: logger,
    trace: call('trace'),
    debug: call('debug'),
    info: call('info'),
    warn: call('warn'),
    error: call('error'),
    child: (bindings) => wrap(logger.child(bindings), shared),
    line: (message) => {
      if (message.startsWith('ALERT ')) logger.warn({ alert: true }, message);
      else logger.info(message);
    },
    setRunId: (runId) => {
      shared.runId = runId;
    },
    flush: () => {
      try {
        logger.flush();
      } catch {
        // a sync destination has nothing buffered
      }
    },
  };
  return self;
}

const OMIT_IN_TEXT = new Set(['level', 'time', 'pid', 'hostname', 'namespace', 'run_id', 'msg']);

/** One JSON line -> `time pink[ns] LEVEL message key=value ...` (level omitted for info). */
export function jsonLineToText(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = String(o.level ?? 'info');
  const head = `${String(o.time ?? new Date().toISOString())} pink[${String(o.namespace ?? '?')}]`;
  const extras = Object.entries(o)
    .filter(([k]) => !OMIT_IN_TEXT.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const parts = [head, level === 'info' ? '' : level.toUpperCase(), String(o.msg ?? ''), ...extras];
  // JSON escapes control characters; text lines must not carry them to a terminal raw.
  return `${printable(parts.filter((p) => p !== '').join(' '))}\n`;
}

function destination(o: LoggerOptions): DestinationStream {
  const format = o.format ?? 'json';
  if (o.stream) {
    const s = o.stream;
    return { write: (line: string) => s.write(format === 'text' ? jsonLineToText(line) : line) };
  }
  if (o.file) mkdirSync(dirname(o.file), { recursive: true });
  if (format === 'json') return pino.destination({ dest: o.file ?? 2, sync: true, append: true });
  const fd = o.file ? pino.destination({ dest: o.file, sync: true, append: true }) : null;
  return {
    write: (line: string) => {
      const text = jsonLineToText(line);
      if (fd) fd.write(text);
      else writeSync(2, text);
    },
  };
}

export function createLogger(o: LoggerOptions): PinkLogger {
  const masker = new SecretMasker(knownSecrets(o.env ?? process.env, o.secrets ?? []));
  const shared: Shared = { runId: o.runId ?? null };
  const logger = pino(
    {
      level: o.level ?? 'info',
      base: { pid: process.pid, hostname: hostname(), namespace: o.namespace },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: () => ({ run_id: shared.runId }),
      redact: { paths: redactPaths(), censor: CENSOR },
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => masker.value(bindings) as Record<string, unknown>,
        log: (obj) => masker.value(obj) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const masked = args.map((a) => (typeof a === 'string' ? masker.string(a) : a)) as Parameters<
            typeof method
          >;
          method.apply(this, masked);
        },
        streamWrite: (line) => masker.line(line),
      },
    },
    destination(o),
  );
  return wrap(logger, shared);
}

/**
 * Node's own warnings (deprecations, listener leaks, experimental features) become warn
 * lines of `logger` (secrets masked, one format) instead of bare stderr text. Returns the undo.
 */
export function routeProcessWarnings(logger: PinkLogger): () => void {
  const previous = process.listeners('warning');
  process.removeAllListeners('warning');
  const node = logger.child({ component: 'node' });
  const onWarning = (w: Error & { code?: string }) =>
    node.warn(`${w.name}${w.code ? ` ${w.code}` : ''}: ${w.message}`);
  process.on('warning', onWarning);
  return () => {
    process.off('warning', onWarning);
    for (const l of previous) process.on('warning', l);
  };
}
