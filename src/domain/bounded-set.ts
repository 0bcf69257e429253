/**
 * An insertion-ordered set of strings that forgets its oldest members beyond `limit`, so
 * the ids a long-running process remembers for deduplication (fills, acks, order states,
 * operator commands) keep memory flat.
 */
export class BoundedSet {
  private readonly items = new Set<string>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`BoundedSet limit must be a positive integer, got ${limit}`);
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  /** Adds `key`; false when it was already there (it keeps its place). */
  add(key: string): boolean {
    if (this.items.has(key)) return false;
    this.items.add(key);
    if (this.items.size > this.limit) this.items.delete(this.items.values().next().value as string);
    return true;
  }

  get size(): number {
    return this.items.size;
  }

  /** Oldest first. */
  values(): string[] {
    return [...this.items];
  }
}
