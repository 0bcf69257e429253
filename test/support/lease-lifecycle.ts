/**
 * The runtime lease's life, the same on every store (the state map, a ClickHouse table):
 * a live lease refuses naming its holder, a renewed one still refuses, an expired one is
 * taken over, a release by a former owner changes nothing, a released one is free (and
 * taking it is no takeover).
 */
import { expect } from 'vitest';
import { LeaseHeld, takeLease } from '../../src/app/runtime-lease.js';
import type { Namespace } from '../../src/domain/namespaces.js';
import type { LeaseStore } from '../../src/ports/lease.js';

export const leaseHolder = (host: string) => ({
  pid: 1,
  host,
  varDir: '/var/lib/pink',
  startedAt: '2026-12-06T00:00:00Z',
});

const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export async function leaseLifecycle(store: LeaseStore, ns: Namespace): Promise<void> {
  let t = 1_000_000;
  const now = () => t;
  const take = (host: string) =>
    takeLease({ store, ns, holder: leaseHolder(host), ttlMs: 15_000, now, settleMs: 0 });
  const a = await take('host-a');
  await expect(take('host-b')).rejects.toThrow(
    new RegExp(`holds the lease ${escaped(store.where)} \\(pid 1 on host-a, var directory /var/lib/pink`),
  );
  t += 10_000;
  await a.renew();
  t += 10_000;
  await expect(take('host-b')).rejects.toThrow(LeaseHeld);
  t += 20_000; // host-a died: no renewal for longer than the time to live
  const b = await take('host-b');
  expect(b.tookOverFrom?.host).toBe('host-a');
  await a.release(); // not a's any more: changes nothing
  await expect(take('host-c')).rejects.toThrow(LeaseHeld);
  await b.release();
  const c = await take('host-c');
  expect(c.tookOverFrom).toBeNull(); // handed back, not taken over: nothing to report
}
