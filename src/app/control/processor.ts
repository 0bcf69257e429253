/**
 * Drains the namespace's command queue on the runtime loop: validates each command,
 * applies it through RuntimeControl exactly once per id, and writes an outcome record
 * for every item (malformed ones included) to the state map.
 *
 * Exactly once across crashes and a member lost mid-poll: an item is peeked, applied,
 * its id and outcome checkpointed in the journal together with the effect, the outcome
 * published, and only then removed from the queue. A crash before the checkpoint leaves
 * the item (and no effect): the next start applies it. A crash after it leaves the item
 * too, but its id is in the journal: it is removed without applying it again.
 *
 * Decisions: PAUSE while paused and RESUME while running are APPLIED as no-ops (the
 * operator's intent already holds, so `pink ctl pause` is safe to repeat); FLATTEN with
 * no open position is REFUSED; a repeated id is not applied again and its first
 * outcome is left untouched.
 */
import { BoundedSet } from '../../domain/bounded-set.js';
import type { Namespace } from '../../domain/namespaces.js';
import { COMMAND_IDS_KEY, commandOutcomeKey, type StateBus } from '../../ports/state-bus.js';
import {
  type CapitalCommandType,
  type CapitalUpdateMirror,
  type CommandOutcome,
  type CommandType,
  itemDigest,
  type OperatorCommand,
  parseCommand,
} from './commands.js';

/** What the runtime exposes to operator commands (the lead's Runtime implements it). */
export interface RuntimeControl {
  pause(): Promise<unknown>;
  resume(): Promise<unknown>;
  flatten(reason: string): { accepted: boolean; reason: string };
  /** commandId goes into the ledger's capital row, so the audit trail names the command. */
  setCapital(
    amount: number,
    kind: CapitalCommandType,
    commandId: string,
  ): { accepted: boolean; reason: string } | Promise<{ accepted: boolean; reason: string }>;
  /**
   * Checkpoints the command's id and outcome (JSON) with its effect, durably; resolves to
   * a note when that failed (the change then holds in memory only).
   */
  settle(commandId: string, outcome: string): Promise<string | undefined>;
  /** The commands checkpointed so far that the journal still holds: [id, outcome JSON]. */
  settled(): ReadonlyArray<readonly [string, string]>;
  readonly paused: boolean;
  readonly hasOpenPosition: boolean;
}

export const OUTCOME_TTL_MS = 3_600_000;

export interface CommandProcessorOptions {
  readonly bus: StateBus;
  readonly ns: Namespace;
  readonly control: RuntimeControl;
  /** How many command ids are remembered for exactly-once (oldest forgotten first). */
  readonly rememberIds?: number;
  /** Keep the remembered ids in `<stateMap>[command_ids]` so a restart does not re-apply. */
  readonly persistIds?: boolean;
  /** Most commands handled per poll(), so a flood cannot stall the trading loop. */
  readonly maxPerPoll?: number;
  readonly now?: () => number;
  readonly log?: (message: string) => void;
}

export interface PollResult {
  readonly outcomes: CommandOutcome[];
  /** Ids seen before: not applied again, no new outcome written. */
  readonly duplicates: string[];
}

export class CommandProcessor {
  private readonly seen: BoundedSet;
  /** Outcomes checkpointed in the journal, by id: re-published if the crash came before that. */
  private readonly journaled = new Map<string, string>();
  private readonly now: () => number;
  private loaded = false;
  private polling: Promise<PollResult> | null = null;
  private idsDirty = false;

  constructor(private readonly o: CommandProcessorOptions) {
    this.seen = new BoundedSet(o.rememberIds ?? 10_000);
    this.now = o.now ?? Date.now;
  }

  /** Restores remembered ids from the state map (when persisted). Called by the first poll(). */
  async load(): Promise<void> {
    this.loaded = true;
    for (const [id, outcome] of this.o.control.settled()) {
      this.seen.add(id);
      this.journaled.set(id, outcome);
    }
    if (!this.o.persistIds) return;
    try {
      const text = await this.o.bus.mapGet(this.o.ns.stateMap, COMMAND_IDS_KEY);
      if (text === null) return;
      const ids = JSON.parse(text) as unknown;
      if (Array.isArray(ids)) for (const id of ids) if (typeof id === 'string') this.seen.add(id);
    } catch (err) {
      // Losing the memory only risks re-applying an old command id; say so, keep running.
      this.o.log?.(
        `command ids not restored from ${this.o.ns.stateMap}[${COMMAND_IDS_KEY}]: ${(err as Error).message}`,
      );
    }
  }

