/** `pink simulate --scans N --assets N --seed S --out FILE`: a deterministic scan stream (market simulator + sensing). */

import type { Command } from 'commander';
import { writeSimulatedScans } from '../../market/scan-file.js';
import { action, CliError, EXIT } from '../errors.js';
import { numberArg } from '../numbers.js';
import { createProgress } from '../progress.js';

interface SimulateOptions {
  scans: string;
  assets: string;
  seed: string;
  out: string;
}

function int(name: string, v: string, min: number, max: number): number {
  return numberArg(name, v, { integer: true, min, max });
}

export async function simulateCommand(o: SimulateOptions): Promise<number> {
  const scans = int('--scans', o.scans, 1, 100_000_000);
  const assets = int('--assets', o.assets, 1, 1000);
  const seed = int('--seed', o.seed, 0, 2 ** 32 - 1);
  if (!/\.jsonl(\.gz)?$/.test(o.out))
    throw new CliError(`--out ${o.out}: use a .jsonl or .jsonl.gz file name`);
  const progress = createProgress(scans, 'simulate', 'scans');
  await writeSimulatedScans(o.out, { scans, assets, seed }, (n) => progress.update(n));
  progress.stop();
  process.stdout.write(`wrote ${scans} scans x ${assets} assets (seed ${seed}) to ${o.out}\n`);
  return EXIT.OK;
}

export function register(program: Command): void {
  program
    .command('simulate')
    .description(
      'write a deterministic scan stream: market simulator + sensing (ALGORITHM.md §5); same seed, same bytes',
    )
    .option('--scans <n>', 'number of scans', '20000')
    .option('--assets <n>', 'number of assets', '20')
    .option('--seed <s>', 'random seed', '42')
    .requiredOption('--out <file>', '.jsonl or .jsonl.gz output file')
    .action(action((o: SimulateOptions) => simulateCommand(o)));
}
