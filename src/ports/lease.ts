/**
 * Where the runtime lease lives (one runtime per namespace across hosts): one text value
 * per namespace, the newest write wins, the same for every reader. Adapters: the
 * namespace's state map on Hazelcast, a table in its ClickHouse database.
 */
export interface LeaseStore {
  /** Where it is, for messages: `DOLPHIN_STATE_PINK[runtime_lease]`, `dolphin_pink.runtime_lease`. */
  readonly where: string;
  read(): Promise<string | null>;
  /** `ttlMs`: the store may drop the value after it (a dead owner's lease goes away). */
  write(value: string, ttlMs: number): Promise<void>;
}
