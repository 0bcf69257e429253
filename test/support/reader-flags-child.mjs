/**
 * Child of test/scan-read-thread-flags.test.ts, in a fresh process of plain node over the
 * built code (under tsx, its own loader thread would reset the flags again): sets the young
 * generation's growth factor to 1, reads a scan file through the worker reader (`kept`: the
 * flag passed on, `lost`: not; `none`: no reader), allocates as a replay does, and prints
 * the new space's size in MB.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { readScanLinesInWorker } from '../../dist/adapters/files/scan-read-thread.js';

const FLAG = '--semi-space-growth-factor=1';
const [mode, path] = process.argv.slice(2);
setFlagsFromString(FLAG);
if (mode !== 'none')
  for await (const _ of readScanLinesInWorker(path, { v8Flags: mode === 'kept' ? [FLAG] : [] }).batches);
let keep = [];
for (let i = 0; i < 3_000_000; i++) {
  keep.push({ a: i, b: [i, i] });
  if (keep.length > 20_000) keep = [];
}
const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
process.stdout.write(`${(space?.space_size ?? 0) / 1048576}\n`);
