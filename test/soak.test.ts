/**
 * `pink soak`, as the README runs it: a few simulated hours through the whole runtime into
 * a fresh embedded ledger; the JSON report is complete and consistent.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { SoakResult } from '../src/app/soak.js';

const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const soak = (...args: string[]) =>
  spawnSync(process.execPath, ['--expose-gc', CLI, 'soak', ...args], { encoding: 'utf8', timeout: 120_000 });

describe('pink soak', () => {
  it('reports rows, memory (with its anonymous part) and the ledger parts, with no violations', () => {
    const scratch = () => readdirSync(tmpdir()).filter((f) => f.startsWith('pink-soak-')).length;
    const before = scratch();
    const run = soak('--hours', '3', '--json');
    expect(run.status, run.stderr).toBe(0);
    expect(scratch()).toBe(before); // its temporary ledger is removed
    const r = JSON.parse(run.stdout) as SoakResult;
    expect(r.violations).toEqual([]);
    expect(r.scans).toBe((3 * 3_600_000) / 5000);
    expect(r.tables.find((t) => t.table === 'v7_decision_events')?.rows).toBe(r.scans);
    expect(r.rssByHourMb.length).toBeGreaterThanOrEqual(3);
    expect(r.parts.active).toBeGreaterThan(0);
    expect(r.parts.outdated).toBeGreaterThanOrEqual(0);
    // The engine's own account of its memory, sampled with the process's: some, and less than all.
    expect(r.engineTrackedByHourMb).toHaveLength(r.rssByHourMb.length);
    for (const mb of r.engineTrackedByHourMb) expect(mb).toBeGreaterThan(0);
    for (const mb of r.engineTrackedByHourMb) expect(mb).toBeLessThan(r.peakRssMb);
    if (process.platform === 'linux') {
      expect(r.anon).not.toBeNull();
      expect(r.anon!.startMb).toBeGreaterThan(0);
      expect(r.anon!.peakMb).toBeLessThan(r.peakRssMb);
      expect(r.anon!.byHourMb).toHaveLength(r.rssByHourMb.length);
      expect(Math.max(...r.anon!.byHourMb)).toBe(r.anon!.peakMb);
    }
    expect(run.stderr + run.stdout).not.toContain('NaN');
  }, 150_000);

  it('paced: each simulated hour takes its wall time, and the soak says how its tables keep outdated parts', () => {
    const run = soak('--hours', '3', '--pace-ms', '4000', '--json');
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout) as SoakResult;
    expect(r.violations).toEqual([]);
    expect(r.paceMsPerHour).toBe(4000);
    expect(r.outdatedPartsKeptS).toBe(5);
    expect(r.wallSeconds).toBeGreaterThanOrEqual(12);
    expect(r.rssByHourMb).toHaveLength(3);
  }, 150_000);

  it('refuses a duration it cannot run, naming the flag', () => {
    const run = soak('--hours', '0');
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('--hours "0" must be greater than 0');
    expect(soak('--hours', '0x10').stderr).toContain('--hours "0x10" is not a decimal number');
  });
});
