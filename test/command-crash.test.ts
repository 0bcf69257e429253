/**
 * Operator commands exactly once across a crash at any step (issue #17, 3): the queue and
 * the state map outlive PINK (they are on the cluster), the runtime's memory does not. A
 * process is killed at its k-th effect (a queue peek or removal, a map read or write, the
 * ledger flush, the journal write), a new one starts from the journal and drains the
 * queue. Whatever k: each command's effect holds exactly once, each id has one outcome,
 * the queue is empty, and the ledger's capital rows, one per command, add up to the capital.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { oncePerCommand } from '../src/adapters/clickhouse/rows.js';
import { MemoryJournal } from '../src/adapters/files/journal.js';
import { GuardedStateBus } from '../src/adapters/statebus/guarded.js';
import { MemoryStateBus } from '../src/adapters/statebus/memory.js';
import type { CommandOutcome } from '../src/app/control/commands.js';
import { CommandProcessor, type RuntimeControl } from '../src/app/control/processor.js';
import { runtimeControl } from '../src/app/control/runtime-control.js';
import { simVenueFor } from '../src/app/replay.js';
import { Runtime, type ScanInput } from '../src/app/runtime.js';
import { syntheticScanLines } from '../src/app/simtest/synthetic-scans.js';
import { lookupNamespace, WriteGuard } from '../src/domain/namespaces.js';
import { commandOutcomeKey, type StateBus } from '../src/ports/state-bus.js';
import { BlueV7Ref } from '../src/strategy/blue-v7-ref.js';
import { until } from './support/wait.js';

const pink = lookupNamespace('pink');
const START_CAPITAL = 25_000;

class Crash extends Error {}

interface CapitalRow {
  readonly command_id: string;
  readonly delta: number;
}

/** What survives a kill -9: the journal file and the ledger's rows. */
interface Disk {
  journal: { paused: boolean; capital: number; applied: string[]; settled: Array<[string, string]> };
  ledger: CapitalRow[];
}

/** One process's lifetime: every effect is a step; at step `crashAt` it dies, and stays dead. */
class Incarnation {
  private steps = 0;
  private dead = false;
  constructor(private readonly crashAt: number) {}
  step(): void {
    if (this.dead || ++this.steps === this.crashAt) {
      this.dead = true;
      throw new Crash('kill -9');
    }
  }
}

/** The runtime as the processor sees it: memory restored from the journal, effects checkpointed by settle(). */
class ProcessRuntime implements RuntimeControl {
  paused: boolean;
  capital: number;
  readonly hasOpenPosition = false;
  private readonly applied: string[];
  private unflushed: CapitalRow[] = [];
  constructor(
    private readonly disk: Disk,
    private readonly life: Incarnation,
  ) {
    ({ paused: this.paused, capital: this.capital } = disk.journal);
    this.applied = [...disk.journal.applied];
  }
  async pause() {
    this.paused = true;
  }
  async resume() {
    this.paused = false;
  }
  flatten() {
    return { accepted: false, reason: 'no open position' };
  }
  setCapital(amount: number, _kind: string, commandId: string) {
    const delta = amount - this.capital;
    this.capital = amount;
    this.applied.push(commandId);
    this.unflushed.push({ command_id: commandId, delta });
    return { accepted: true, reason: `capital ${amount}` };
  }
  /** As Runtime.settleCommand: the ledger is flushed (beforeCheckpoint), then the journal written. */
  async settle(commandId: string, outcome: string) {
    this.life.step();
    this.disk.ledger.push(...this.unflushed);
    this.unflushed = [];
    this.life.step();
    this.disk.journal = {
      paused: this.paused,
      capital: this.capital,
      applied: [...this.applied],
      settled: [...this.disk.journal.settled, [commandId, outcome]],
    };
    return undefined;
  }
  settled() {
    return this.disk.journal.settled;
  }
}

