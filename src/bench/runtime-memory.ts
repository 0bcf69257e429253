/**
 * `npm run bench:runtime -- --minutes 120`: the live runtime's own memory in real time.
 *
 * The accelerated soak compresses a day into two minutes, so its ledger cannot flush at the
 * runtime's cadence (every wall second with rows) and the engine's merges and clean-ups,
 * which run on wall time, do not see what production gives them. This probe runs the real
 * thing instead: `pink run` on its embedded defaults (simulated market at the production
 * cadence, sim venue, embedded ClickHouse) in a scratch directory, sampling its resident
 * memory from /proc every `--sample-s` seconds until `--minutes` have passed, then stops it
 * with SIGTERM as an operator would. Figures go to stdout and bench/runtime-memory.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LIFELINE } from '../cli/bulk-heap.js';
import { residentSplit } from '../observability/memory.js';
import { ANON_TARGET_MB, CLI, type Figure, printFigure, writeResults } from './harness.js';

export interface RuntimeMemoryOptions {
  readonly minutes: number;
  readonly sampleS: number;
  /**
   * Extra environment for the runtime (e.g. GLIBC_TUNABLES); of this process's own it gets
   * only PASSED_ON; PINK_VAR_DIR, the ports and the log file are the probe's.
   */
  readonly env?: Readonly<Record<string, string>>;
  readonly onSample?: (s: MemorySample) => void;
  /** The built CLI to run (default: harness.ts's CLI, dist/cli/main.js). */
  readonly cli?: string;
  /** How long the runtime may take to stop after SIGTERM before it is killed (default STOP_GRACE_MS). */
  readonly stopGraceMs?: number;
}

export interface MemorySample {
  /** Seconds since the runtime was started. */
  readonly atS: number;
  readonly rssMb: number;
  readonly anonMb: number;
}

export interface RuntimeMemoryResult {
  readonly minutes: number;
  /** The runtime's process id (gone once the probe has returned). */
  readonly pid: number | undefined;
  readonly samples: readonly MemorySample[];
  /** The runtime's exit code after SIGTERM (0: a clean stop). */
  readonly exitCode: number | null;
  readonly stderrTail: string;
}

/** Runs `pink run` for `minutes` of wall time, sampling its memory; the scratch directory is removed. */
export async function probeRuntimeMemory(o: RuntimeMemoryOptions): Promise<RuntimeMemoryResult> {
  const varDir = mkdtempSync(join(tmpdir(), 'pink-runtime-memory-'));
  const child = spawn(process.execPath, [o.cli ?? CLI, 'run'], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: {
      ...passedOn(process.env),
      ...o.env,
      PINK_VAR_DIR: varDir,
      PINK_METRICS_PORT: '0',
      PINK_STATE_PORT: '0',
      PINK_LOG_FILE: 'run.log',
      // The runtime ends with this process, kill -9 included (the IPC channel is its lifeline).
      [LIFELINE]: String(process.pid),
    },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const samples = await sampleUntil(child, exited, o, () => stderr);
    child.kill('SIGTERM');
    const grace = o.stopGraceMs ?? STOP_GRACE_MS;
    const exitCode = await Promise.race([
      exited,
      sleep(grace).then((): typeof STOP_TIMED_OUT => STOP_TIMED_OUT),
    ]);
    if (exitCode === STOP_TIMED_OUT) stderr += `\n(probe: no exit ${grace / 1000} s after SIGTERM; killed)`;
    return {
      minutes: o.minutes,
      pid: child.pid,
      samples,
      exitCode: exitCode === STOP_TIMED_OUT ? null : exitCode,
      stderrTail: stderr,
    };
  } finally {
    child.kill('SIGKILL');
    rmSync(varDir, { recursive: true, force: true });
  }
}

/** How long the runtime may take to stop after SIGTERM before the probe kills it (a failed stop). */
const STOP_GRACE_MS = 60_000;
const STOP_TIMED_OUT = 'timed out';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/**
 * The few variables the runtime gets from this process's environment: none of PINK's or
 * ClickHouse's, Hazelcast's or BingX's settings, so the probe runs on the embedded defaults
 * whatever the shell it is started from has set (a venue, a server, a cluster, keys).
 */
const PASSED_ON = ['PATH', 'HOME', 'LANG', 'TMPDIR'] as const;

function passedOn(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    PASSED_ON.flatMap((name) => (env[name] === undefined ? [] : [[name, env[name]]])),
  );
}

