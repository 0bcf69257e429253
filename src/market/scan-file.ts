/** Writes a deterministic scan stream to `.jsonl` (or `.jsonl.gz`), streamed, never held in memory. */
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Scan } from '../domain/scan.js';
import { simulateScans } from './simulator.js';

/** Field order ts, scan, vel_div, vol_ok, assets (symbols in panel order). */
export function scanToJsonLine(scan: Scan): string {
  return JSON.stringify({
    ts: scan.ts,
    scan: scan.scan,
    vel_div: scan.vel_div,
    vol_ok: scan.vol_ok,
    assets: scan.assets,
  });
}

export async function writeSimulatedScans(
  path: string,
  o: { scans: number; assets: number; seed: number },
  onProgress?: (done: number) => void,
): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  async function* lines(): AsyncGenerator<string> {
    let n = 0;
    let chunk: string[] = [];
    for (const scan of simulateScans(o)) {
      chunk.push(scanToJsonLine(scan));
      n += 1;
      if (chunk.length === 500) {
        yield `${chunk.join('\n')}\n`;
        chunk = [];
        onProgress?.(n);
      }
    }
    if (chunk.length) yield `${chunk.join('\n')}\n`;
    onProgress?.(n);
  }
  const out = createWriteStream(path);
  if (path.endsWith('.gz')) await pipeline(lines(), createGzip({ level: 6 }), out);
  else await pipeline(lines(), out);
}
