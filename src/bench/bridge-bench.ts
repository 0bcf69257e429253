/** The strategy bridge (issue #20): a decision's round trip to a strategy process, beside the in-process one. */

import { join } from 'node:path';
import { ProcessStrategy } from '../adapters/strategy/process-strategy.js';
import { BlueV7Ref } from '../strategy/blue-v7-ref.js';
import { generatedScans, replayRate, writeScanFile } from './core-benches.js';
import type { Figure } from './harness.js';
import { percentile } from './harness.js';

const PYTHON_REF = 'process:python3 bridges/python/blue_v7_ref.py';

const NO_SINKS = () => ({ sinks: [], done: async () => {} });

export async function benchStrategyBridge(dir: string): Promise<Figure[]> {
  const scans = generatedScans(20_000, 50, 7);
  const ctx = { capital: 25_000 };
  const inProcess = new BlueV7Ref();
  let t0 = process.hrtime.bigint();
  for (const scan of scans) inProcess.decide(scan, ctx);
  const inProcessRate = scans.length / (Number(process.hrtime.bigint() - t0) / 1e9);

  const bridged = await ProcessStrategy.start(PYTHON_REF, { deadlineMs: 10_000 });
  const trips: number[] = [];
  try {
    t0 = process.hrtime.bigint();
    for (const scan of scans) {
      const t = process.hrtime.bigint();
      await bridged.decide(scan, ctx);
      trips.push(Number(process.hrtime.bigint() - t) / 1000);
    }
  } finally {
    await bridged.close();
  }
  const rate = scans.length / (Number(process.hrtime.bigint() - t0) / 1e9);
  trips.sort((a, b) => a - b);

  // The whole replay (parse, decide, intent, kernel, sim venue; no ledger) with each strategy.
  const path = join(dir, 'bridge-replay.jsonl');
  writeScanFile(path, scans);
  const replayInProcess = await replayRate(path, NO_SINKS);
  const replayer = await ProcessStrategy.start(PYTHON_REF, { deadlineMs: 10_000 });
  let replayBridged: number;
  try {
    replayBridged = await replayRate(path, NO_SINKS, replayer);
  } finally {
    await replayer.close();
  }
  const detail = `${scans.length} scans of 50 assets, one decide at a time, JSON lines over pipes to python3 ${PYTHON_REF.slice(16)}`;
  return [
    {
      name: 'strategy bridge round trip p50 (python blue_v7_ref)',
      value: Math.round(percentile(trips, 50)),
      unit: 'us',
      target: 'reported (no target)',
      met: null,
      detail: `${detail}; p99 ${Math.round(percentile(trips, 99))} us`,
    },
    {
      name: 'strategy bridge decisions (python) vs in process',
      value: Math.round(rate),
      unit: 'scans/s',
      target: 'reported (no target)',
      met: null,
      detail: `in process ${Math.round(inProcessRate).toLocaleString('en-US')} scans/s; ${detail}`,
    },
    {
      name: 'replay through the strategy bridge (python), no ledger',
      value: Math.round(replayBridged),
      unit: 'scans/s',
      target: 'reported (no target)',
      met: null,
      detail: `the same replay with the in-process blue-v7-ref: ${Math.round(replayInProcess).toLocaleString('en-US')} scans/s (${(replayBridged / replayInProcess).toFixed(3)} of it); ${scans.length} scans x 50 assets`,
    },
  ];
}
