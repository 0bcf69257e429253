#!/usr/bin/env node
/**
 * `pink`: the command line (program.ts). A bulk command first runs itself again with a
 * larger young generation (bulk-heap.ts); that check comes before the commands are loaded,
 * so the extra process costs little.
 */
import { bulkRerunArgs, runChild } from './bulk-heap.js';

let rerun: string[] | null = null;
try {
  rerun = bulkRerunArgs(process.argv, process.execArgv, process.env);
} catch (err) {
  process.stderr.write(`pink: ${(err as Error).message}\n`);
  process.exit(2);
}
if (rerun) process.exitCode = await runChild(rerun);
else {
  const { buildProgram } = await import('./program.js');
  await buildProgram().parseAsync(process.argv);
}
