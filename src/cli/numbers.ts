/** Command-line numbers: decimal only, refused with the flag's name (see app/decimal-text.ts). */
import { type NumberRule, parseDecimalText } from '../app/decimal-text.js';
import { CliError } from './errors.js';

export function numberArg(name: string, raw: string, rule: NumberRule = {}): number {
  const r = parseDecimalText(raw, rule);
  if (typeof r === 'string') throw new CliError(`${name} "${raw}" ${r}`);
  return r;
}
