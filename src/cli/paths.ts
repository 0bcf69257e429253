/**
 * An output must never be one of the command's inputs: `replay --data X --decisions X`
 * would empty X before reading it. Paths are compared as files (symlinks, `..`, hard
 * links), not as text.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { CliError } from './errors.js';

type Named = readonly [flag: string, path: string | undefined];

function canonical(path: string): string {
  const abs = resolve(path);
  if (existsSync(abs)) return realpathSync(abs);
  const dir = dirname(abs);
  return existsSync(dir) ? resolve(realpathSync(dir), basename(abs)) : abs;
}

function sameFile(a: string, b: string): boolean {
  if (canonical(a) === canonical(b)) return true;
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

export function refuseOutputOverInput(inputs: readonly Named[], outputs: readonly Named[]): void {
  for (const [outFlag, out] of outputs) {
    if (out === undefined) continue;
    for (const [inFlag, input] of inputs)
      if (input !== undefined && sameFile(out, input))
        throw new CliError(
          `${outFlag} ${out} is the same file as ${inFlag} ${input}: writing it would destroy the input (choose another output)`,
        );
  }
}
