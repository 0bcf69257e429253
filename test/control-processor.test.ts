import { afterEach, describe, expect, it } from 'vitest';
import { GuardedStateBus } from '../src/adapters/statebus/guarded.js';
import { MemoryStateBus } from '../src/adapters/statebus/memory.js';
import { type CommandOutcome, parseCommand, unknownCommandId } from '../src/app/control/commands.js';
import { CommandProcessor, OUTCOME_TTL_MS, type RuntimeControl } from '../src/app/control/processor.js';
import { lookupNamespace, WriteGuard } from '../src/domain/namespaces.js';
import { COMMAND_IDS_KEY, commandOutcomeKey } from '../src/ports/state-bus.js';
import { InMemorySettlement } from './support/settlement.js';

const pink = lookupNamespace('pink');

/** A small but real runtime: it keeps state and counts what was applied. */
class CountingRuntime extends InMemorySettlement implements RuntimeControl {
  paused = false;
  hasOpenPosition = false;
  capital = 25_000;
  readonly applied = { pause: 0, resume: 0, flatten: 0, capital: 0 };
  async pause() {
    this.paused = true;
    this.applied.pause++;
  }
  async resume() {
    this.paused = false;
    this.applied.resume++;
  }
  flatten(reason: string) {
    this.hasOpenPosition = false;
    this.applied.flatten++;
    return { accepted: true, reason: `exit submitted (${reason})` };
  }
  readonly capitalCommands: string[] = [];
  setCapital(amount: number, kind: 'SET_CAPITAL' | 'CAPITAL_UPDATE', commandId: string) {
    if (this.hasOpenPosition) return { accepted: false, reason: `${kind} refused while a position is open` };
    this.capital = amount;
    this.capitalCommands.push(commandId);
    this.applied.capital++;
    return { accepted: true, reason: `capital set to ${amount}` };
  }
}

const buses: MemoryStateBus[] = [];
afterEach(async () => {
  for (const b of buses.splice(0)) await b.close();
});

function setup(
  o: { rememberIds?: number; persistIds?: boolean; maxPerPoll?: number; now?: () => number } = {},
) {
  const mem = new MemoryStateBus({ sweepMs: 0, now: o.now });
  buses.push(mem);
  const alerts: string[] = [];
  const bus = new GuardedStateBus(mem, new WriteGuard(pink, (r) => alerts.push(r.message)));
  const rt = new CountingRuntime();
  const proc = new CommandProcessor({ bus, ns: pink, control: rt, now: o.now, ...o });
  const offer = (v: unknown) =>
    mem.queueOffer(pink.commandQueue, typeof v === 'string' ? v : JSON.stringify(v));
  const outcome = async (id: string) => {
    const t = await mem.mapGet(pink.stateMap, commandOutcomeKey(id));
    return t === null ? null : (JSON.parse(t) as CommandOutcome);
  };
  return { mem, bus, rt, proc, offer, outcome, alerts };
}

describe('parseCommand', () => {
  it('accepts the documented shapes', () => {
    for (const c of [
      { id: 'a', type: 'PAUSE' },
      { id: 'b', type: 'RESUME', reason: 'after maintenance' },
      { id: 'c', type: 'FLATTEN', issued_at: '2026-05-01T10:00:00Z' },
      { id: 'd', type: 'SET_CAPITAL', amount: 25000, issued_at: 1767225600000 },
      { id: 'x'.repeat(128), type: 'CAPITAL_UPDATE', amount: 1e12 },
    ])
      expect(parseCommand(JSON.stringify(c))).toMatchObject({ ok: true, command: c });
  });

  it('names what is wrong, keeps a usable id, else a stable unknown:<hash> id', () => {
    expect(parseCommand('{"id":"a","type":"PAUSE","force":true}')).toEqual({
      ok: false,
      id: 'a',
      type: 'PAUSE',
      reason: 'invalid command: unknown field(s) "force"',
    });
    expect(parseCommand('{"id":"a","type":"SET_CAPITAL"}')).toMatchObject({
      reason: /amount: required for SET_CAPITAL/,
    });
    expect(parseCommand('{"id":"a","type":"PAUSE","amount":5}')).toMatchObject({
      reason: /amount: not allowed/,
    });
    expect(parseCommand('{"id":"a","type":"SET_CAPITAL","amount":0}')).toMatchObject({ reason: /amount/ });
    expect(parseCommand('{"id":"a","type":"SET_CAPITAL","amount":1e13}')).toMatchObject({ reason: /amount/ });
    const bad = parseCommand('{not json');
    expect(bad).toMatchObject({ ok: false, type: null, reason: /^not JSON: / });
    expect(bad.ok ? '' : bad.id).toBe(unknownCommandId('{not json'));
    expect(unknownCommandId('{not json')).toMatch(/^unknown:[0-9a-f]{16}$/);
    expect(parseCommand(JSON.stringify({ id: 'y'.repeat(129), type: 'PAUSE' }))).toMatchObject({
      id: /^unknown:/,
      reason: /id: /,
    });
  });
});

