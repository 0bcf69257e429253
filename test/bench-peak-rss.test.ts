/**
 * The bench's peak-RSS probe (src/bench/peak-rss.ts), which the parity memory figure rests
 * on: preloaded into a process, it reports that process's peak, children included when
 * they inherit node's flags, and the bench takes the largest report.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peakRssFrom } from '../src/bench/peak-rss-mark.js';
import { REPO } from './support/cli.js';

const PROBE = join(REPO, 'dist', 'bench', 'peak-rss.js');

function run(script: string): string {
  const r = spawnSync(process.execPath, ['--import', PROBE, '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, PROBE },
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stderr;
}

describe('the bench peak-RSS probe', () => {
  it("reports the process's peak, which follows what it touched", () => {
    const small = peakRssFrom(run('1'));
    const big = peakRssFrom(run('Buffer.alloc(200 * 1024 * 1024).fill(1)'));
    expect(small).toBeGreaterThan(10);
    expect(big - small).toBeGreaterThan(190);
  });

  it('a child preloading it too reports its own peak; the largest counts', () => {
    const child = `require('node:child_process').spawnSync(process.execPath, ['--import', process.env.PROBE, '-e', 'Buffer.alloc(150 * 1024 * 1024).fill(1)'], { stdio: 'inherit' })`;
    const stderr = run(child);
    expect(stderr.match(/pink-bench-peak-rss-mb/g)).toHaveLength(2);
    expect(peakRssFrom(stderr)).toBeGreaterThan(150);
  });

  it('no report is NaN, not zero', () => {
    expect(peakRssFrom('nothing here\n')).toBeNaN();
  });
});
