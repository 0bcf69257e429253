/** `pink soak --hours H`: accelerated soak on a virtual clock through the whole runtime into ClickHouse. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { openLedger } from '../../app/ledger.js';
import { formatSoak, runSoak } from '../../app/soak.js';
import { action, EXIT } from '../errors.js';
import { numberArg } from '../numbers.js';
import { runningNamespace } from '../running-namespace.js';

interface SoakCliOptions {
  hours: string;
  assets: string;
  seed: string;
  scanMs: string;
  pollMs: string;
  paceMs: string;
  keepLedger?: boolean;
  json?: boolean;
}

export async function soakCommand(o: SoakCliOptions): Promise<number> {
  const hours = numberArg('--hours', o.hours, { above: 0, max: 24 * 30 });
  const num = (name: string, v: string, min: number) => numberArg(name, v, { integer: true, min });
  const { ns, cfg: base } = runningNamespace({ use: 'act' });
  // A soak writes a fresh ledger of its own unless told to use the configured one.
  const varDir = o.keepLedger ? base.varDir : mkdtempSync(join(tmpdir(), 'pink-soak-'));
  const cfg = o.keepLedger
    ? base
    : { ...base, varDir, clickhouse: { ...base.clickhouse, dataDir: join(varDir, 'clickhouse') } };
  const log = (m: string) => process.stderr.write(`pink: ${m}\n`);
  const ledger = await openLedger({ cfg, ns, log });
  try {
    const r = await runSoak({
      hours,
      assets: num('--assets', o.assets, 1),
      seed: num('--seed', o.seed, 0),
      scanMs: num('--scan-ms', o.scanMs, 100),
      pollMs: num('--poll-ms', o.pollMs, 50),
      paceMsPerHour: num('--pace-ms', o.paceMs, 0),
      ownLedger: !o.keepLedger,
      ledger,
      namespace: ns.strategy,
      onHour: (h, mb) => {
        if (process.stderr.isTTY) log(`hour ${h}: rss ${mb.toFixed(1)} MB`);
      },
    });
    process.stdout.write(
      o.json
        ? `${JSON.stringify(r, null, 2)}\n`
        : `${formatSoak(r)}\nledger: ${o.keepLedger ? ledger.handle.describe : 'a temporary embedded one, removed at the end (--keep-ledger writes into the configured ledger)'}\n`,
    );
    return r.violations.length ? EXIT.FAILED : EXIT.OK;
  } finally {
    await ledger.close();
    // The soak's own ledger is scratch (tens to hundreds of MB): nothing else reads it.
    if (!o.keepLedger) rmSync(varDir, { recursive: true, force: true });
  }
}

export function register(program: Command): void {
  program
    .command('soak')
    .description(
      'accelerated soak: a simulated day at production scan and polling cadence on a virtual clock, into ClickHouse',
    )
    .option('--hours <h>', 'simulated hours', '24')
    .option('--assets <n>', 'assets in the simulated market', '20')
    .option('--seed <s>', 'market and venue seed', '7')
    .option('--scan-ms <ms>', 'scan cadence', '5000')
    .option('--poll-ms <ms>', 'BingX account polling cadence', '2000')
    .option(
      '--pace-ms <ms>',
      "wall milliseconds each simulated hour takes at least (0: as fast as it goes); paced, the soak's own tables drop outdated parts after 5 s, so memory reaches the engine's steady state",
      '0',
    )
    .option('--keep-ledger', 'write into the configured ledger instead of a fresh temporary one')
    .option('--json', 'print the result as JSON')
    .action(action((o: SoakCliOptions) => soakCommand(o)));
}
