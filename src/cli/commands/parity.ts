/** `pink parity --data SCANS [--blue-log FILE] [--faults PROFILE] [--out DIR]` */

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createClickHouseClient } from '../../adapters/clickhouse/client.js';
import { parseInstant, readBlueClickHouse } from '../../app/blue-clickhouse.js';
import type { PinkConfig } from '../../app/config.js';
import {
  FAULT_PROFILES,
  ParityInputError,
  parityMarkdown,
  readBlueLog,
  runParity,
} from '../../app/parity.js';
import { strategyFor } from '../../app/strategies.js';
import { assetsOf, createVenue } from '../../app/venues.js';
import type { DecisionRecord } from '../../domain/decision.js';
import { printable } from '../../observability/printable.js';
import type { Strategy } from '../../strategy/strategy.js';
import { leanHeapFlags } from '../bulk-heap.js';
import { action, CliError, EXIT } from '../errors.js';
import { refuseOutputOverInput } from '../paths.js';
import { formatRunCost } from '../progress.js';
import { runningNamespace } from '../running-namespace.js';

interface ParityCliOptions {
  data: string;
  blueLog?: string;
  blueClickhouse?: boolean;
  from?: string;
  to?: string;
  faults: string;
  out: string;
  venue: string;
  config?: string;
  pinkParam: string[];
  referenceAlgorithm?: string;
}

