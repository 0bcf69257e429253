/** `pink run`: the long-running runtime. */

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readCredentialsFile, resolveBingxEnv } from '../../adapters/bingx/safety.js';
import { urlSecrets } from '../../adapters/clickhouse/client.js';
import { acquireHostLocks, type HostLocks } from '../../adapters/files/host-lock.js';
import { FileJournal } from '../../adapters/files/journal.js';
import { readScanLines } from '../../adapters/files/scan-lines.js';
import { Runtime, type ScanInput } from '../../app/runtime.js';
import { type ConfiguredStrategy, strategyFor } from '../../app/strategies.js';
import { assetsOf } from '../../app/venues.js';
import { createLogger, routeProcessWarnings } from '../../observability/logger.js';
import { action, CliError, EXIT } from '../errors.js';
import { faultKillFrom } from '../fault-kill.js';
import { numberArg } from '../numbers.js';
import { runningNamespace } from '../running-namespace.js';
import { runtimeHolder, runtimeResources } from '../runtime-resources.js';
import { type RunParts, wireRunParts } from './run-wiring.js';

interface RunCliOptions {
  config?: string;
  venue?: string;
  data?: string;
  scans?: string;
  intervalMs?: string;
  logFormat?: string;
  source?: string;
}

/** Keys from BINGX_CREDENTIALS_FILE are secrets too (masked in logs); an unreadable file is the venue's error to report. */
function credentialsFileSecrets(env: NodeJS.ProcessEnv): string[] {
  const file = env.BINGX_CREDENTIALS_FILE?.trim();
  if (!file) return [];
  try {
    const c = readCredentialsFile(file);
    return [c.apiKey, c.apiSecret];
  } catch {
    return [];
  }
}

/**
 * A recorded file replayed at the live cadence (ts restamped with the wall clock).
 * After a restart, scans the journal already processed are skipped without waiting.
 */
async function* pacedFile(
  path: string,
  intervalMs: number,
  skipThrough: () => number | null,
): AsyncGenerator<ScanInput> {
  const { lines } = readScanLines(path);
  for await (const line of lines) {
    const done = skipThrough();
    const n = (line.value as { scan?: unknown } | undefined)?.scan;
    if (done !== null && typeof n === 'number' && n <= done) continue;
    await new Promise((r) => setTimeout(r, intervalMs));
    // Restamped with the wall clock only when the file's own ts is valid (as replay checks
    // it); otherwise the scan goes on as written and is refused, logged with its line.
    const ts = (line.value as { ts?: unknown } | undefined)?.ts;
    const validTs = typeof ts === 'number' && Number.isSafeInteger(ts);
    const value =
      validTs && line.value && typeof line.value === 'object'
        ? { ...(line.value as object), ts: Date.now() }
        : line.value;
    yield { value: line.parseError ? undefined : value, where: `${path}:${line.lineNo}` };
  }
}

