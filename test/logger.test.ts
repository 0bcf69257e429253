/**
 * Structured logs: JSON lines carrying the namespace, the run id and (through child
 * loggers) the trade or command id; secrets never reach the output, whether they come
 * as secret-named fields at any depth, as values equal to a known secret, inside a
 * message, an error or a URL, or in a child logger's bindings.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CENSOR,
  createLogger,
  jsonLineToText,
  knownSecrets,
  type LoggerOptions,
  routeProcessWarnings,
} from '../src/observability/logger.js';

const KEY = 'AKbingxApiKey0123456789abcdef';
const SECRET = 'SKbingxApiSecret9876543210zyxw';
const CH_PASSWORD = 'ch-p@ss"word\\with-quotes';
const HZ_PASSWORD = 'hz-secret-pass';
const TOKEN = 'tok_live_5f3a9c';
const SHORT = 'pw12';
const env = {
  BINGX_API_KEY: KEY,
  BINGX_API_SECRET: SECRET,
  CLICKHOUSE_PASSWORD: CH_PASSWORD,
  HAZELCAST_PASSWORD: HZ_PASSWORD,
  GRAFANA_SERVICE_TOKEN: TOKEN,
  REDIS_PASSWORD: SHORT,
  BINGX_CREDENTIALS_FILE: '/etc/pink/bingx.json',
  PATH: '/usr/bin',
};
const ALL = [KEY, SECRET, CH_PASSWORD, HZ_PASSWORD, TOKEN, SHORT, 'file-only-secret-value'];

function capture(o: Partial<LoggerOptions> = {}) {
  const lines: string[] = [];
  const logger = createLogger({
    namespace: 'pink',
    env,
    secrets: ['file-only-secret-value'],
    stream: { write: (l: string) => lines.push(l) },
    ...o,
  });
  const json = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, json, text: () => lines.join('') };
}

function expectNoSecret(out: string): void {
  for (const s of ALL) {
    expect(out, `secret ${s} leaked`).not.toContain(s);
    expect(out, `secret ${s} leaked (JSON-escaped)`).not.toContain(JSON.stringify(s).slice(1, -1));
  }
}

describe('logger', () => {
  it('knows the secrets of the environment and the caller, not ordinary variables', () => {
    const known = knownSecrets(env, ['extra-secret']);
    for (const s of [KEY, SECRET, CH_PASSWORD, HZ_PASSWORD, TOKEN, SHORT, 'extra-secret'])
      expect(known).toContain(s);
    expect(known).not.toContain('/etc/pink/bingx.json');
    expect(known).not.toContain('/usr/bin');
  });

  it('never writes a secret, however it is logged', () => {
    const { logger, text, json } = capture();
    const order = {
      apiKey: KEY,
      apiSecret: SECRET,
      password: CH_PASSWORD,
      headers: { 'X-BX-APIKEY': KEY, Authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      url: `https://open-api-vst.bingx.com/openApi/swap/v2/trade/order?symbol=BTC-USDT&signature=${SECRET}`,
      deep: { a: { b: { c: { d: { signature: SECRET, note: `key is ${KEY}`, plain: HZ_PASSWORD } } } } },
      list: [KEY, { secret: SECRET }, `${TOKEN}!`],
      renamed: { whatever: SHORT, redisPassword: SHORT },
      qty: 0.5,
    };
    logger.info('submitting order', order);
    logger.warn(`venue said: bad key ${KEY} / ${SECRET}`);
    logger.error('submit failed', { err: new Error(`401 for ${KEY} with password ${CH_PASSWORD}`) });
    logger.pino.error(new Error(`raw pino error ${SECRET}`));
    logger.pino.info({ nested: { apiKey: KEY } }, 'printf %s', SECRET);
    logger.child({ trade_id: 'BTCUSDT-T-000000000042', session: KEY }).info('child', { token: TOKEN });
    logger.line(`ALERT connection string clickhouse://default:${CH_PASSWORD}@host`);
    logger.info('file-only', { v: 'file-only-secret-value' });

    const out = text();
    expectNoSecret(out);
    expect(out).toContain(CENSOR);
    // What is not secret survives.
    const [first] = json();
    expect(first).toMatchObject({
      msg: 'submitting order',
      qty: 0.5,
      headers: { 'X-BX-APIKEY': CENSOR, Authorization: CENSOR, 'content-type': 'application/json' },
      apiKey: CENSOR,
      renamed: { whatever: CENSOR, redisPassword: CENSOR },
    });
    expect(String(first!.url)).toContain('symbol=BTC-USDT&signature=[REDACTED]');
    expect(json().find((l) => l.msg === 'child')).toMatchObject({ trade_id: 'BTCUSDT-T-000000000042' });
    expect(json().find((l) => l.msg === 'submit failed')).toMatchObject({
      err: { type: 'Error', message: `401 for ${CENSOR} with password ${CENSOR}` },
    });
    // The caller's object is left as it was.
    expect(order.apiKey).toBe(KEY);
    expect(order.deep.a.b.c.d.signature).toBe(SECRET);
  });

  it('carries the namespace and run id on every line, and the trade or command id where known', () => {
    const { logger, json } = capture({ runId: null });
    logger.info('before the ledger');
    logger.setRunId('run-abc');
    const trade = logger.child({ component: 'trade', trade_id: 'ETHUSDT-T-000000000007' });
    trade.info('trade POSITION_OPENED');
    trade.child({ client_order_id: 'pkethusdtt7-e0' }).warn('order REJECTED');
    logger.child({ command_id: 'cmd-1' }).info('command cmd-1 PAUSE: APPLIED');
    logger.info('after');
    const lines = json();
    expect(lines.every((l) => l.namespace === 'pink' && typeof l.pid === 'number')).toBe(true);
    expect(lines[0]).toMatchObject({ run_id: null, level: 'info' });
    expect(lines.slice(1).every((l) => l.run_id === 'run-abc')).toBe(true);
    expect(lines[1]).toMatchObject({ trade_id: 'ETHUSDT-T-000000000007', component: 'trade' });
    expect(lines[2]).toMatchObject({
      trade_id: 'ETHUSDT-T-000000000007',
      client_order_id: 'pkethusdtt7-e0',
      level: 'warn',
    });
    expect(lines[3]).toMatchObject({ command_id: 'cmd-1' });
    expect(Date.parse(String(lines[0]!.time))).toBeGreaterThan(0);
  });

  it('line(): info, or warn with alert: true for ALERT messages', () => {
    const { logger, json } = capture();
    logger.line('ready: venue sim');
    logger.line('ALERT account_events cap exceeded');
    expect(json()).toMatchObject([
      { level: 'info', msg: 'ready: venue sim' },
      { level: 'warn', alert: true, msg: 'ALERT account_events cap exceeded' },
    ]);
  });

  it('honours the level', () => {
    const { logger, json } = capture({ level: 'warn' });
    logger.info('quiet');
    logger.debug('quieter');
    logger.warn('loud');
    expect(json().map((l) => l.msg)).toEqual(['loud']);
  });

  it('text format: one readable line each, still masked', () => {
    const { logger, text } = capture({ format: 'text', runId: 'r1' });
    logger.info('ready: venue sim');
    logger.child({ trade_id: 'SOLUSDT-T-000000000003' }).warn(`order REJECTED with key ${KEY}`, { qty: 2 });
    const out = text();
    expectNoSecret(out);
    const [a, b] = out.trimEnd().split('\n');
    expect(a).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z pink\[pink\] ready: venue sim$/);
    expect(b).toMatch(
      /pink\[pink\] WARN order REJECTED with key \[REDACTED\] trade_id=SOLUSDT-T-000000000003 qty=2$/,
    );
    expect(jsonLineToText('not json\n')).toBe('not json\n');
  });

  it('writes to a file when asked, creating the directory', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pink-log-')), 'logs', 'pink.log');
    const logger = createLogger({ namespace: 'pink', env, file, runId: 'r2' });
    logger.child({ trade_id: 'XRPUSDT-T-000000000009' }).info(`hello ${SECRET}`, { apiSecret: SECRET });
    logger.flush();
    const content = readFileSync(file, 'utf8');
    expectNoSecret(content);
    expect(JSON.parse(content.trim())).toMatchObject({
      namespace: 'pink',
      run_id: 'r2',
      trade_id: 'XRPUSDT-T-000000000009',
      msg: 'hello [REDACTED]',
      apiSecret: CENSOR,
    });
  });

  it("routes Node's own warnings through the logger, secrets masked, and undoes it", async () => {
    const { logger, json } = capture();
    const undo = routeProcessWarnings(logger);
    try {
      process.emitWarning(`listener leak near ${SECRET}`, { code: 'PINK_TEST' });
      await new Promise((r) => setImmediate(r));
    } finally {
      undo();
    }
    expect(json()).toEqual([
      expect.objectContaining({
        level: 'warn',
        component: 'node',
        msg: 'Warning PINK_TEST: listener leak near [REDACTED]',
      }),
    ]);
    expect(process.listeners('warning').length).toBeGreaterThan(0);
  });
});