  /**
   * Handles everything waiting in the queue (up to maxPerPoll). A poll while one is running
   * joins it: two would peek the same item and apply it twice.
   */
  poll(): Promise<PollResult> {
    this.polling ??= this.drain().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private async drain(): Promise<PollResult> {
    if (!this.loaded) await this.load();
    const outcomes: CommandOutcome[] = [];
    const duplicates: string[] = [];
    const max = this.o.maxPerPoll ?? 1000;
    const queue = this.o.ns.commandQueue;
    for (let i = 0; i < max; i++) {
      const text = await this.o.bus.queuePeek(queue);
      if (text === null) break;
      const r = await this.handle(text);
      if (typeof r === 'string') duplicates.push(r);
      else outcomes.push(r);
      if (this.idsDirty && this.o.persistIds) await this.persistIds();
      // Handled and recorded: only now does it leave the queue. If the removal fails the
      // item stays, is seen again as a known id, and removal is retried on a later poll.
      if (!(await this.o.bus.queueRemove(queue, text))) {
        this.o.log?.(`command queue ${queue}: handled item not removed yet (state bus down?); retried later`);
        break;
      }
    }
    return { outcomes, duplicates };
  }

  /** One queue item -> its outcome, or just its id when the id was handled before. */
  private async handle(text: string): Promise<CommandOutcome | string> {
    const parsed = parseCommand(text);
    const id = parsed.ok ? parsed.command.id : parsed.id;
    if (this.seen.has(id)) {
      this.o.log?.(`command ${id} already handled; not applied again`);
      await this.answerDuplicate(id, parsed.ok ? parsed.command.type : parsed.type);
      return id;
    }
    let outcome: CommandOutcome = {
      ...(parsed.ok
        ? await this.apply(parsed.command)
        : this.outcome(id, parsed.type, 'REFUSED', parsed.reason)),
      item_digest: itemDigest(text),
    };
    // A malformed item has no effect to keep: handling it again gives the same refusal.
    if (parsed.ok) {
      const note = await this.o.control.settle(id, JSON.stringify(outcome));
      if (note) outcome = { ...outcome, reason: `${outcome.reason}; ${note}` };
    }
    this.seen.add(id);
    this.idsDirty = true;
    await this.o.bus.mapPut(
      this.o.ns.stateMap,
      commandOutcomeKey(id),
      JSON.stringify(outcome),
      OUTCOME_TTL_MS,
    );
    if (parsed.ok && outcome.status === 'APPLIED') await this.mirrorCapital(parsed.command, outcome.ts);
    this.o.log?.(`command ${id} ${outcome.type ?? '?'}: ${outcome.status} (${outcome.reason})`);
    return outcome;
  }

  /**
   * The first outcome stays as it was; only when it has expired is a DUPLICATE outcome
   * written, so a sender waiting on this id gets an answer (never APPLIED twice).
   */
  private async answerDuplicate(id: string, type: CommandType | null): Promise<void> {
    const key = commandOutcomeKey(id);
    if ((await this.o.bus.mapGet(this.o.ns.stateMap, key)) !== null) return;
    // Applied and checkpointed, then a crash before its outcome was published: publish that.
    const first = this.journaled.get(id);
    if (first !== undefined) {
      await this.o.bus.mapPut(this.o.ns.stateMap, key, first, OUTCOME_TTL_MS);
      return;
    }
    const outcome = this.outcome(
      id,
      type,
      'DUPLICATE',
      'command id handled before (its first outcome is no longer kept); not applied again',
    );
    await this.o.bus.mapPut(this.o.ns.stateMap, key, JSON.stringify(outcome), OUTCOME_TTL_MS);
  }

  private async apply(c: OperatorCommand): Promise<CommandOutcome> {
    try {
      const [status, reason] = await this.decide(c);
      return this.outcome(c.id, c.type, status, reason);
    } catch (err) {
      return this.outcome(c.id, c.type, 'REFUSED', `runtime error: ${(err as Error).message}`);
    }
  }

  private async decide(c: OperatorCommand): Promise<[CommandOutcome['status'], string]> {
    const ctl = this.o.control;
    const why = c.reason ? ` (${c.reason})` : '';
    switch (c.type) {
      case 'PAUSE':
        if (ctl.paused) return ['APPLIED', 'already paused; no change'];
        return ['APPLIED', withNote(`paused: no new entries${why}`, await ctl.pause())];
      case 'RESUME':
        if (!ctl.paused) return ['APPLIED', 'already running; no change'];
        return ['APPLIED', withNote(`resumed${why}`, await ctl.resume())];
      case 'FLATTEN': {
        if (!ctl.hasOpenPosition) return ['REFUSED', 'no open position to flatten'];
        const r = ctl.flatten(c.reason ?? 'operator FLATTEN');
        return [r.accepted ? 'APPLIED' : 'REFUSED', r.reason];
      }
      case 'SET_CAPITAL':
      case 'CAPITAL_UPDATE': {
        const r = await ctl.setCapital(c.amount!, c.type, c.id);
        return [r.accepted ? 'APPLIED' : 'REFUSED', r.reason];
      }
    }
  }

  private async mirrorCapital(c: OperatorCommand, ts: number): Promise<void> {
    if (c.type !== 'SET_CAPITAL' && c.type !== 'CAPITAL_UPDATE') return;
    const mirror: CapitalUpdateMirror = {
      id: c.id,
      type: c.type,
      amount: c.amount!,
      reason: c.reason ?? '',
      issued_at: c.issued_at ?? null,
      applied_at: ts,
    };
    await this.o.bus.mapPut(this.o.ns.stateMap, this.o.ns.capitalMirrorKey, JSON.stringify(mirror));
  }

  private outcome(id: string, type: CommandType | null, status: CommandOutcome['status'], reason: string) {
    return { id, type, status, reason, ts: this.now() } satisfies CommandOutcome;
  }

  private async persistIds(): Promise<void> {
    this.idsDirty = false;
    await this.o.bus.mapPut(this.o.ns.stateMap, COMMAND_IDS_KEY, JSON.stringify(this.seen.values()));
  }
}

const withNote = (reason: string, note: unknown) =>
  typeof note === 'string' && note ? `${reason}; ${note}` : reason;
