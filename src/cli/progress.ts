/** A progress bar on a terminal (cli-progress), silence otherwise. */
import cliProgress from 'cli-progress';

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
