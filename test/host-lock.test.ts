/**
 * The one-runtime-per-namespace lock's holder answers whoever connects; a client that
 * goes away at once (reset, or closed before the answer is written) must not become an
 * uncaught error in the runtime that holds the lock.
 */
import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { acquireHostLocks, LockHeld, socketName } from '../src/adapters/files/host-lock.js';

const holder = { pid: process.pid, host: 'here', varDir: '/tmp/v', startedAt: 'now' };
const resource = { id: 'var:/tmp/v', describe: 'var directory /tmp/v' };

describe('host lock', () => {
  it('survives clients that hang up before its answer, and still names itself to the next', async () => {
    const strategy = `hl-${process.pid}-${Date.now()}`;
    const locks = await acquireHostLocks({ strategy, resources: [resource], holder });
    try {
      for (let i = 0; i < 50; i += 1) {
        const s = createConnection(socketName(strategy, resource.id));
        s.on('error', () => {});
        s.on('connect', () => s.destroy());
      }
      await new Promise((r) => setTimeout(r, 300));
      const second = acquireHostLocks({ strategy, resources: [resource], holder });
      await expect(second).rejects.toBeInstanceOf(LockHeld);
      await expect(second).rejects.toThrow(`pid ${process.pid} on here`);
    } finally {
      await locks.release();
    }
  });
});