/** 100 malformed commands: every way the schema can be violated, each with its own text. */
function malformedCommands(): string[] {
  const templates: Array<(i: number) => string> = [
    (i) => `garbage ${i}`,
    (i) => `{"id":"m${i}","type":"PAUSE"`,
    (i) => JSON.stringify([`m${i}`, 'PAUSE']),
    (i) => String(i),
    (i) => `null${' '.repeat(i)}`,
    (i) => JSON.stringify({ type: 'PAUSE', n: i }),
    (i) => JSON.stringify({ id: '', type: 'PAUSE', n: i }),
    (i) => JSON.stringify({ id: `m${i}`, type: 'pause' }),
    (i) => JSON.stringify({ id: `m${i}`, type: 'SHUTDOWN' }),
    (i) => JSON.stringify({ id: `m${i}` }),
    (i) => JSON.stringify({ id: `m${i}`, type: 'SET_CAPITAL' }),
    (i) => JSON.stringify({ id: `m${i}`, type: 'SET_CAPITAL', amount: -i }),
    (i) => JSON.stringify({ id: `m${i}`, type: 'CAPITAL_UPDATE', amount: 0 }),
    (i) => `{"id":"m${i}","type":"SET_CAPITAL","amount":1e400}`,
    (i) => JSON.stringify({ id: `m${i}`, type: 'SET_CAPITAL', amount: 2e12 }),
    (i) => JSON.stringify({ id: `m${i}`, type: 'SET_CAPITAL', amount: '25000' }),
    (i) => JSON.stringify({ id: `m${i}`, type: 'PAUSE', amount: 10 }),
    (i) => JSON.stringify({ id: `m${i}`, type: 'PAUSE', strategy: 'blue' }),
    (i) => JSON.stringify({ id: `m${i}`, type: 'RESUME', reason: 42 }),
    (i) => JSON.stringify({ id: `m${i}`, type: 'FLATTEN', issued_at: 'yesterday' }),
  ];
  return Array.from({ length: 100 }, (_, i) => templates[i % templates.length]!(i));
}

