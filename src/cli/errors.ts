/** CLI exit codes and the one place errors become messages. */

import { DiscoveryError } from '../adapters/statebus/discovery.js';
import { HazelcastConfigError, HazelcastUnreachable } from '../adapters/statebus/hazelcast.js';
import { ConfigError } from '../app/config.js';
import { NamespaceError } from '../domain/namespaces.js';
import { printable } from '../observability/printable.js';

export const EXIT = { OK: 0, FAILED: 1, BAD_INPUT: 2 } as const;

export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.BAD_INPUT,
  ) {
    super(message);
  }
}

/**
 * Errors that mean the operator's input or setup is wrong (exit 2), not that the
 * command failed: a bad namespace, configuration, discovery file or Hazelcast setting.
 */
export function asBadInput(err: unknown): unknown {
  const bad = [NamespaceError, ConfigError, DiscoveryError, HazelcastConfigError, HazelcastUnreachable].some(
    (k) => err instanceof k,
  );
  return bad ? new CliError((err as Error).message, EXIT.BAD_INPUT) : err;
}

/** Wraps a command action: prints `pink: <message>` and sets the exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | undefined>) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      process.exitCode = typeof code === 'number' ? code : EXIT.OK;
    } catch (err) {
      const e = err as Error & { exitCode?: number };
      process.stderr.write(`pink: ${printable(e.message)}\n`);
      process.exitCode = typeof e.exitCode === 'number' ? e.exitCode : EXIT.BAD_INPUT;
    }
  };
}
