/**
 * `pink demo` (what `npm start` runs): simulate the default dataset, replay it through
 * the whole pipeline into the embedded ClickHouse ledger, prove the capital replay,
 * and say where everything is.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { capitalReplay } from '../../adapters/clickhouse/capital-replay.js';
import { DecisionLogWriter } from '../../adapters/files/decision-log.js';
import { openLedger } from '../../app/ledger.js';
import { LEDGER_TABLES } from '../../app/mode-verify.js';
import { runReplay } from '../../app/replay.js';
import { strategyFor } from '../../app/strategies.js';
import { formatSummary } from '../../app/summary.js';
import { writeSimulatedScans } from '../../market/scan-file.js';
import { action, EXIT } from '../errors.js';
import { createProgress } from '../progress.js';
import { runningNamespace } from '../running-namespace.js';
import { writeReport } from './report.js';

export const DEFAULT_DATASET = { scans: 20_000, assets: 20, seed: 42 } as const;

interface DemoOptions {
  config?: string;
}

export async function demoCommand(o: DemoOptions): Promise<number> {
  const { ns, cfg } = runningNamespace({ use: 'act', file: o.config });
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const log = (m: string) => process.stderr.write(`pink: ${m}\n`);
  const data = join(cfg.varDir, 'data', 'default-scans.jsonl');
  const decisionsPath = join(cfg.varDir, 'demo', 'decisions.jsonl');

  out(
    `1/3 simulating the default dataset: ${DEFAULT_DATASET.scans} scans x ${DEFAULT_DATASET.assets} assets, seed ${DEFAULT_DATASET.seed}`,
  );
  const simBar = createProgress(DEFAULT_DATASET.scans, 'simulate', 'scans');
  await writeSimulatedScans(data, DEFAULT_DATASET, (n) => simBar.update(n));
  simBar.stop();
  out(`    ${data}`);

  out('2/3 replaying it through strategy -> kernel -> sim venue -> ledger');
  const decisions = new DecisionLogWriter(decisionsPath);
  const ledger = await openLedger({ cfg, ns, log });
  const strategy = await strategyFor(cfg.algorithm, cfg.algorithmParams);
  const bar = createProgress(DEFAULT_DATASET.scans, 'replay', 'lines');
  try {
    const result = await runReplay({
      dataPath: data,
      strategy,
      namespace: ns.strategy,
      initialCapital: cfg.capital,
      strict: false,
      sim: cfg.sim,
      flattenAtEnd: true,
      sinks: [decisions.sink, ledger.sink.sink],
      onProgress: (p) => bar.update(p.lines),
    });
    bar.stop();
    await decisions.close();
    await ledger.sink.flush();
    out(formatSummary(result.summary));

    out('3/3 checking the audit trail');
    const replay = await capitalReplay(ledger.ledger, { liveCapital: result.account.capital });
    out(
      `    capital replay (status_snapshots + trade_events deduplicated by trade_id): ${replay.fromSnapshots.toFixed(6)} ` +
        `vs account ${result.account.capital.toFixed(6)}: ${replay.ok ? 'EQUAL (1e-9)' : 'DIFFERENT'}`,
    );
    const counts = await ledger.ledger.query<{ table: string; rows: string }>(
      `SELECT table, toString(sum(rows)) AS rows FROM system.parts WHERE database = {db:String} AND active GROUP BY table ORDER BY table`,
      { db: ledger.ledger.database },
    );
    const byTable = new Map(counts.map((c) => [c.table, c.rows]));
    for (const t of LEDGER_TABLES)
      out(`    ${ledger.ledger.database}.${t.padEnd(22)} ${byTable.get(t) ?? '0'} rows`);
    out(`decision log: ${decisionsPath}`);
    out(`ledger:       ${ledger.handle.describe} (database ${ledger.ledger.database})`);
    const report = await writeReport(ledger.ledger, {
      out: join(cfg.varDir, 'report'),
      runId: ledger.ledger.runId,
      fallbackCapital: cfg.capital,
    });
    const sf = report.figures.execution.shortfall;
    const usdt = (v: number) => v.toFixed(2);
    out(
      `    implementation shortfall, ${sf.trades} trades (USDT): reference ${usdt(sf.total.reference)} - delay ${usdt(sf.total.delay)} ` +
        `- slippage ${usdt(sf.total.slippage)} - fees ${usdt(sf.total.fees)} - funding ${usdt(sf.total.funding)} ` +
        `- venue ${usdt(sf.total.venue)} = realized ${usdt(sf.total.realized)} (largest per-trade rounding ${sf.maxIdentityError.toExponential(1)})`,
    );
    out(`report: ${report.htmlPath}`);
    return replay.ok ? EXIT.OK : EXIT.FAILED;
  } finally {
    bar.stop();
    await ledger.close();
  }
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'the main job on embedded defaults (npm start): simulate the default dataset, replay it into the embedded ledger, check it',
    )
    .option('--config <file>', 'configuration file (JSON)')
    .action(action((o: DemoOptions) => demoCommand(o)));
}
