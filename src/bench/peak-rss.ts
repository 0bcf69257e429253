/**
 * Preloaded into a benchmarked command (`node --import .../peak-rss.js`): prints the
 * process's peak resident set at exit, for the bench to read from its stderr. A command
 * that re-runs itself passes node's flags on, so its child reports too; the bench takes
 * the largest.
 */
import { PEAK_RSS_MARK } from './peak-rss-mark.js';

process.on('exit', () => {
  process.stderr.write(`\n${PEAK_RSS_MARK} ${(process.resourceUsage().maxRSS / 1024).toFixed(1)}\n`);
});
