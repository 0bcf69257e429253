/** Benchmarks that need the market simulator, the ledger or a child process. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigSchema } from '../app/config.js';
import { openLedger } from '../app/ledger.js';
import { runReplay } from '../app/replay.js';
import type { SoakResult } from '../app/soak.js';
import { lookupNamespace } from '../domain/namespaces.js';
import { Sensor } from '../market/sensing.js';
import { MarketSimulator } from '../market/simulator.js';
import { BlueV7Ref } from '../strategy/blue-v7-ref.js';
import { jsonParseCeiling } from './core-benches.js';
import { type Figure, median, repeat } from './harness.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export async function benchSensing(assets: number, scans: number, target: number): Promise<Figure> {
  const market = new MarketSimulator({ assets, seed: 3 });
  const bars = Array.from({ length: scans + 152 }, () => {
    const b = market.next();
    return { ts: b.ts, prices: Float64Array.from(b.prices) };
  });
  const runs = await repeat(3, () => {
    const sensor = new Sensor(market.symbols);
    let emitted = 0;
    const t0 = process.hrtime.bigint();
    for (const b of bars) if (sensor.push(b.ts, b.prices)) emitted++;
    return emitted / (Number(process.hrtime.bigint() - t0) / 1e9);
  });
  const v = median(runs);
  return {
    name: `sensing throughput (${assets} assets)`,
    value: Math.round(v),
    unit: 'scans/s',
    target: `>= ${target.toLocaleString('en-US')}`,
    met: v >= target,
    detail: `${scans} scans from a generated ${assets}-asset panel, median of 3`,
  };
}

/**
 * Full replay with every ledger row into embedded ClickHouse (a child process: one chDB per
 * process). Its share is taken against a JSON.parse ceiling the child measures just before
 * the replay: the VM's speed drifts within a minute, so a ceiling from earlier is not fair.
 */
