/**
 * Numbers typed by people (environment values, command-line arguments): decimal only.
 * `Number()` would also read `0x10` as 16, `0b11` as 3, `""` as 0 and `1e3` where an
 * integer count was meant is fine but `1.5` is not.
 */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

export interface NumberRule {
  /** Whole numbers only, written without a fraction or exponent. */
  readonly integer?: boolean;
  readonly min?: number;
  readonly max?: number;
  /** min is excluded (e.g. an amount > 0). */
  readonly above?: number;
}

/** The number `text` writes, or why it is not acceptable (a phrase to follow the value). */
export function parseDecimalText(text: string, rule: NumberRule = {}): number | string {
  const t = text.trim();
  if (rule.integer ? !INTEGER.test(t) : !DECIMAL.test(t))
    return rule.integer ? 'is not a whole decimal number' : 'is not a decimal number';
  const n = Number(t);
  if (!Number.isFinite(n)) return 'is not a finite number';
  if (rule.above !== undefined && !(n > rule.above)) return `must be greater than ${rule.above}`;
  if (rule.min !== undefined && n < rule.min) return `must be at least ${rule.min}`;
  if (rule.max !== undefined && n > rule.max) return `must be at most ${rule.max}`;
  return n;
}
