/** Hidden commands the benchmark suite runs in child processes (one embedded ClickHouse per process). */
import type { Command } from 'commander';
import { ledgerInsertChild, replayWithLedgerChild } from '../../bench/system-benches.js';

export function registerBenchChildren(program: Command): void {
  program.command('__bench-replay-ledger <file>', { hidden: true }).action(replayWithLedgerChild);
  program.command('__bench-ledger-insert', { hidden: true }).action(ledgerInsertChild);
}
