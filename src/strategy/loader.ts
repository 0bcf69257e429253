/** Chooses the strategy by configuration: a built-in name or a module path. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createStrategy as createBlueV7Ref } from './blue-v7-ref.js';
import type { Strategy, StrategyFactory } from './strategy.js';

export const BUILTIN_STRATEGIES: Readonly<Record<string, StrategyFactory>> = {
  'blue-v7-ref': createBlueV7Ref,
};

const REQUIRED_METHODS = ['decide', 'override', 'adopt', 'openTradeId', 'saveState', 'restoreState'] as const;

/**
 * `spec` is `blue-v7-ref` or a path to an ES module exporting
 * `createStrategy(params?) => Strategy` (an operator's BLUE port). A strategy process
 * (`process:<command>`) is an adapter: app/strategies.ts chooses between the two.
 */
export async function loadStrategy(spec: string, params?: Record<string, unknown>): Promise<Strategy> {
  const builtin = BUILTIN_STRATEGIES[spec];
  if (builtin) return builtin(params);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(spec)).href)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(
      `strategy "${spec}" is neither a built-in (${Object.keys(BUILTIN_STRATEGIES).join(', ')}) nor a loadable module: ${(err as Error).message}`,
    );
  }
  const factory = mod.createStrategy;
  if (typeof factory !== 'function')
    throw new Error(`strategy module "${spec}" does not export createStrategy()`);
  const strategy = (factory as StrategyFactory)(params);
  const missing = REQUIRED_METHODS.filter(
    (m) => typeof (strategy as unknown as Record<string, unknown>)[m] !== 'function',
  );
  if (missing.length)
    throw new Error(`strategy module "${spec}" returned an object without ${missing.join(', ')}`);
  return strategy;
}
