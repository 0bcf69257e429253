/** `pink replay --data FILE [--decisions OUT] [--strict] [--venue sim]` */

import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { REPLAY_MAX_PENDING } from '../../adapters/clickhouse/ledger.js';
import { checkDecisionLogPath, DecisionLogWriter } from '../../adapters/files/decision-log.js';
import { fileSize } from '../../adapters/files/scan-lines.js';
import { openLedger } from '../../app/ledger.js';
import { runReplay, StrictReplayStop } from '../../app/replay.js';
import { strategyFor } from '../../app/strategies.js';
import { formatSummary } from '../../app/summary.js';
import { assetsOf, createVenue } from '../../app/venues.js';
import { printable } from '../../observability/printable.js';
import { leanHeapFlags } from '../bulk-heap.js';
import { action, CliError, EXIT } from '../errors.js';
import { refuseOutputOverInput } from '../paths.js';
import { createProgress, formatRunCost } from '../progress.js';
import { runningNamespace } from '../running-namespace.js';

export interface ReplayCliOptions {
  data: string;
  decisions?: string;
  strict?: boolean;
  flattenAtEnd?: boolean;
  config?: string;
  venue?: string;
  /** commander's --no-ledger */
  ledger?: boolean;
}

export async function replayCommand(opts: ReplayCliOptions): Promise<number> {
  if (!existsSync(opts.data)) throw new CliError(`--data ${opts.data}: no such file`);
  refuseOutputOverInput(
    [
      ['--data', opts.data],
      ['--config', opts.config],
    ],
    [['--decisions', opts.decisions]],
  );
  const { ns, cfg } = runningNamespace({
    use: 'act',
    file: opts.config,
    overrides: opts.venue ? { venue: opts.venue } : {},
  });
  if (cfg.venue === 'bingx')
    throw new CliError(
      "replay runs on --venue sim or bingx-sim (recorded prices are not the exchange's); use `pink run --venue bingx` to trade VST",
    );
  // A path the log cannot be written to is refused before anything starts (the file untouched).
  const decisionsPath = opts.decisions;
  if (decisionsPath) cliDecisionLog(() => checkDecisionLogPath(decisionsPath));
  const strategy = await strategyFor(cfg.algorithm, cfg.algorithmParams);
  const log = (m: string) => process.stderr.write(`pink: ${m}\n`);
  const ledger = opts.ledger === false ? null : await openLedger({ cfg, ns, log, bulk: true });
  if (ledger) log(`ledger: ${ledger.handle.describe}, database ${ledger.ledger.database}`);
  const total = fileSize(opts.data);
  const progress = createProgress(total, 'replay', 'bytes');
  const started = performance.now();
  let completed = false;
  let decisions: DecisionLogWriter | null = null;
  try {
    if (decisionsPath) decisions = cliDecisionLog(() => new DecisionLogWriter(decisionsPath));
    const result = await runReplay({
      dataPath: opts.data,
      strategy,
      namespace: ns.strategy,
      initialCapital: cfg.capital,
      strict: Boolean(opts.strict),
      flattenAtEnd: Boolean(opts.flattenAtEnd),
      sim: cfg.sim,
      ...(cfg.venue === 'bingx-sim'
        ? {
            venue: async (marks) =>
              (await createVenue({ kind: 'bingx-sim', assets: await assetsOf(opts.data) }, marks)).venue,
            realTimeVenue: true,
          }
        : {}),
      sinks: [...(decisions ? [decisions.sink] : []), ...(ledger ? [ledger.sink.sink] : [])],
      ...(ledger ? { room: () => ledger.ledger.room(REPLAY_MAX_PENDING) } : {}),
      // The second core is the engine's when the ledger runs in this process (README, Performance).
      readLines: ledger?.handle.engine === 'embedded' ? 'inline' : 'worker',
      v8Flags: leanHeapFlags(process.argv, process.execArgv, process.env),
      onProgress: (p) => progress.update(p.bytes, `${p.lines} lines`),
    });
    progress.stop();
    completed = true;
    process.stdout.write(`${printable(formatSummary(result.summary))}\n`);
    if (opts.decisions) process.stdout.write(`decision log        ${opts.decisions}\n`);
    // The next scan went on with an order still in flight: its decisions may differ from BLUE's.
    if (result.unsettled > 0)
      log(`warning: ${result.unsettled} waits for the venue ended with an order still in flight (15 s each)`);
    if (ledger) {
      await ledger.sink.flush();
      const health = ledger.ledger.health();
      process.stdout.write(
        `ledger              ${ledger.ledger.database} (${ledger.handle.describe}): run ${ledger.ledger.runId}, ${health.rowsWritten} rows written, spool depth ${health.spoolDepth}\n`,
      );
    }
    const lines = result.summary.scans + result.summary.rejectedScans;
    process.stdout.write(`${formatRunCost(lines, started, ledger?.handle.engine === 'embedded')}\n`);
    // Lines were read but none was a scan: nothing was replayed, which is not success.
    if (result.summary.scans === 0 && result.summary.rejectedScans > 0) {
      process.stderr.write(
        `pink: ${opts.data}: none of its ${result.summary.rejectedScans} scans was valid\n`,
      );
      return EXIT.FAILED;
    }
    return EXIT.OK;
  } catch (err) {
    progress.stop();
    if (err instanceof StrictReplayStop)
      throw new CliError(`--strict: stopped at the first bad scan: ${err.message}`);
    throw err;
  } finally {
    // The ledger is closed (its rows flushed) whatever became of the decision log.
    const logFailure = await decisions?.close().then(
      () => null,
      (err: Error) => err,
    );
    await ledger?.close();
    await strategy.close?.();
    if (logFailure) reportLogFailure(logFailure, completed, log);
  }
}

/** A decision log that could not be written in full fails a replay that had succeeded; beside another failure it is told. */
function reportLogFailure(err: Error, completed: boolean, log: (m: string) => void): void {
  if (completed) throw new CliError(`--decisions: ${err.message}`, EXIT.FAILED);
  log(`also: --decisions: ${err.message}`);
}

/** The decision log's own errors, as the flag's. */
function cliDecisionLog<T>(open: () => T): T {
  try {
    return open();
  } catch (err) {
    throw new CliError(`--decisions: ${(err as Error).message}`);
  }
}

export function register(program: Command): void {
  program
    .command('replay')
    .description('run the whole pipeline over a recorded scan file (JSONL or .jsonl.gz), as fast as it goes')
    .requiredOption('--data <file>', 'scan file (.jsonl or .jsonl.gz)')
    .option('--decisions <file>', 'write the decision log (JSON Lines, ALGORITHM.md §4) here')
    .option('--strict', 'stop at the first bad scan instead of skipping it')
    .option(
      '--flatten-at-end',
      'close a position still open after the last scan through the normal exit path (reason FLATTEN), so the run ends flat',
    )
    .option(
      '--venue <venue>',
      'execution venue: sim (default) | bingx-sim (ccxt against the loopback BingX simulator)',
    )
    .option('--config <file>', 'configuration file (JSON)')
    .option('--no-ledger', 'do not write the ClickHouse ledger (decision log and summary only)')
    .action(action((opts: ReplayCliOptions) => replayCommand(opts)));
}
