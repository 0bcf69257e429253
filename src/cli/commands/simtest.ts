/** `pink simtest --seeds N [--seed S] [--scans M]`: seeded fault simulation with invariant checks. */

import type { Command } from 'commander';
import { reproduction, runSeed, type SeedResult } from '../../app/simtest/run-seed.js';
import { action, EXIT } from '../errors.js';
import { numberArg } from '../numbers.js';
import { createProgress } from '../progress.js';
import { runningNamespace } from '../running-namespace.js';

interface SimtestOptions {
  seeds: string;
  seed?: string;
  scans: string;
  first: string;
  crashRate: string;
}

function positiveInt(name: string, v: string): number {
  return numberArg(name, v, { integer: true, min: 0 });
}

export async function simtestCommand(o: SimtestOptions): Promise<number> {
  runningNamespace({ use: 'act' }); // a simulation, but PINK's: the namespace rule holds here too
  const scans = positiveInt('--scans', o.scans);
  const crashRate = numberArg('--crash-rate', o.crashRate, { min: 0, max: 1 });
  const seeds =
    o.seed !== undefined
      ? [positiveInt('--seed', o.seed)]
      : Array.from(
          { length: positiveInt('--seeds', o.seeds) },
          (_, i) => positiveInt('--first', o.first) + i,
        );
  const progress = createProgress(seeds.length, 'simtest', 'seeds');
  const failures: SeedResult[] = [];
  let trades = 0;
  let crashes = 0;
  const crashPoints = new Map<string, number>();
  let refused = 0;
  let lostAcks = 0;
  let stateOutages = 0;
  const started = Date.now();
  for (const [i, seed] of seeds.entries()) {
    const r = await runSeed({ seed, scans, crashRate });
    trades += r.trades;
    crashes += r.crashes;
    for (const [point, n] of Object.entries(r.crashPoints))
      crashPoints.set(point, (crashPoints.get(point) ?? 0) + n);
    refused += r.ledgerRefused;
    lostAcks += r.ledgerLostAcks;
    stateOutages += r.stateOutages;
    if (!r.ok) {
      failures.push(r);
      process.stdout.write(
        `FAIL seed ${seed} at scan ${r.atScan}: ${r.violation}\n  reproduce: ${reproduction(seed, scans)}\n`,
      );
    }
    progress.update(i + 1, `${failures.length} failed`);
  }
  progress.stop();
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `simtest: ${seeds.length - failures.length} passed, ${failures.length} failed ` +
      `(${seeds.length} seeds x ${scans} scans, ${trades} trades, ${crashes} crash-restarts, ` +
      `ClickHouse: ${refused} inserts refused in outages, ${lostAcks} acknowledgements lost; ` +
      `Hazelcast: ${stateOutages} outages; ${secs} s)\n`,
  );
  const points = [...crashPoints].sort((a, b) => b[1] - a[1]).map(([p, n]) => `${p} ${n}`);
  if (points.length) process.stdout.write(`crash points: ${points.join(', ')}\n`);
  return failures.length ? EXIT.FAILED : EXIT.OK;
}

export function register(program: Command): void {
  program
    .command('simtest')
    .description(
      'deterministic fault simulation: whole replay segments under seeded venue faults and crashes, invariants after every scan',
    )
    .option('--seeds <n>', 'how many seeds to run', '100')
    .option('--first <n>', 'first seed of the range', '1')
    .option('--seed <s>', 'run exactly this seed (reproduce a failure)')
    .option('--scans <n>', 'scans per seed', '600')
    .option('--crash-rate <p>', 'crash-and-restart probability per scan', '0.01')
    .action(action((opts: SimtestOptions) => simtestCommand(opts)));
}
