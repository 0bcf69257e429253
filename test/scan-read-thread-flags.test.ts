/**
 * Starting a worker thread puts the process's V8 flags back to their defaults (Node 20):
 * the reader sets the flags it is given again once its thread runs, so `pink parity` and
 * `pink replay --no-ledger` keep the young generation bulk-heap.ts chose. Each case in a
 * fresh process (test/support/reader-flags-child.mjs).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSimulatedScans } from '../src/market/scan-file.js';

/** Plain node over dist/ (npm test builds it first), as `pink` runs. */
const CHILD = join(import.meta.dirname, 'support', 'reader-flags-child.mjs');

describe('the reader thread and this process V8 flags', () => {
  it('sets them again once its thread runs; without that they are lost', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pink-read-flags-')), 'scans.jsonl');
    await writeSimulatedScans(path, { scans: 500, assets: 3, seed: 1 });
    const newSpaceMb = (mode: string) =>
      Number(execFileSync(process.execPath, [CHILD, mode, path], { encoding: 'utf8' }));
    expect(newSpaceMb('none')).toBeLessThanOrEqual(4);
    expect(newSpaceMb('kept')).toBeLessThanOrEqual(4);
    expect(newSpaceMb('lost')).toBeGreaterThan(4);
  });
});