describe('CommandProcessor', () => {
  it('refuses 100 malformed commands each with a reason while valid ones interleaved are applied once', async () => {
    const { mem, rt, proc, offer, outcome, alerts } = setup();
    const bad = malformedCommands();
    const valid = [
      { id: 'v-pause', type: 'PAUSE' },
      { id: 'v-resume', type: 'RESUME' },
      { id: 'v-cap', type: 'SET_CAPITAL', amount: 30_000 },
      { id: 'v-upd', type: 'CAPITAL_UPDATE', amount: 31_000 },
    ];
    for (let i = 0; i < bad.length; i++) {
      await offer(bad[i]!);
      if (i % 25 === 0) await offer(valid[i / 25]!);
    }
    const { outcomes, duplicates } = await proc.poll();
    expect(duplicates).toEqual([]);
    expect(outcomes).toHaveLength(104);
    const refused = outcomes.filter((o) => o.status === 'REFUSED');
    expect(refused).toHaveLength(100);
    for (const o of refused) expect(o.reason.length).toBeGreaterThan(10);
    expect(outcomes.filter((o) => o.status === 'APPLIED').map((o) => o.id)).toEqual(valid.map((v) => v.id));
    expect(rt.applied).toEqual({ pause: 1, resume: 1, flatten: 0, capital: 2 });
    expect(rt.capital).toBe(31_000);
    // The runtime is told which command changed the capital (its ledger row names it).
    expect(rt.capitalCommands).toEqual(['v-cap', 'v-upd']);
    expect(mem.queueSize(pink.commandQueue)).toBe(0);
    // Every outcome is readable in the state map; malformed JSON under unknown:<hash>.
    for (const o of outcomes) expect(await outcome(o.id)).toEqual(o);
    expect(await outcome(unknownCommandId('garbage 0'))).toMatchObject({
      status: 'REFUSED',
      reason: /not JSON/,
    });
    expect(alerts).toEqual([]);
  });

  it('PAUSE when paused / RESUME when running are applied no-ops; FLATTEN when flat is refused', async () => {
    const { rt, proc, offer } = setup();
    await offer({ id: '1', type: 'RESUME' });
    await offer({ id: '2', type: 'PAUSE' });
    await offer({ id: '3', type: 'PAUSE' });
    await offer({ id: '4', type: 'FLATTEN' });
    const { outcomes } = await proc.poll();
    expect(outcomes.map((o) => [o.id, o.status, o.reason])).toEqual([
      ['1', 'APPLIED', 'already running; no change'],
      ['2', 'APPLIED', 'paused: no new entries'],
      ['3', 'APPLIED', 'already paused; no change'],
      ['4', 'REFUSED', 'no open position to flatten'],
    ]);
    expect(rt.applied).toMatchObject({ pause: 1, resume: 0, flatten: 0 });
    rt.hasOpenPosition = true;
    await offer({ id: '5', type: 'FLATTEN', reason: 'operator says so' });
    expect((await proc.poll()).outcomes[0]).toMatchObject({
      status: 'APPLIED',
      reason: 'exit submitted (operator says so)',
    });
  });

  it('applies each id exactly once, leaving the first outcome untouched', async () => {
    const { rt, proc, offer, outcome } = setup();
    await offer({ id: 'same', type: 'SET_CAPITAL', amount: 100 });
    await offer({ id: 'same', type: 'SET_CAPITAL', amount: 200 });
    const r = await proc.poll();
    expect(r.outcomes).toHaveLength(1);
    expect(r.duplicates).toEqual(['same']);
    expect(rt.capital).toBe(100);
    expect(rt.applied.capital).toBe(1);
    expect(await outcome('same')).toMatchObject({ status: 'APPLIED', reason: 'capital set to 100' });
  });

  it('remembers ids across a restart through the state map (persistIds)', async () => {
    const first = setup({ persistIds: true });
    await first.offer({ id: 'c1', type: 'SET_CAPITAL', amount: 100 });
    await first.proc.poll();
    expect(JSON.parse((await first.mem.mapGet(pink.stateMap, COMMAND_IDS_KEY))!)).toEqual(['c1']);
    const rt2 = new CountingRuntime();
    const again = new CommandProcessor({ bus: first.bus, ns: pink, control: rt2, persistIds: true });
    await first.offer({ id: 'c1', type: 'SET_CAPITAL', amount: 100 });
    expect((await again.poll()).duplicates).toEqual(['c1']);
    expect(rt2.applied.capital).toBe(0);
  });

  it('forgets the oldest ids beyond rememberIds (bounded memory)', async () => {
    const { rt, proc, offer } = setup({ rememberIds: 3 });
    for (const id of ['a', 'b', 'c', 'd']) await offer({ id, type: 'PAUSE' });
    await offer({ id: 'd', type: 'PAUSE' });
    await offer({ id: 'a', type: 'RESUME' });
    const r = await proc.poll();
    expect(r.duplicates).toEqual(['d']);
    expect(r.outcomes.map((o) => o.id)).toEqual(['a', 'b', 'c', 'd', 'a']);
    expect(rt.paused).toBe(false);
  });

  it('mirrors applied capital changes to <strategy>_capital_update_latest, not refused ones', async () => {
    const { mem, rt, proc, offer } = setup();
    await offer({ id: 'k1', type: 'CAPITAL_UPDATE', amount: 12_345.5, reason: 'top-up', issued_at: 5 });
    await proc.poll();
    const mirror = JSON.parse((await mem.mapGet(pink.stateMap, pink.capitalMirrorKey))!);
    expect(pink.capitalMirrorKey).toBe('pink_capital_update_latest');
    expect(mirror).toMatchObject({
      id: 'k1',
      type: 'CAPITAL_UPDATE',
      amount: 12_345.5,
      reason: 'top-up',
      issued_at: 5,
    });
    rt.hasOpenPosition = true;
    await offer({ id: 'k2', type: 'SET_CAPITAL', amount: 1 });
    expect((await proc.poll()).outcomes[0]).toMatchObject({ status: 'REFUSED', reason: /position is open/ });
    expect(JSON.parse((await mem.mapGet(pink.stateMap, pink.capitalMirrorKey))!).id).toBe('k1');
  });

  it('outcomes expire after one hour', async () => {
    let now = 1_000_000;
    const { proc, offer, outcome } = setup({ now: () => now });
    await offer({ id: 'o1', type: 'PAUSE' });
    await proc.poll();
    now += OUTCOME_TTL_MS - 1;
    expect(await outcome('o1')).not.toBeNull();
    now += 1;
    expect(await outcome('o1')).toBeNull();
  });

  it('a runtime that throws yields REFUSED with the error, and the loop goes on', async () => {
    const { rt, proc, offer } = setup();
    rt.setCapital = () => {
      throw new Error('ledger locked');
    };
    await offer({ id: 'e1', type: 'SET_CAPITAL', amount: 5 });
    await offer({ id: 'e2', type: 'PAUSE' });
    const { outcomes } = await proc.poll();
    expect(outcomes.map((o) => [o.status, o.reason])).toEqual([
      ['REFUSED', 'runtime error: ledger locked'],
      ['APPLIED', 'paused: no new entries'],
    ]);
  });

  it('handles at most maxPerPoll items per poll; the rest wait for the next', async () => {
    const { mem, proc, offer } = setup({ maxPerPoll: 5 });
    for (let i = 0; i < 12; i++) await offer({ id: `p${i}`, type: 'PAUSE' });
    expect((await proc.poll()).outcomes).toHaveLength(5);
    expect(mem.queueSize(pink.commandQueue)).toBe(7);
    expect((await proc.poll()).outcomes).toHaveLength(5);
    expect((await proc.poll()).outcomes).toHaveLength(2);
  });
});
