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

/**
 * Strings remembered for `windowMs` of the caller's clock after they were first added, and
 * never more than `limit` of them (the newest kept). For deduplication whose reach is a
 * span of time (how far back a source can repeat itself), not a count: a count-bounded set
 * fills to its cap over a long run and holds it, a windowed one holds what the window needs.
 */
export class WindowedSet {
  /** Key -> the time it was first added; insertion order, so the oldest come first. */
  private readonly added = new Map<string, number>();

  constructor(
    readonly windowMs: number,
    readonly limit: number,
  ) {
    if (!Number.isFinite(windowMs) || windowMs <= 0)
      throw new RangeError(`WindowedSet window must be a positive number of ms, got ${windowMs}`);
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`WindowedSet limit must be a positive integer, got ${limit}`);
  }

  /** Adds `key` at time `now`; false when it is remembered already (it keeps its first time). */
  add(key: string, now: number): boolean {
    this.forget(now);
    if (this.added.has(key)) return false;
    this.added.set(key, now);
    if (this.added.size > this.limit) this.added.delete(this.added.keys().next().value as string);
    return true;
  }

  get size(): number {
    return this.added.size;
  }

  /** Drops the keys added `windowMs` or more before `now`, oldest first (a clock that went back forgets nothing). */
  private forget(now: number): void {
    for (const [key, at] of this.added) {
      if (now - at < this.windowMs) return;
      this.added.delete(key);
    }
  }
}
