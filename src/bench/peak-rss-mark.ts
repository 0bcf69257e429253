/** The line prefix src/bench/peak-rss.ts writes and the bench reads. */
export const PEAK_RSS_MARK = 'pink-bench-peak-rss-mb';

/** The largest peak any process of the command reported, MB; NaN when none did. */
export function peakRssFrom(stderr: string): number {
  const peaks = [...stderr.matchAll(new RegExp(`^${PEAK_RSS_MARK} ([\\d.]+)$`, 'gm'))].map((m) =>
    Number(m[1]),
  );
  return peaks.length ? Math.max(...peaks) : Number.NaN;
}
