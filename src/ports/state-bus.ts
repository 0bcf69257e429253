/**
 * The live state bus (DESIGN.md §6): maps of JSON text, queues, entry listeners.
 * Adapters: in-process store (default) and hazelcast-client. Writes go through the
 * namespace WriteGuard (see adapters/statebus/guarded.ts).
 */

export interface BusHealth {
  readonly kind: 'memory' | 'hazelcast' | 'remote';
  readonly connected: boolean;
  /** Latest values waiting to be republished after a reconnect. */
  readonly pendingKeys: number;
  readonly lastError: string;
}

export type EntryListener = (key: string, value: string | null) => void;

export interface StateBus {
  mapPut(map: string, key: string, value: string, ttlMs?: number): Promise<void>;
  mapGet(map: string, key: string): Promise<string | null>;
  mapEntries(map: string): Promise<Array<[string, string]>>;
  queueOffer(queue: string, value: string): Promise<boolean>;
  queuePoll(queue: string): Promise<string | null>;
  /** The head item, left in the queue (null when empty): consumed only once it is handled. */
  queuePeek(queue: string): Promise<string | null>;
  /** Removes the first item equal to this text; false when none was (or the link is down). */
  queueRemove(queue: string, item: string): Promise<boolean>;
  /** Subscribes to puts/removals on a map; returns an unsubscribe function. */
  onMapEntry(map: string, listener: EntryListener): Promise<() => Promise<void>>;
  health(): BusHealth;
  close(): Promise<void>;
}

/**
 * Keys PINK writes in its own state map beside the DESIGN.md §6 surfaces: the outcome
 * of each operator command (read back by `pink ctl` and the state server) and the
 * remembered command ids (exactly-once across restarts).
 */
export const COMMAND_OUTCOME_KEY_PREFIX = 'command_outcome:';
export const COMMAND_IDS_KEY = 'command_ids';

export function commandOutcomeKey(commandId: string): string {
  return `${COMMAND_OUTCOME_KEY_PREFIX}${commandId}`;
}
