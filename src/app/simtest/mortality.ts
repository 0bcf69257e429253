/**
 * Where the simulated process dies: at an effect, not only between scans. Each effect the
 * process has on the world (an order leaving or not, facts read off the wire, a write-ahead
 * record, the ledger flush, the journal checkpoint, recovery's own reads) is a crash point.
 * Armed with one of them, the process dies at its next occurrence: the call never returns
 * (its promise hangs, like a process that is gone), and `died` resolves so the simulation
 * can restart it.
 */
import type { Journal } from '../../adapters/files/journal.js';
import { optionalPartsOf, type VenuePort } from '../../domain/venue.js';

/** The effects a process can die at. */
export const CRASH_POINTS = [
  'before a submit',
  'after a submit',
  'after a drain',
  'after a write-ahead',
  'before a checkpoint',
  'during recovery (history read)',
  'after a lookup',
  'after a cancel',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

/** Scans an armed crash point may wait for its effect before the process dies at the next checkpoint. */
const PATIENCE_SCANS = 20;

export class Mortality {
  private armedAt: CrashPoint | null = null;
  private patience = 0;
  private resolveDeath: (() => void) | null = null;
  /** Resolves when the current process dies (replaced by `reborn`). */
  died: Promise<void> = this.newDeath();
  dead = false;
  readonly points = new Map<string, number>();

  /** The process will die at the next `point` effect (or, if none comes soon, at a checkpoint). */
  arm(point: CrashPoint): void {
    this.armedAt ??= point;
    this.patience = PATIENCE_SCANS;
  }

  /** A scan went by without the armed effect: after a while, any checkpoint will do. */
  scanPassed(): void {
    if (this.armedAt !== null && --this.patience <= 0) this.armedAt = 'before a checkpoint';
  }

  /** No more deaths (the end of a run: what is in flight settles). */
  disarm(): void {
    this.armedAt = null;
  }

  get armed(): boolean {
    return this.armedAt !== null;
  }

  /** A new process after a crash. */
  reborn(): void {
    this.dead = false;
    this.died = this.newDeath();
  }

  /** An effect happens: true when the process dies here. */
  hit(point: CrashPoint): boolean {
    if (this.dead) return true;
    if (this.armedAt !== point) return false;
    this.armedAt = null;
    this.dead = true;
    this.points.set(point, (this.points.get(point) ?? 0) + 1);
    this.resolveDeath?.();
    return true;
  }

  /** What a dead process's call returns: nothing, ever. */
  never<T>(): Promise<T> {
    return new Promise<T>(() => {});
  }

  /** The venue as a mortal process sees it: it may die before or after each call takes effect. */
  venue(inner: VenuePort): VenuePort {
    const gate = <T>(point: CrashPoint, value: T): T | Promise<T> =>
      this.hit(point) ? this.never<T>() : value;
    return {
      name: inner.name,
      submit: async (order) => {
        if (this.hit('before a submit')) return this.never();
        await inner.submit(order);
        if (this.hit('after a submit')) return this.never();
      },
      cancel: async (id, asset) => {
        await inner.cancel(id, asset);
        if (this.hit('after a cancel')) return this.never();
      },
      drain: (now) => {
        if (this.dead) return this.never();
        const facts = inner.drain(now);
        // Facts taken off the wire and lost with the process: only the venue's history has them.
        return Array.isArray(facts) && facts.length > 0 ? gate('after a drain', facts) : facts;
      },
      snapshot: () => inner.snapshot(),
      history: async (since, assets) =>
        gate('during recovery (history read)', await inner.history(since, assets)),
      lookup: async (id, asset) => gate('after a lookup', await inner.lookup(id, asset)),
      close: () => inner.close(),
      ...optionalPartsOf(inner),
    };
  }

  /** The journal as a mortal process writes it: it may die right after a write-ahead record. */
  journal(inner: Journal): Journal {
    return {
      load: () => inner.load(),
      intents: () => inner.intents(),
      save: async (state) => {
        if (this.hit('before a checkpoint')) return this.never();
        await inner.save(state);
      },
      intend: async (intent) => {
        await inner.intend(intent);
        if (this.hit('after a write-ahead')) return this.never();
      },
    };
  }

  private newDeath(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.resolveDeath = resolve;
    });
  }
}
