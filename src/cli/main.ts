#!/usr/bin/env node
/**
 * `pink`: the command line (program.ts). A replay or a parity run sets its heap to grow
 * slowly and its young generation to stay small; a replay runs itself again with the
 * embedded engine's allocator setting, and parity with a larger young generation when
 * asked (bulk-heap.ts). Both come before the commands are loaded, so the settings hold
 * from the first allocation and the extra process costs little.
 */
import { setFlagsFromString } from 'node:v8';
import { type BulkRerun, bulkRerun, dieWithParent, leanHeapFlags, runChild } from './bulk-heap.js';

// `pink config docs | head -1`: the reader left; end quietly, no stack trace.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
dieWithParent();

let rerun: BulkRerun | null = null;
try {
  rerun = bulkRerun(process.argv, process.execArgv, process.env);
  for (const flag of leanHeapFlags(process.argv, process.execArgv, process.env)) setFlagsFromString(flag);
} catch (err) {
  process.stderr.write(`pink: ${(err as Error).message}\n`);
  process.exit(2);
}
if (rerun) process.exitCode = await runChild(rerun);
else {
  const { buildProgram } = await import('./program.js');
  await buildProgram().parseAsync(process.argv);
}
