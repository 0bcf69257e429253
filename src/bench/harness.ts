/** Tiny benchmark harness: medians over repeats, one printed line per figure, results.json. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built command line the system benchmarks run (dist/cli/main.js). */
export const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** Issue #19's ceiling on the runtime's anonymous memory (the soak's and the live runtime's figure), MB. */
export const ANON_TARGET_MB = 150;

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target: string;
  readonly met: boolean | null;
  readonly detail: string;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function machine(): string {
  return `${cpus().length} cores, Node ${process.version}`;
}

export async function repeat(times: number, fn: () => Promise<number> | number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) out.push(await fn());
  return out;
}

export function printFigure(f: Figure): void {
  const verdict = f.met === null ? 'info' : f.met ? 'MET' : 'NOT MET';
  const value = Number.isInteger(f.value)
    ? f.value.toLocaleString('en-US')
    : f.value.toLocaleString('en-US', { maximumFractionDigits: 3 });
  process.stdout.write(
    `${f.name.padEnd(44)} ${value.padStart(14)} ${f.unit.padEnd(10)} target ${f.target.padEnd(18)} ${verdict.padEnd(8)} [${machine()}] ${f.detail}\n`,
  );
}

export function writeResults(path: string, figures: readonly Figure[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(
    path,
    `${JSON.stringify({ machine: machine(), at: new Date().toISOString(), figures }, null, 2)}\n`,
  );
}
