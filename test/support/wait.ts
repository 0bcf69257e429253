/** Waiting helpers for tests that drive real processes (a member, `pink run`). */
import { createServer } from 'node:net';

/**
 * Polls `probe` every 100 ms until it gives a value. A probe that throws counts as not yet
 * (a member or process coming back); its last error is in the timeout's message.
 */
export async function until<T>(
  what: string,
  ms: number,
  probe: () => Promise<T | null | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + ms;
  let lastError: unknown = null;
  for (;;) {
    const v = await probe().catch((err: unknown) => {
      lastError = err;
      return null;
    });
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${ms} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A loopback port nothing listens on (just released by the OS). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}
