/**
 * The configured algorithm as a Strategy: a strategy process (`process:<command>`, a child
 * speaking the bridge protocol, bridges/python/README.md) or an in-process one (built-in or
 * module, strategy/loader.ts). The one place commands get their strategy from.
 */
import { PROCESS_PREFIX, ProcessStrategy } from '../adapters/strategy/process-strategy.js';
import { loadStrategy } from '../strategy/loader.js';
import type { Strategy } from '../strategy/strategy.js';
import { type RestartingOptions, RestartingStrategy, type StrategyHealth } from './restarting-strategy.js';

export interface StrategyOptions {
  /** A strategy process: its answer deadline per request, ms (default 2,000). */
  readonly deadlineMs?: number;
  /**
   * A strategy process: restart it with backoff when it fails (the live runtime), rather
   * than failing for good (replays and parity, which stop on the error).
   */
  readonly restart?: RestartingOptions;
}

export type ConfiguredStrategy = Strategy & { health?(): StrategyHealth };

export async function strategyFor(
  spec: string,
  params?: Record<string, unknown>,
  o: StrategyOptions = {},
): Promise<ConfiguredStrategy> {
  if (!spec.startsWith(PROCESS_PREFIX)) return loadStrategy(spec, params);
  if (params && Object.keys(params).length > 0)
    throw new Error(
      `strategy "${spec}": algorithmParams (${Object.keys(params).join(', ')}) do not reach a strategy process; give them to its command (for blue_v7_ref.py: one JSON object argument)`,
    );
  const start = () =>
    ProcessStrategy.start(spec, o.deadlineMs !== undefined ? { deadlineMs: o.deadlineMs } : {});
  const first = await start();
  return o.restart ? new RestartingStrategy(first, start, o.restart) : first;
}