async function sampleUntil(
  child: ChildProcess,
  exited: Promise<number | null>,
  o: RuntimeMemoryOptions,
  stderrTail: () => string,
): Promise<MemorySample[]> {
  const started = Date.now();
  const end = started + o.minutes * 60_000;
  const samples: MemorySample[] = [];
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  for (let next = started + o.sampleS * 1000; next <= end; next += o.sampleS * 1000) {
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    if (gone)
      throw new Error(`pink run ended before the probe did (after ${elapsedS(started)} s): ${stderrTail()}`);
    const split = child.pid === undefined ? null : residentSplit(child.pid);
    if (!split) throw new Error(`no /proc/${child.pid}/status: the probe needs Linux`);
    const sample = { atS: elapsedS(started), rssMb: split.anonMb + split.fileMb, anonMb: split.anonMb };
    samples.push(sample);
    o.onSample?.(sample);
  }
  return samples;
}

function elapsedS(since: number): number {
  return Math.round((Date.now() - since) / 1000);
}

/** Growth of anonymous memory from the sample at `fromS` (or the first after it) to the last, percent. */
export function anonGrowthPct(samples: readonly MemorySample[], fromS: number): number {
  const base = samples.find((s) => s.atS >= fromS) ?? samples.at(-1);
  const last = samples.at(-1);
  if (!base || !last) return Number.NaN;
  return ((last.anonMb - base.anonMb) / base.anonMb) * 100;
}

/**
 * The figures: peak anonymous memory against the soak's 150 MB target, and its growth from
 * one twelfth of the run to the end (the soak's "hour 2 of 24", in real time).
 */
export function runtimeMemoryFigures(r: RuntimeMemoryResult): Figure[] {
  const fromS = Math.round((r.minutes * 60) / 12);
  const peak = Math.max(...r.samples.map((s) => s.anonMb));
  const growth = anonGrowthPct(r.samples, fromS);
  const byTenth = everyTenth(r.samples)
    .map((s) => `${formatAt(s.atS)} ${s.anonMb.toFixed(0)}`)
    .join(', ');
  const detail = `pink run on embedded defaults in real time, ${r.minutes} min, ${r.samples.length} samples; anonymous MB at ${byTenth}; exit ${r.exitCode} after SIGTERM`;
  return [
    {
      name: 'runtime anonymous RSS peak (real time)',
      value: peak,
      unit: 'MB',
      target: `<= ${ANON_TARGET_MB}`,
      met: peak <= ANON_TARGET_MB,
      detail,
    },
    {
      name: 'runtime anonymous RSS growth (real time)',
      value: growth,
      unit: '%',
      target: '<= 5',
      met: Math.abs(growth) <= 5,
      detail: `from ${formatAt(fromS)} to the end (the soak's hour 2 of 24, in real time); peak RSS with the mapped engine ${Math.max(...r.samples.map((s) => s.rssMb)).toFixed(0)} MB`,
    },
  ];
}

/** `45s` under ten minutes, else `12m`. */
function formatAt(s: number): string {
  return s < 600 ? `${s}s` : `${Math.round(s / 60)}m`;
}

function everyTenth(samples: readonly MemorySample[]): MemorySample[] {
  const step = Math.max(1, Math.floor(samples.length / 10));
  const picked = samples.filter((_, i) => i % step === step - 1);
  const last = samples.at(-1);
  return last && picked.at(-1) !== last ? [...picked, last] : picked;
}

/** Reads --minutes and --sample-s; a bad value is an error naming it. */
export function probeOptions(argv: readonly string[]): { minutes: number; sampleS: number } {
  const { values } = parseArgs({
    args: [...argv],
    options: { minutes: { type: 'string', default: '120' }, 'sample-s': { type: 'string', default: '60' } },
    strict: true,
  });
  const minutes = positive('--minutes', values.minutes);
  const sampleS = positive('--sample-s', values['sample-s']);
  if (sampleS > minutes * 60)
    throw new Error(`--sample-s ${sampleS} is longer than the run (--minutes ${minutes})`);
  return { minutes, sampleS };
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0))
    throw new Error(`${name} must be a positive number, got ${JSON.stringify(text)}`);
  return n;
}

async function main(): Promise<void> {
  let opts: { minutes: number; sampleS: number };
  try {
    opts = probeOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench:runtime: ${(err as Error).message}\n`);
    process.exit(2);
  }
  process.stderr.write(`pink run for ${opts.minutes} min in real time, a sample every ${opts.sampleS} s\n`);
  let r: RuntimeMemoryResult;
  try {
    r = await probeRuntimeMemory({
      ...opts,
      onSample: (s) =>
        process.stderr.write(
          `  ${s.atS} s: RSS ${s.rssMb.toFixed(1)} MB, anonymous ${s.anonMb.toFixed(1)} MB\n`,
        ),
    });
  } catch (err) {
    process.stderr.write(`bench:runtime: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (r.exitCode !== 0)
    process.stderr.write(`pink run exited ${r.exitCode} after SIGTERM:\n${r.stderrTail}\n`);
  const figures = runtimeMemoryFigures(r);
  for (const f of figures) printFigure(f);
  writeResults(join(process.cwd(), 'bench', 'runtime-memory.json'), figures);
  process.exitCode = r.exitCode === 0 ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
