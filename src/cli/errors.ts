/** CLI exit codes and the one place errors become messages. */
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

/** Wraps a command action: prints `pink: <message>` and sets the exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | undefined>) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      process.exitCode = typeof code === 'number' ? code : EXIT.OK;
    } catch (err) {
      const e = err as Error & { exitCode?: number };
      process.stderr.write(`pink: ${e.message}\n`);
      process.exitCode = typeof e.exitCode === 'number' ? e.exitCode : EXIT.BAD_INPUT;
    }
  };
}
