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
import type { OrderIntentRecord } from '../../domain/venue.js';
import type { TradeSnapshot } from '../../execution/kernel.js';
import { IntentSchema, JournalSchema, schemaProblem } from './journal-schema.js';

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
  /**
   * Keys of the newest venue facts applied (fills, order states, funding): after a restart
   * the venue's history is booked except these. Absent in journals written before it existed.
   */
  readonly seenFacts?: string[];
  /** The operator's PAUSE, kept across restarts until RESUME (absent in older journals = running). */
  readonly paused?: boolean;
  /**
   * The newest operator commands applied, as [command id, outcome JSON], checkpointed with
   * their effect: after a crash the command still in the queue is known as handled.
   */
  readonly commands?: Array<[string, string]>;
  /** An operator FLATTEN accepted but not yet submitted (it runs again after a crash). */
  readonly flattenRequested?: string;
}

export interface Journal {
  load(): Promise<JournalState | null>;
  /** A checkpoint; intents recorded before it are covered by it and forgotten. */
  save(state: JournalState): Promise<void>;
  /** Write-ahead: durable before it resolves. */
  intend(intent: OrderIntentRecord): Promise<void>;
  /** Intents recorded after the last checkpoint, oldest first. */
  intents(): Promise<OrderIntentRecord[]>;
}

export class FileJournal implements Journal {
  private writing: Promise<void> = Promise.resolve();
  private next: JournalState | null = null;
  /** Intents since the last checkpoint (seq, record); the file holds exactly these. */
  private pendingIntents: Array<[number, OrderIntentRecord]> = [];
  private intentSeq = 1; // the first checkpoint also clears what a crashed process left
  private coveredSeq = 0;
  private readonly intentPath: string;

  constructor(private readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.intentPath = `${path}.intents`;
  }

  async intend(intent: OrderIntentRecord): Promise<void> {
    this.pendingIntents.push([++this.intentSeq, intent]);
    const fh = await open(this.intentPath, 'a');
    try {
      await fh.appendFile(`${JSON.stringify(intent)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async intents(): Promise<OrderIntentRecord[]> {
    let text: string;
    try {
      text = await readFile(this.intentPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: OrderIntentRecord[] = [];
    for (const [i, line] of text.split('\n').entries()) {
      if (line.trim() === '') continue;
      let intent: unknown;
      try {
        intent = JSON.parse(line);
      } catch {
        // A line cut short by the crash: its request never left (the write completes first).
        continue;
      }
      const problem = schemaProblem(IntentSchema, intent);
      if (problem)
        throw new Error(
          `journal intents ${this.intentPath} line ${i + 1}: ${problem}; refusing to trade on it (move the file aside to start from the exchange's truth alone)`,
        );
      out.push(intent as OrderIntentRecord);
    }
    return out;
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
    const problem = schemaProblem(JournalSchema, state);
    if (problem)
      throw new Error(
        `journal ${this.path}: ${problem}; refusing to trade on it (move it aside to start from the exchange's truth alone)`,
      );
    return state;
  }

  /** Coalesces saves: at most one write in flight, the latest state wins. */
  save(state: JournalState): Promise<void> {
    this.next = state;
    const covered = this.intentSeq;
    this.writing = this.writing.then(() => this.flushLatest(covered));
    return this.writing;
  }

  private async flushLatest(covered: number): Promise<void> {
    const state = this.next;
    if (state) {
      this.next = null;
      await writeAtomically(this.path, JSON.stringify(state));
    }
    // The checkpoint covers every intent recorded before its state was taken.
    if (covered <= this.coveredSeq) return;
    this.coveredSeq = covered;
    this.pendingIntents = this.pendingIntents.filter(([seq]) => seq > covered);
    await writeAtomically(
      this.intentPath,
      this.pendingIntents.map(([, i]) => `${JSON.stringify(i)}\n`).join(''),
    );
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** An in-memory journal (simtest keeps it across simulated crashes). */
export class MemoryJournal implements Journal {
  private state: JournalState | null = null;
  private pending: OrderIntentRecord[] = [];
  async load(): Promise<JournalState | null> {
    return this.state ? structuredClone(this.state) : null;
  }
  async save(state: JournalState): Promise<void> {
    this.state = structuredClone(state);
    this.pending = [];
  }
  async intend(intent: OrderIntentRecord): Promise<void> {
    this.pending.push(structuredClone(intent));
  }
  async intents(): Promise<OrderIntentRecord[]> {
    return structuredClone(this.pending);
  }
}
