/** The real-time memory probe of `pink run` (npm run bench:runtime): options, growth, a short real run. */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  anonGrowthPct,
  probeOptions,
  probeRuntimeMemory,
  runtimeMemoryFigures,
} from '../src/bench/runtime-memory.js';
import { CLI } from './support/cli.js';

const scratchDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('pink-runtime-memory-'));

describe('probe options', () => {
  it('defaults to two hours sampled every minute', () => {
    expect(probeOptions([])).toEqual({ minutes: 120, sampleS: 60 });
    expect(probeOptions(['--minutes', '30', '--sample-s', '10'])).toEqual({ minutes: 30, sampleS: 10 });
  });

  it.each([
    [['--minutes', '0'], /--minutes must be a positive number, got "0"/],
    [['--minutes=-5'], /--minutes must be a positive number, got "-5"/],
    [['--minutes', '2h'], /--minutes must be a positive number, got "2h"/],
    [['--sample-s', ''], /--sample-s must be a positive number, got ""/],
    [['--minutes', '1', '--sample-s', '61'], /--sample-s 61 is longer than the run \(--minutes 1\)/],
    [['--hours', '2'], /--hours/],
  ])('refuses %j, naming it', (argv, message) => {
    expect(() => probeOptions(argv)).toThrow(message);
  });
});

describe('anonymous growth', () => {
  const samples = [60, 600, 1200, 7200].map((atS, i) => ({
    atS,
    rssMb: 300,
    anonMb: [70, 100, 104, 110][i]!,
  }));

  it('runs from the first sample at or after the window start to the last', () => {
    expect(anonGrowthPct(samples, 600)).toBeCloseTo(10);
    expect(anonGrowthPct(samples, 601)).toBeCloseTo((110 / 104 - 1) * 100);
    expect(anonGrowthPct(samples, 0)).toBeCloseTo((110 / 70 - 1) * 100);
  });

  it('judges the figures against the soak targets', () => {
    const figures = runtimeMemoryFigures({ minutes: 120, pid: 1, samples, exitCode: 0, stderrTail: '' });
    expect(figures.map((f) => [f.value, f.met])).toEqual([
      [110, true],
      [expect.closeTo(10), false],
    ]);
    expect(figures[1]!.detail).toContain('from 10m to the end');
  });
});

describe.runIf(process.platform === 'linux')('a short real run', () => {
  it('samples the live runtime on embedded defaults whatever the shell sets, stops it with SIGTERM and removes its directory', async () => {
    const before = scratchDirs();
    const seen: number[] = [];
    // A shell set up for something else: inherited, each of these would stop `pink run`
    // (no BingX keys, no such server, cluster or namespace, no such directory).
    const shell = {
      PINK_VENUE: 'bingx',
      CLICKHOUSE_URL: 'http://clickhouse.invalid:8123',
      HAZELCAST_MEMBERS: 'hazelcast.invalid:5701',
      DOLPHIN_STRATEGY_NAME: 'no-such-namespace',
      PINK_VAR_DIR: '/nonexistent/pink',
    };
    const saved = Object.fromEntries(Object.keys(shell).map((k) => [k, process.env[k]]));
    Object.assign(process.env, shell);
    let r: Awaited<ReturnType<typeof probeRuntimeMemory>>;
    try {
      r = await probeRuntimeMemory({ cli: CLI, minutes: 0.2, sampleS: 3, onSample: (s) => seen.push(s.atS) });
    } finally {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
    expect(r.exitCode, r.stderrTail).toBe(0);
    expect(r.samples.length).toBe(4);
    expect(seen).toEqual(r.samples.map((s) => s.atS));
    for (const s of r.samples) {
      // The engine's library is mapped (file-backed); the runtime's own heaps are anonymous.
      expect(s.anonMb).toBeGreaterThan(30);
      expect(s.rssMb - s.anonMb).toBeGreaterThan(100);
    }
    expect(() => process.kill(r.pid!, 0)).toThrow();
    expect(scratchDirs()).toEqual(before);
  }, 60_000);

  it('kills a runtime that does not stop after SIGTERM and reports it (no exit code)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pink-stubborn-'));
    const stubborn = join(dir, 'stubborn.mjs');
    writeFileSync(stubborn, "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);\n");
    try {
      const r = await probeRuntimeMemory({ cli: stubborn, minutes: 0.05, sampleS: 1, stopGraceMs: 1000 });
      expect(r.exitCode).toBeNull();
      expect(r.stderrTail).toContain('no exit 1 s after SIGTERM; killed');
      expect(r.samples.length).toBe(3);
      await new Promise((res) => setTimeout(res, 200));
      expect(() => process.kill(r.pid!, 0)).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