export async function runCommand(o: RunCliOptions): Promise<number> {
  const overrides: Record<string, unknown> = {};
  if (o.venue) overrides.venue = o.venue;
  if (o.intervalMs) overrides.scanIntervalMs = numberArg('--interval-ms', o.intervalMs, { integer: true });
  if (o.logFormat) overrides.logFormat = o.logFormat;
  if (o.source) overrides.scanSource = o.source;
  const { ns, cfg } = runningNamespace({ use: 'act', file: o.config, overrides });
  if (cfg.scanSource === 'features' && !o.data && cfg.hazelcast.members.length === 0)
    throw new CliError(
      'scanSource "features" reads DOLPHIN_FEATURES on Hazelcast: set HAZELCAST_MEMBERS (the in-process store has no features publisher)',
    );
  // The BingX environment guard and the credentials are checked before anything is opened.
  if (cfg.venue === 'bingx') {
    try {
      resolveBingxEnv(process.env);
    } catch (err) {
      throw new CliError((err as Error).message, EXIT.BAD_INPUT);
    }
  }
  const kill = faultKillFrom(process.env); // a testing aid; refused before anything opens if malformed
  const maxScans =
    o.scans === undefined
      ? Number.POSITIVE_INFINITY
      : numberArg('--scans', o.scans, { integer: true, min: 1 });
  const runDir = join(cfg.varDir, 'run');
  mkdirSync(runDir, { recursive: true });
  const logFile = cfg.logFile ? join(cfg.varDir, 'logs', cfg.logFile) : undefined;
  const logger = createLogger({
    namespace: ns.strategy,
    level: cfg.logLevel,
    format: cfg.logFormat,
    file: logFile,
    secrets: [
      cfg.clickhouse.password,
      ...urlSecrets(cfg.clickhouse.url),
      ...credentialsFileSecrets(process.env),
    ],
  });
  if (logFile) process.stderr.write(`pink[${ns.strategy}] logging to ${logFile}\n`);
  routeProcessWarnings(logger);
  const log = logger.child({ component: 'runtime' }).line;

  let lock: HostLocks;
  const holder = runtimeHolder(cfg);
  const lockInfo = join(runDir, `${ns.strategy}.lock`);
  try {
    lock = await acquireHostLocks({ strategy: ns.strategy, resources: runtimeResources(cfg, ns), holder });
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.BAD_INPUT);
  }
  // For operators only (who runs here); the kernel-held sockets are the lock.
  writeFileSync(lockInfo, `${JSON.stringify(holder)}\n`);
  let parts: RunParts | null = null;
  let runtime: Runtime | null = null;
  const stopOn = (signal: string) => () => {
    log(`${signal} received: stopping new entries, flushing the ledger`);
    void runtime?.stop(signal);
  };
  process.once('SIGTERM', stopOn('SIGTERM'));
  process.once('SIGINT', stopOn('SIGINT'));
  let strategy: ConfiguredStrategy | undefined;
  try {
    // A strategy process that fails is restarted with backoff; entries stay paused until RESUME.
    strategy = await strategyFor(cfg.algorithm, cfg.algorithmParams, { restart: { log } });
    parts = await wireRunParts({ cfg, ns, logger, runDir, strategy });
    let resumeAfter: number | null = null;
    const source = o.data
      ? pacedFile(o.data, cfg.scanIntervalMs, () => resumeAfter)
      : parts.liveSource(() => resumeAfter);
    const assets = o.data ? await assetsOf(o.data) : parts.liveAssets;
    const journal = new FileJournal(join(runDir, `${ns.strategy}-journal.json`));
    runtime = new Runtime({
      namespace: ns.strategy,
      strategy,
      capital: cfg.capital,
      journal: kill ? kill.journal(journal) : journal,
      makeVenue: async (marks) => {
        const venue = await parts!.makeVenue(marks, assets);
        return kill ? kill.venue(venue) : venue;
      },
      source: limit(source, maxScans),
      sinks: parts.sinks,
      onIdle: parts.onIdle,
      unknownPosition: cfg.unknownPosition,
      beforeCheckpoint: () => parts!.flushLedger(),
      log,
    });
    const report = await runtime.start();
    resumeAfter = runtime.pipeline.lastScan;
    for (const c of report.corrections) log(`recovery: ${c}`);
    await parts.ready(runtime);
    const slot = runtime.pipeline.kernel.view();
    const holds = slot
      ? `slot holds ${slot.tradeId} (${slot.stage}, ${slot.remainingQty} ${slot.asset})`
      : 'slot empty';
    log(
      `ready: venue ${cfg.venue}, ${holds}; recovery booked ${report.bookedFromHistory} venue records from its history, adopted ${report.adopted.length}, left ${report.foreignOrders.length} foreign orders`,
    );
    await runtime.run();
    await runtime.stop(Number.isFinite(maxScans) ? 'scan limit reached' : 'source ended');
    return EXIT.OK;
  } finally {
    await parts?.close().catch((err: Error) => log(`shutdown: ${err.message}`));
    await strategy?.close?.();
    rmSync(lockInfo, { force: true });
    await lock.release();
    writeFileSync(join(runDir, `${ns.strategy}.stopped`), `${new Date().toISOString()}\n`);
    log('stopped');
    logger.flush();
  }
}

async function* limit<T>(source: AsyncIterable<T>, max: number): AsyncGenerator<T> {
  let n = 0;
  if (n >= max) return;
  for await (const item of source) {
    yield item;
    n += 1;
    if (n >= max) return;
  }
}

export function register(program: Command): void {
  program
    .command('run')
    .description(
      'the live runtime: recovery, then trading until SIGTERM/SIGINT (embedded defaults: simulated market, sim venue)',
    )
    .option('--config <file>', 'configuration file (JSON)')
    .option('--venue <venue>', 'sim | bingx-sim | bingx')
    .option(
      '--data <file>',
      'replay a recorded scan file at the live cadence instead of the simulated market',
    )
    .option(
      '--source <source>',
      'without --data: simulator (built-in market + sensing, default) | features (live scans from DOLPHIN_FEATURES, read-only)',
    )
    .option('--scans <n>', 'stop after this many scans')
    .option('--interval-ms <ms>', 'scan cadence (default from config: 5000)')
    .option('--log-format <format>', 'json (default) | text: JSON lines or one readable line per event')
    .action(action((opts: RunCliOptions) => runCommand(opts)));
}
