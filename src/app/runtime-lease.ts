/**
 * One runtime per namespace across hosts that share a state cluster or a ClickHouse
 * server: a lease in the namespace's own state map (`runtime_lease`), or else in its
 * database's `runtime_lease` table, renewed with the heartbeat. A lease
 * renewed within its time to live by another owner means refusal; an expired one is
 * taken over (and said). Judged by the owner's random id and the renewal time, never by
 * a pid, so pid reuse across containers cannot fool it.
 */
import { randomUUID } from 'node:crypto';
import type { LockHolder } from '../adapters/files/host-lock.js';
import type { Namespace } from '../domain/namespaces.js';
import type { LeaseStore } from '../ports/lease.js';
import type { StateBus } from '../ports/state-bus.js';

export const LEASE_KEY = 'runtime_lease';

export interface LeaseRecord extends LockHolder {
  readonly owner: string;
  readonly renewedAt: number;
  readonly ttlMs: number;
}

export class LeaseHeld extends Error {
  override name = 'LeaseHeld';
}

export interface RuntimeLease {
  readonly tookOverFrom: LeaseRecord | null;
  renew(): Promise<void>;
  release(): Promise<void>;
}

function parse(text: string | null): LeaseRecord | null {
  if (text === null) return null;
  try {
    const r = JSON.parse(text) as LeaseRecord;
    return typeof r.owner === 'string' && typeof r.renewedAt === 'number' && typeof r.ttlMs === 'number'
      ? r
      : null;
  } catch {
    return null;
  }
}

/**
 * Takes the lease or throws LeaseHeld naming the holder. After writing it reads the
 * lease back once `settleMs` later, so of two runtimes starting together only the
 * last writer keeps it and the other refuses.
 */
/** The lease as a key of the namespace's state map (with the map's time to live). */
export function stateMapLease(bus: StateBus, ns: Namespace): LeaseStore {
  return {
    where: `${ns.stateMap}[${LEASE_KEY}]`,
    read: () => bus.mapGet(ns.stateMap, LEASE_KEY),
    write: (value, ttlMs) => bus.mapPut(ns.stateMap, LEASE_KEY, value, Math.max(ttlMs, 1)),
  };
}

export async function takeLease(o: {
  readonly store: LeaseStore;
  readonly ns: Namespace;
  readonly holder: LockHolder;
  readonly ttlMs: number;
  readonly now?: () => number;
  readonly settleMs?: number;
}): Promise<RuntimeLease> {
  const now = o.now ?? Date.now;
  const owner = randomUUID();
  const describe = (r: LeaseRecord) =>
    `pid ${r.pid} on ${r.host}, var directory ${r.varDir}, started ${r.startedAt}, renewed ${Math.round((now() - r.renewedAt) / 1000)} s ago`;
  const current = parse(await o.store.read());
  if (current && current.owner !== owner && now() - current.renewedAt < current.ttlMs)
    throw new LeaseHeld(
      `PINK runtime for namespace "${o.ns.strategy}" holds the lease ${o.store.where} (${describe(current)}); refusing to start a second one`,
    );
  // Written with the store's own time to live too, so a dead owner's lease also disappears.
  const write = (ttlMs = o.ttlMs) =>
    o.store.write(
      JSON.stringify({ ...o.holder, owner, renewedAt: now(), ttlMs } satisfies LeaseRecord),
      ttlMs,
    );
  await write();
  await new Promise((r) => setTimeout(r, o.settleMs ?? 500));
  const after = parse(await o.store.read());
  if (after && after.owner !== owner)
    throw new LeaseHeld(
      `PINK runtime for namespace "${o.ns.strategy}" started at the same time elsewhere and took the lease (${describe(after)}); refusing to start a second one`,
    );
  // A renewal still in flight when the lease is released would land after the release
  // and hold the lease for another time to live: release waits for it, later ones are void.
  let released = false;
  let renewing: Promise<void> = Promise.resolve();
  return {
    // A released lease (time to live 0) was handed back, not taken over; and whether the
    // store still shows it depends on its own expiry, so it is never reported.
    tookOverFrom: current && current.ttlMs > 0 ? current : null,
    renew: () => {
      if (released) return Promise.resolve();
      renewing = write();
      return renewing;
    },
    release: async () => {
      released = true;
      await renewing.catch(() => undefined);
      const held = parse(await o.store.read());
      if (held?.owner === owner) await write(0); // expired at once: the next runtime may start
    },
  };
}
