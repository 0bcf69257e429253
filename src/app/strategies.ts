/**
 * The configured algorithm as a Strategy: a strategy process (`process:<command>`, a child
 * speaking the bridge protocol, bridges/python/README.md) or an in-process one (built-in or
 * module, strategy/loader.ts). The one place commands get their strategy from.
 */
import { PROCESS_PREFIX, ProcessStrategy } from '../adapters/strategy/process-strategy.js';
import { loadStrategy } from '../strategy/loader.js';
import type { Strategy } from '../strategy/strategy.js';

export async function strategyFor(spec: string, params?: Record<string, unknown>): Promise<Strategy> {
  if (!spec.startsWith(PROCESS_PREFIX)) return loadStrategy(spec, params);
  if (params && Object.keys(params).length > 0)
    throw new Error(
      `strategy "${spec}": algorithmParams (${Object.keys(params).join(', ')}) do not reach a strategy process; give them to its command (for blue_v7_ref.py: one JSON object argument)`,
    );
  return ProcessStrategy.start(spec);
}
