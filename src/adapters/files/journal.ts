/**
 * The local journal: the runtime's own memory between restarts (strategy slot,
 * live trade, account projection, venue positions last seen). Written atomically
 * (temp file, fsync, rename) off the hot path. On start-up it ranks below the
 * exchange: recovery restores it only where the venue agrees.
 */
import { mkdirSync } from 'node:fs';
import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AccountState } from '../../domain/account.js';
import type { TradeSnapshot } from '../../execution/kernel.js';

export interface JournalState {
  readonly version: 1;
  readonly namespace: string;
  readonly strategyName: string;
  readonly savedAt: number;
  readonly lastScan: number | null;
  readonly chainHash: string;
  readonly strategyState: unknown;
  readonly trade: TradeSnapshot | null;
  readonly account: AccountState;
  readonly venuePositions: Array<[string, number]>;
}

export interface Journal {
  load(): Promise<JournalState | null>;
  save(state: JournalState): Promise<void>;
}

export class FileJournal implements Journal {
  private writing: Promise<void> = Promise.resolve();
  private next: JournalState | null = null;

  constructor(private readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  async load(): Promise<JournalState | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let state: JournalState;
    try {
      state = JSON.parse(text) as JournalState;
    } catch (err) {
      throw new Error(
        `journal ${this.path} is not valid JSON (${(err as Error).message}); move it aside to start from the exchange's truth alone`,
      );
    }
    if (state?.version !== 1)
      throw new Error(`journal ${this.path} has unknown version ${String(state?.version)}`);
    return state;
  }

  /** Coalesces saves: at most one write in flight, the latest state wins. */
  save(state: JournalState): Promise<void> {
    this.next = state;
    this.writing = this.writing.then(() => this.flushLatest());
    return this.writing;
  }

  private async flushLatest(): Promise<void> {
    const state = this.next;
    if (!state) return;
    this.next = null;
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(state));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
  }
}

/** An in-memory journal (simtest keeps it across simulated crashes). */
export class MemoryJournal implements Journal {
  private state: JournalState | null = null;
  async load(): Promise<JournalState | null> {
    return this.state ? structuredClone(this.state) : null;
  }
  async save(state: JournalState): Promise<void> {
    this.state = structuredClone(state);
  }
}
