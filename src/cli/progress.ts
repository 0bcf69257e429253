/** A progress bar on a terminal (cli-progress), silence otherwise. */
import cliProgress from 'cli-progress';
import { peakRssMb } from '../observability/memory.js';

export interface Progress {
  update(done: number, detail?: string): void;
  stop(): void;
}

export function createProgress(total: number, label: string, unit: string): Progress {
  if (!process.stderr.isTTY || process.env.CI) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {detail}`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { detail: '' });
  return {
    update: (done, detail = '') => bar.update(Math.min(done, total), { detail }),
    stop: () => bar.stop(),
  };
}

/**
 * What a long command cost, printed after its result: wall time since `startedMs`
 * (performance.now()), its rate, and the process's peak memory so far.
 */
export function formatRunCost(scans: number, startedMs: number, embeddedEngine: boolean): string {
  const seconds = (performance.now() - startedMs) / 1000;
  const rate = seconds > 0 ? Math.round(scans / seconds).toLocaleString('en-US') : 'n/a';
  const engine = embeddedEngine ? ', the embedded ClickHouse engine included' : '';
  return `cost                ${scans} scans in ${seconds.toFixed(2)} s (${rate} scans/s), peak RSS ${Math.round(peakRssMb())} MB (this process${engine})`;
}
