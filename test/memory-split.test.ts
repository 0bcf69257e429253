/** residentSplit: the process's RSS as anonymous + file-backed pages (what the soak reports). */
import { describe, expect, it } from 'vitest';
import { residentSplit } from '../src/observability/memory.js';

describe('residentSplit', () => {
  it.runIf(process.platform === 'linux')(
    'adds up to the RSS Node reports, anonymous pages growing with an allocation',
    () => {
      const before = residentSplit();
      expect(before).not.toBeNull();
      const rssMb = process.memoryUsage().rss / 1024 / 1024;
      expect(before!.anonMb + before!.fileMb).toBeGreaterThan(rssMb * 0.9);
      expect(before!.anonMb + before!.fileMb).toBeLessThan(rssMb * 1.1);
      const held = Buffer.alloc(64 * 1024 * 1024, 1); // touched: 64 MB of anonymous pages
      expect(residentSplit()!.anonMb - before!.anonMb).toBeGreaterThan(50);
      expect(held[held.length - 1]).toBe(1);
    },
  );
});
