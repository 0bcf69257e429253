/**
 * Drains the namespace's command queue on the runtime loop: validates each command,
 * applies it through RuntimeControl at most once per id, and writes an outcome record
 * for every item (malformed ones included) to the state map.
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
  type OperatorCommand,
  parseCommand,
} from './commands.js';

/** What the runtime exposes to operator commands (the lead's Runtime implements it). */
export interface RuntimeControl {
  /** May return a promise: the change is durable when it settles; a string says why it is not. */
  pause(): Promise<unknown>;
  resume(): Promise<unknown>;
  flatten(reason: string): { accepted: boolean; reason: string };
  /** commandId goes into the ledger's capital row, so the audit trail names the command. */
  setCapital(
    amount: number,
    kind: CapitalCommandType,
    commandId: string,
  ): { accepted: boolean; reason: string } | Promise<{ accepted: boolean; reason: string }>;
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
  private readonly now: () => number;
  private loaded = false;
  private idsDirty = false;

  constructor(private readonly o: CommandProcessorOptions) {
    this.seen = new BoundedSet(o.rememberIds ?? 10_000);
    this.now = o.now ?? Date.now;
  }

  /** Restores remembered ids from the state map (when persisted). Called by the first poll(). */
  async load(): Promise<void> {
    this.loaded = true;
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

  /** Handles everything waiting in the queue (up to maxPerPoll). */
  async poll(): Promise<PollResult> {
    if (!this.loaded) await this.load();
    const outcomes: CommandOutcome[] = [];
    const duplicates: string[] = [];
    const max = this.o.maxPerPoll ?? 1000;
    for (let i = 0; i < max; i++) {
      const text = await this.o.bus.queuePoll(this.o.ns.commandQueue);
      if (text === null) break;
      const r = await this.handle(text);
      if (typeof r === 'string') duplicates.push(r);
      else outcomes.push(r);
    }
    if (this.idsDirty && this.o.persistIds) await this.persistIds();
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
    this.seen.add(id);
    this.idsDirty = true;
    const outcome = parsed.ok
      ? await this.apply(parsed.command)
      : this.outcome(id, parsed.type, 'REFUSED', parsed.reason);
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