export function benchReplayWithLedger(path: string, scans: number): Figure[] {
  const out = execFileSync(process.execPath, [CLI, '__bench-replay-ledger', path], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as {
    rate: number;
    rows: number;
    seconds: number;
    ceiling: number;
  };
  const detail = `${scans.toLocaleString('en-US')} scans x 20 assets, ${r.rows.toLocaleString('en-US')} ledger rows, ${r.seconds.toFixed(1)} s`;
  const ceiling = r.ceiling;
  return [
    {
      name: 'full replay throughput (with ledger)',
      value: Math.round(r.rate),
      unit: 'scans/s',
      target: '>= 50,000',
      met: r.rate >= 50_000,
      detail,
    },
    {
      name: 'full replay share of JSON.parse ceiling',
      value: r.rate / ceiling,
      unit: 'ratio',
      target: '>= 0.5',
      met: r.rate / ceiling >= 0.5,
      detail: `${detail}; ceiling ${Math.round(ceiling).toLocaleString('en-US')} scans/s, measured by the same process just before`,
    },
  ];
}

/** Runs inside the child: replay `path` into a fresh embedded ledger, print one JSON line. */
export async function replayWithLedgerChild(path: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pink-bench-ledger-'));
  const cfg = ConfigSchema.parse({ varDir: dir, clickhouse: { dataDir: join(dir, 'clickhouse') } });
  const ns = lookupNamespace('pink');
  const ceiling = median(await repeat(3, () => jsonParseCeiling(path)));
  const ledger = await openLedger({ cfg, ns, log: () => {} });
  const t0 = process.hrtime.bigint();
  const r = await runReplay({
    dataPath: path,
    strategy: new BlueV7Ref(),
    namespace: 'pink',
    initialCapital: 25_000,
    strict: false,
    sinks: [ledger.sink.sink],
  });
  await ledger.close();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  rmSync(dir, { recursive: true, force: true });
  const rows = Object.values(ledger.sink.counters().rows).reduce((a, b) => a + b, 0);
  process.stdout.write(`${JSON.stringify({ rate: r.summary.scans / seconds, rows, seconds, ceiling })}\n`);
}

/** Batched insert rate of the ledger path on the embedded engine (child process). */
export function benchLedgerInsert(): Figure {
  const out = execFileSync(process.execPath, [CLI, '__bench-ledger-insert'], { encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { rate: number; rows: number };
  return {
    name: 'ledger insert path (embedded ClickHouse)',
    value: Math.round(r.rate),
    unit: 'rows/s',
    target: '>= 500,000',
    met: r.rate >= 500_000,
    detail: `${r.rows.toLocaleString('en-US')} v7_decision_events rows through ClickHouseLedger, batched`,
  };
}

export async function ledgerInsertChild(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pink-bench-insert-'));
  const cfg = ConfigSchema.parse({ varDir: dir, clickhouse: { dataDir: join(dir, 'clickhouse') } });
  const ledger = await openLedger({ cfg, ns: lookupNamespace('pink'), log: () => {} });
  const rows = 1_000_000;
  // Rows as the event sink stamps them (rows.ts): every column of the table present.
  const batch = Array.from({ length: 50_000 }, (_, i) => ({
    ts: '2026-05-20 12:00:00.000',
    strategy: 'pink',
    run_id: ledger.ledger.runId,
    event_seq: i,
    scan: i,
    fired: true,
    action: 'HOLD',
    asset: 'BTCUSDT',
    side: 'SHORT',
    leverage: 2.5,
    reason: 'HOLD',
    bars_held: 3,
    decision_hash: 'x'.repeat(64),
    chain_hash: 'y'.repeat(64),
  }));
  const t0 = process.hrtime.bigint();
  for (let n = 0; n < rows; n += batch.length) ledger.ledger.insert('v7_decision_events', batch);
  await ledger.ledger.flush();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ rate: rows / seconds, rows })}\n`);
}

/** Wall time per simulated hour of the bench's soak: long enough for the engine to drop outdated parts. */
const SOAK_PACE_MS = 5000;

/**
 * The 24 h accelerated soak in a child with --expose-gc, paced (a day in two minutes) so
 * that memory is measured at the engine's steady state: account-event volume and memory.
 */
export function benchSoak(): Figure[] {
  const args = ['--expose-gc', CLI, 'soak', '--hours', '24', '--pace-ms', String(SOAK_PACE_MS), '--json'];
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const r = JSON.parse(out) as SoakResult;
  const acct = r.tables.find((t) => t.table === 'account_events');
  const bytes = acct?.bytesPerDay ?? 0;
  const detail = `${r.scans} scans (5 s) + ${r.polls} account polls (2 s), simulated day in ${r.wallSeconds.toFixed(0)} s`;
  return [
    {
      name: 'account_events per simulated day',
      value: bytes / 1e6,
      unit: 'MB/day',
      target: '<= 5 (7,410 base)',
      met: bytes <= 5e6 && r.materialSuppressed === 0,
      detail: `${detail}; ${acct?.rows ?? 0} rows, ${r.materialSuppressed} material rows suppressed`,
    },
    {
      name: 'soak peak RSS (incl. embedded ClickHouse)',
      value: r.peakRssMb,
      unit: 'MB',
      target: '<= 250',
      met: r.peakRssMb <= 250,
      detail: `${r.startRssMb.toFixed(0)} MB before the first scan (engine loaded), JS heap peak ${r.peakHeapMb.toFixed(1)} MB${r.anon ? `; without mapped library files (anonymous RSS) ${r.anon.startMb.toFixed(0)} MB at start, peak ${r.anon.peakMb.toFixed(0)} MB` : ''}`,
    },
    {
      name: 'soak RSS growth hour 2 -> 24',
      value: r.growthPct,
      unit: '%',
      target: '< 5',
      met: r.growthPct < 5,
      detail: `RSS by hour ${r.rssByHourMb.map((mb) => mb.toFixed(0)).join(' ')}; JS heap growth ${r.heapGrowthPct.toFixed(2)} %${r.anon ? `, anonymous RSS growth ${r.anon.growthPct.toFixed(1)} %` : ''}; ledger parts at the end ${r.parts.active} active, ${r.parts.outdated} outdated (paced ${SOAK_PACE_MS} ms per hour; outdated parts dropped ${r.outdatedPartsKeptS ?? 480} s after their merge)`,
    },
    {
      name: 'soak invariant violations',
      value: r.violations.length,
      unit: 'count',
      target: '0',
      met: r.violations.length === 0,
      detail: `${r.trades} trades`,
    },
  ];
}

/** `pink parity` over 1,000,000 scans (5 assets): must finish in under a minute with flat memory. */
export async function benchParityMillion(dir: string): Promise<Figure[]> {
  const { createWriteStream } = await import('node:fs');
  const { syntheticScanLines } = await import('../app/simtest/synthetic-scans.js');
  const path = join(dir, 'parity-1m.jsonl');
  const out = createWriteStream(path);
  for (let block = 0; block < 100; block++) {
    const lines = syntheticScanLines({ scans: 10_000, seed: 1000 + block }).map((l) => {
      const o = JSON.parse(l) as { scan: number; ts: number };
      o.scan += block * 20_000;
      o.ts += block * 50_000_000;
      return JSON.stringify(o);
    });
    if (!out.write(`${lines.join('\n')}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  const t0 = Date.now();
  const res = execFileSync(
    process.execPath,
    ['--max-old-space-size=512', CLI, 'parity', '--data', path, '--out', join(dir, 'parity')],
    {
      encoding: 'utf8',
    },
  );
  const seconds = (Date.now() - t0) / 1000;
  const ok = /PARITY: 1000000\/1000000/.test(res);
  return [
    {
      name: 'parity over 1,000,000 scans',
      value: seconds,
      unit: 's',
      target: '< 60',
      met: seconds < 60 && ok,
      detail: `5 assets, reference vs PINK path, heap capped at 512 MB (streams); ${ok ? '100% identical' : 'NOT identical'}`,
    },
  ];
}