/** The cluster's store, reached through a link that dies with the process. */
function busOf(cluster: MemoryStateBus, life: Incarnation): StateBus {
  const guarded = new GuardedStateBus(cluster, new WriteGuard(pink));
  return new Proxy(guarded, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || !['mapGet', 'mapPut', 'queuePeek', 'queueRemove'].includes(String(prop)))
        return typeof v === 'function' ? v.bind(target) : v;
      return (...args: unknown[]) => {
        life.step();
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

type Sent =
  | { id: string; type: 'SET_CAPITAL' | 'CAPITAL_UPDATE'; amount: number }
  | { id: string; type: 'PAUSE' | 'RESUME' }
  | { id: string; malformed: true };

const sentCommand: fc.Arbitrary<Omit<Sent, 'id'>> = fc.oneof(
  fc.record({
    type: fc.constantFrom('SET_CAPITAL' as const, 'CAPITAL_UPDATE' as const),
    amount: fc.integer({ min: 1_000, max: 90_000 }),
  }),
  fc.record({ type: fc.constantFrom('PAUSE' as const, 'RESUME' as const) }),
  fc.constant({ malformed: true as const }),
);

const textOf = (c: Sent) =>
  'malformed' in c ? JSON.stringify({ id: c.id, type: 'PAUSE', amount: 1 }) : JSON.stringify(c);

async function runScenario(sent: Sent[], resends: number[], crashAt: number) {
  const cluster = new MemoryStateBus({ sweepMs: 0 });
  const disk: Disk = {
    journal: { paused: false, capital: START_CAPITAL, applied: [], settled: [] },
    ledger: [],
  };
  // The operator's retries (same id, same text) follow the originals in the queue.
  const queued = [...sent, ...resends.map((i) => sent[i % sent.length]!)];
  for (const c of queued) await cluster.queueOffer(pink.commandQueue, textOf(c));
  const boot = async (life: Incarnation) => {
    const rt = new ProcessRuntime(disk, life);
    const proc = new CommandProcessor({ bus: busOf(cluster, life), ns: pink, control: rt, persistIds: true });
    for (let i = 0; i < 10 && cluster.queueSize(pink.commandQueue) > 0; i++) await proc.poll();
    return rt;
  };
  let crashed = false;
  try {
    await boot(new Incarnation(crashAt));
  } catch (err) {
    if (!(err instanceof Crash)) throw err;
    crashed = true;
  }
  const rt = await boot(new Incarnation(0)); // the restart: no crash this time
  const outcomes = new Map<string, CommandOutcome>();
  for (const c of sent) {
    const text = await cluster.mapGet(pink.stateMap, commandOutcomeKey(c.id));
    if (text !== null) outcomes.set(c.id, JSON.parse(text) as CommandOutcome);
  }
  await cluster.close();
  return { disk, rt, outcomes, crashed, queueLeft: cluster.queueSize(pink.commandQueue) };
}

describe('operator commands across a crash at any step', () => {
  it('each effect exactly once, one outcome per id, the queue drained, capital rows add up', async () => {
    let crashes = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(sentCommand, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 2 }),
        fc.integer({ min: 1, max: 45 }),
        async (shapes, resends, crashAt) => {
          const sent = shapes.map((s, i) => ({ ...s, id: `c${i}` }) as Sent);
          const { disk, rt, outcomes, crashed, queueLeft } = await runScenario(sent, resends, crashAt);
          if (crashed) crashes++;
          expect(queueLeft).toBe(0);
          // Applied in queue order, once each: the posture and capital of a crash-free run.
          let paused = false;
          let capital = START_CAPITAL;
          const capitalIds: string[] = [];
          for (const c of sent) {
            if ('malformed' in c) continue;
            if ('amount' in c) {
              capital = c.amount;
              capitalIds.push(c.id);
            } else paused = c.type === 'PAUSE';
          }
          expect(rt.paused).toBe(paused);
          expect(rt.capital).toBe(capital);
          expect(disk.journal.applied).toEqual(capitalIds);
          for (const c of sent)
            expect(outcomes.get(c.id)?.status, c.id).toBe('malformed' in c ? 'REFUSED' : 'APPLIED');
          // A command re-applied after a crash between its row and its checkpoint has two
          // rows; one per command remains, and they replay to the capital.
          const rows = oncePerCommand(disk.ledger);
          expect(rows.map((r) => r.command_id)).toEqual(capitalIds);
          expect(START_CAPITAL + rows.reduce((sum, r) => sum + r.delta, 0)).toBe(capital);
        },
      ),
      { numRuns: 300, seed: 17 },
    );
    // The property ran through crashes, not only clean runs.
    expect(crashes).toBeGreaterThan(100);
  });
});

describe('FLATTEN across a crash', () => {
  it('accepted and checkpointed, then kill -9 before the exit went out: the next runtime still flattens', async () => {
    const journal = new MemoryJournal();
    const lines = syntheticScanLines({ scans: 3000, seed: 11 });
    // One venue for both processes: the exchange keeps the position while PINK is down.
    let venue: ReturnType<typeof simVenueFor> | null = null;
    const logs: string[] = [];
    const runtime = (source: AsyncIterable<ScanInput>) =>
      new Runtime({
        namespace: 'pink',
        strategy: new BlueV7Ref(),
        capital: 25_000,
        journal,
        makeVenue: (marks) => {
          venue ??= simVenueFor(marks, { seed: 5, ackMs: 0, latencyMs: 0 });
          return venue;
        },
        source,
        sinks: [],
        idleMs: 10,
        log: (m) => logs.push(m),
      });
    const holding = (rt: Runtime) =>
      /^POSITION_(OPENED|UPDATED)$/.test(rt.pipeline.kernel.view()?.stage ?? '');
    const box: { rt?: Runtime } = {};
    const first = runtime(
      (async function* () {
        for (const [i, line] of lines.entries()) {
          if (box.rt && holding(box.rt)) return;
          yield { value: JSON.parse(line), where: `line ${i + 1}` };
        }
      })(),
    );
    box.rt = first;
    await first.start();
    await first.run();
    expect(holding(first), 'a position to flatten').toBe(true);
    const control = runtimeControl(first);
    expect(control.flatten('operator FLATTEN').accepted).toBe(true);
    expect(await control.settle('f-1', '{"id":"f-1","status":"APPLIED"}')).toBeUndefined();
    // kill -9 here: the loop never ran the exit.

    let quiet: () => void = () => {};
    const second = runtime(
      (async function* () {
        await new Promise<void>((r) => {
          quiet = r;
        });
      })(),
    );
    await second.start();
    expect(second.settledCommands().map(([id]) => id)).toEqual(['f-1']);
    const running = second.run();
    await until('the exit to go out', 10_000, async () =>
      logs.some((l) => /^FLATTEN \(operator FLATTEN\)/.test(l)),
    );
    expect(logs.filter((l) => l.startsWith('FLATTEN'))).toEqual([
      'FLATTEN (operator FLATTEN): exit submitted',
    ]);
    await second.stop('test over');
    quiet();
    await running;
  });
});