function parseParams(pairs: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--pink-param "${pair}" must look like NAME=JSON_VALUE`);
    try {
      out[pair.slice(0, eq)] = JSON.parse(pair.slice(eq + 1));
    } catch {
      throw new CliError(`--pink-param "${pair}": the value is not JSON`);
    }
  }
  return out;
}

/** The BLUE side when one is given: a recorded log file, or BLUE's ClickHouse table (read-only). */
async function openBlueSource(
  o: ParityCliOptions,
  cfg: PinkConfig,
): Promise<{ log: AsyncIterable<DecisionRecord>; close: () => Promise<void> } | null> {
  if (o.blueLog && o.blueClickhouse)
    throw new CliError('give either --blue-log or --blue-clickhouse, not both');
  if ((o.from || o.to) && !o.blueClickhouse)
    throw new CliError('--from/--to apply to --blue-clickhouse only');
  if (o.blueLog) return { log: readBlueLog(o.blueLog), close: async () => {} };
  if (!o.blueClickhouse) return null;
  if (!o.from) throw new CliError('--blue-clickhouse needs --from (ISO-8601 time; --to defaults to now)');
  let range: { fromMs: number; toMs: number };
  try {
    range = { fromMs: parseInstant('--from', o.from), toMs: o.to ? parseInstant('--to', o.to) : Date.now() };
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.BAD_INPUT);
  }
  const handle = await createClickHouseClient(cfg.clickhouse);
  return { log: readBlueClickHouse(handle.client, range), close: () => handle.client.close() };
}

export async function parityCommand(o: ParityCliOptions): Promise<number> {
  if (!existsSync(o.data)) throw new CliError(`--data ${o.data}: no such file`);
  if (o.blueLog && !existsSync(o.blueLog)) throw new CliError(`--blue-log ${o.blueLog}: no such file`);
  const inputs = [
    ['--data', o.data],
    ['--blue-log', o.blueLog],
    ['--config', o.config],
  ] as const;
  refuseOutputOverInput(inputs, [
    ['--out (parity.json)', join(o.out, 'parity.json')],
    ['--out (parity.md)', join(o.out, 'parity.md')],
  ]);
  if (!FAULT_PROFILES[o.faults])
    throw new CliError(
      `--faults "${o.faults}" is not a profile (known: ${Object.keys(FAULT_PROFILES).join(', ')})`,
    );
  if (o.venue !== 'sim' && o.venue !== 'bingx-sim')
    throw new CliError(`--venue "${o.venue}" is not a parity venue (known: sim, bingx-sim)`);
  if (o.venue === 'bingx-sim' && o.faults !== 'none')
    throw new CliError(
      '--faults applies to the sim venue only; bingx-sim runs the ccxt path without injected faults',
    );
  const { ns, cfg } = runningNamespace({ use: 'act', file: o.config });
  if (o.referenceAlgorithm !== undefined && (o.blueLog || o.blueClickhouse))
    throw new CliError('--reference-algorithm applies to the reference path; with a BLUE log there is none');
  const pinkParams = { ...cfg.algorithmParams, ...parseParams(o.pinkParam) };
  const pinkStrategy = await strategyFor(cfg.algorithm, pinkParams);
  let blue: Awaited<ReturnType<typeof openBlueSource>> = null;
  let referenceStrategy: Strategy | undefined;
  let report: Awaited<ReturnType<typeof runParity>>;
  const started = performance.now();
  try {
    blue = await openBlueSource(o, cfg);
    // Another algorithm on the reference path (the built-in one against a strategy process, say).
    const reference = o.referenceAlgorithm ?? cfg.algorithm;
    referenceStrategy = blue
      ? undefined
      : await strategyFor(reference, reference === cfg.algorithm ? cfg.algorithmParams : {});
    report = await runParity({
      dataPath: o.data,
      // No ledger here: the second core is free for the reader (README, Performance).
      readLines: 'worker',
      v8Flags: leanHeapFlags(process.argv, process.execArgv, process.env),
      pinkStrategy,
      referenceStrategy,
      blueLog: blue?.log,
      namespace: ns.strategy,
      capital: cfg.capital,
      faults: o.faults,
      ...(o.venue === 'bingx-sim'
        ? {
            venue: async (marks) =>
              (await createVenue({ kind: 'bingx-sim', assets: await assetsOf(o.data) }, marks)).venue,
            realTimeVenue: true,
            venueName: 'bingx-sim',
            // Said at once: a venue that stops answering must not look like a silent hang.
            onUnsettled: (scan, what) =>
              process.stderr.write(
                `pink parity: warning: scan ${scan}: ${printable(what)} still in flight after 15 s; going on\n`,
              ),
          }
        : {}),
    });
  } catch (err) {
    if (err instanceof ParityInputError) throw new CliError(err.message, EXIT.BAD_INPUT);
    throw err;
  } finally {
    await blue?.close();
    await pinkStrategy.close?.();
    await referenceStrategy?.close?.();
  }
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, 'parity.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(o.out, 'parity.md'), parityMarkdown(report));
  const verdict = report.passed ? 'PARITY' : 'DIVERGENCE';
  process.stdout.write(
    `${verdict}: ${report.identical}/${report.scans} identical (${report.identicalPct.toFixed(4)} %), ` +
      `${report.excused} excused (venue-made), ${report.divergent} divergent\n`,
  );
  if (report.firstDivergence && !report.passed)
    process.stdout.write(
      `first divergence at scan ${report.firstDivergence.scan}:\n  reference ${report.firstDivergence.reference}\n  pink      ${report.firstDivergence.pink}\n`,
    );
  process.stdout.write(
    `chain hash reference ${report.referenceChainHash}\nchain hash pink      ${report.pinkChainHash}\n`,
  );
  process.stdout.write(`report: ${join(o.out, 'parity.md')} and ${join(o.out, 'parity.json')}\n`);
  process.stdout.write(`${formatRunCost(report.scans + report.rejectedScans, started, false)}\n`);
  return report.passed ? EXIT.OK : EXIT.FAILED;
}

export function register(program: Command): void {
  program
    .command('parity')
    .description('prove PINK decides exactly like BLUE: reference path (or a BLUE log) vs the full PINK path')
    .requiredOption('--data <file>', 'scan file (.jsonl or .jsonl.gz)')
    .option('--blue-log <file>', 'compare against a recorded BLUE decision log (JSON Lines or CSV export)')
    .option(
      '--blue-clickhouse',
      "compare against BLUE's v7_decision_events in ClickHouse (read-only; needs --from)",
    )
    .option('--from <iso>', 'with --blue-clickhouse: first decision time, inclusive (ISO-8601)')
    .option('--to <iso>', 'with --blue-clickhouse: end time, exclusive (ISO-8601; default now)')
    .option('--faults <profile>', `venue fault profile: ${Object.keys(FAULT_PROFILES).join(' | ')}`, 'none')
    .option(
      '--venue <venue>',
      'venue for the PINK path: sim (in process) | bingx-sim (ccxt against the loopback BingX simulator)',
      'sim',
    )
    .option('--out <dir>', 'where to write parity.json and parity.md', './var/parity')
    .option('--config <file>', 'configuration file (JSON)')
    .option(
      '--pink-param <NAME=JSON>',
      'override an algorithm parameter on the PINK path only (to prove the harness catches it)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--reference-algorithm <spec>',
      'the algorithm of the reference path (default: the configured one), e.g. blue-v7-ref against a process:<command> strategy',
    )
    .addHelpText('after', '\nExit codes: 0 parity, 1 divergence, 2 the harness could not run (bad input).')
    .action(action((opts: ParityCliOptions) => parityCommand(opts)));
}
