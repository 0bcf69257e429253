/**
 * `pink tui`: the view model over real published JSON, and the ink Dashboard rendered
 * with ink-testing-library against a real MemoryStateBus filled by the real
 * StatePublisher, read through the loopback state server and the discovery file (as
 * `pink ctl status` does), with commands sent through the `pink ctl` path into the
 * real `pink_runtime_commands` queue and answered by the real CommandProcessor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { Command } from 'commander';
import { cleanup, render } from 'ink-testing-library';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GuardedStateBus } from '../src/adapters/statebus/guarded.js';
import { MemoryStateBus } from '../src/adapters/statebus/memory.js';
import type { StateServer } from '../src/adapters/statebus/state-server.js';
import { CommandProcessor, type RuntimeControl } from '../src/app/control/processor.js';
import { type EngineView, StatePublisher } from '../src/app/state-publisher.js';
import { prepareTui, register } from '../src/cli/commands/tui.js';
import { CliError } from '../src/cli/errors.js';
import { AccountVolumeControl } from '../src/domain/account-volume.js';
import { lookupNamespace, type Namespace, WriteGuard } from '../src/domain/namespaces.js';
import { Dashboard } from '../src/tui/Dashboard.js';
import {
  buildModel,
  type CommandReport,
  describeReport,
  executionTable,
  type ModelInput,
  mergeDecision,
  type PublishedTexts,
  summarize,
} from '../src/tui/model.js';
import { busSource, openSource, type TuiSource, utcDay } from '../src/tui/source.js';
import { serveRuntime } from './support/serve-runtime.js';
import { InMemorySettlement } from './support/settlement.js';

const pink = lookupNamespace('pink');
const blue = lookupNamespace('blue');
const root = mkdtempSync(path.join(os.tmpdir(), 'pink-tui-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const T0 = Date.parse('2026-05-01T10:00:00Z');

function health(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    clickhouse: { engine: 'chdb', reachable: true, spool_depth: 0, rows_written: 120, last_error: '' },
    state_bus: { kind: 'memory', connected: true, pending_keys: 0, last_error: '' },
    venue: 'sim',
    bingx_env: 'VST',
    account_events: new AccountVolumeControl().counters(),
    ...over,
  };
}

function view(over: Partial<EngineView> = {}): EngineView {
  const ts = over.ts ?? Date.now();
  return {
    ts,
    posture: 'RUNNING',
    paused: false,
    venue: 'sim',
    algorithm: 'blue-v7-ref',
    slot: {
      tradeId: 't1',
      asset: 'BTCUSDT',
      side: 'SHORT',
      stage: 'OPEN',
      size: 0.5,
      entryPrice: 60_000,
      barsHeld: 3,
      unrealizedPnl: 10,
    },
    pendingOrders: 0,
    lastScan: { ts, scanNumber: 7, assets: 20 },
    lastDecision: { ts, action: 'HOLD', asset: null, reason: 'no signal' },
    capital: 25_100,
    equity: 25_110,
    realizedPnl: 120,
    unrealizedPnl: 10,
    fees: 15,
    funding: 5,
    openNotional: 30_000,
    leverage: 1.2,
    pnlByDay: [{ date: utcDay(ts), realizedPnl: 120, fees: 15, funding: 5, trades: 2, wins: 1, losses: 1 }],
    health: health(),
    ...over,
  };
}

/** Publishes `v` with the real StatePublisher into a fresh memory bus and returns the texts. */
async function publishedTexts(v: EngineView, ns: Namespace = pink, now = v.ts): Promise<PublishedTexts> {
  const mem = new MemoryStateBus({ sweepMs: 0 });
  const pub = new StatePublisher({ bus: new GuardedStateBus(mem, new WriteGuard(ns)), ns, now: () => now });
  await pub.publish(v);
  const texts = {
    engineSnapshot: await mem.mapGet(ns.stateMap, 'engine_snapshot'),
    latestNautilus: await mem.mapGet(ns.stateMap, 'latest_nautilus'),
    capitalCheckpoint: await mem.mapGet(ns.stateMap, 'capital_checkpoint'),
    pnlToday: await mem.mapGet(ns.pnlMap, utcDay(v.ts)),
  };
  await mem.close();
  return texts;
}

function input(published: PublishedTexts | null, over: Partial<ModelInput> = {}): ModelInput {
  return {
    strategy: pink.strategy,
    stateMap: pink.stateMap,
    pnlMap: pink.pnlMap,
    commandQueue: pink.commandQueue,
    readOnly: false,
    where: 'test',
    published,
    link: { ok: true },
    now: T0 + 1000,
    staleAfterMs: 15_000,
    ...over,
  };
}

const codes = (m: ReturnType<typeof buildModel>) => m.alerts.map((a) => a.code);

describe('buildModel (published JSON -> display model)', () => {
  it('healthy running runtime with an open trade: posture, stage, position, capital, ROI, no alerts', async () => {
    const m = buildModel(input(await publishedTexts(view({ ts: T0 }))));
    expect(m.connection).toBe('live');
    expect(m.posture).toBe('RUNNING');
    expect(m.paused).toBe(false);
    expect(m.stage).toBe('OPEN');
    expect(m.position.join('\n')).toContain('SHORT BTCUSDT  size 0.5  entry 60,000  unrealized 10.00');
    expect(m.position.join('\n')).toContain('trade t1  stage OPEN  bars held 3');
    expect(m.capital[0]).toContain('capital 25,100.00  equity 25,110.00  realized 120.00');
    // base = 25,100 - 120 + 15 + 5 = 25,000
    expect(m.roi).toBe('ROI realized 0.480 %  cost-adjusted 0.400 %  open-equity 0.440 %  (base 25,000.00)');
    expect(m.today).toContain(
      'net 100.00 (realized 120.00, fees 15.00, funding 5.00), trades 2 (1 won, 1 lost)',
    );
    expect(m.heartbeat).toBe('1.0 s ago');
    expect(m.lastScan).toBe('#7 at 10:00:00 UTC (20 assets)');
    expect(m.decisions).toEqual(['10:00:00 UTC  HOLD   -          no signal']);
    expect(m.execution.rows).toEqual([]);
    expect(m.dataRates[0]).toBe('account events: written 0 of 0 offered, suppressed 0');
    expect(m.components.map((c) => [c.name, c.ok])).toEqual([
      ['clickhouse', true],
      ['state_bus', true],
      ['venue', null],
      ['bingx_env', null],
    ]);
    expect(m.alerts).toEqual([]);
    expect(m.readOnlyNotice).toBeNull();
  });

  it('flat slot: stage FLAT, and the model never invents a close (it shows exactly the published slot)', async () => {
    expect(buildModel(input(await publishedTexts(view({ ts: T0, slot: null })))).stage).toBe('FLAT');
    const exiting = await publishedTexts(
      view({ ts: T0, slot: { ...view().slot!, stage: 'EXIT_PENDING', size: 0.2 } }),
    );
    const m = buildModel(input(exiting));
    expect(m.stage).toBe('EXIT_PENDING');
    expect(m.position[0]).toContain('size 0.2');
  });

  it('alerts: stale heartbeat, unhealthy / disconnected components, spool depth, pending keys, account-event cap', async () => {
    const counters = { ...new AccountVolumeControl().counters(), alerts: 2, windowsOverCap: 3 };
    const texts = await publishedTexts(
      view({
        ts: T0,
        health: health({
          clickhouse: {
            engine: 'server',
            reachable: false,
            spool_depth: 12,
            rows_written: 9,
            last_error: 'ECONNREFUSED',
          },
          state_bus: {
            kind: 'hazelcast',
            connected: false,
            pending_keys: 4,
            last_error: 'hazelcast disconnected',
          },
          account_events: counters,
        }),
      }),
    );
    const m = buildModel(input(texts, { now: T0 + 60_000 }));
    expect(codes(m)).toEqual([
      'heartbeat-stale',
      'unhealthy',
      'unhealthy',
      'spool',
      'pending-keys',
      'account-cap',
    ]);
    const t = m.alerts.map((a) => a.text);
    expect(t[0]).toBe('heartbeat stale: last publish 60.0 s ago (limit 15.0 s)');
    expect(t[1]).toContain('clickhouse unreachable: engine server, reachable false, spool depth 12');
    expect(t[1]).toContain('last error ECONNREFUSED');
    expect(t[2]).toContain('state_bus disconnected: kind hazelcast, connected false');
    expect(t[3]).toBe('clickhouse spool depth 12: ledger rows waiting to be written');
    expect(t[4]).toBe('state_bus: 4 keys waiting to be republished');
    expect(t[5]).toBe('account-event cap exceeded: 3 windows over cap, 2 alerts');
    expect(m.dataRates[1]).toBe('account-event cap: alerts 2, windows over cap 3');
  });

  it('a strategy process that is down is a critical alert naming its error and the pending restart', async () => {
    const strategy = {
      name: 'blue-v7-ref',
      kind: 'process',
      healthy: false,
      failures: 2,
      restarts: 1,
      last_error: 'strategy process "process:python3 s.py" exited (code 7)',
      next_restart_at: '2026-05-01T10:00:04.000Z',
    };
    const down = buildModel(
      input(await publishedTexts(view({ ts: T0, paused: true, health: health({ strategy }) }))),
    );
    expect(down.components.find((c) => c.name === 'strategy')?.ok).toBe(false);
    const alert = down.alerts.find((a) => a.code === 'unhealthy');
    expect(alert?.level).toBe('critical');
    expect(alert?.text).toBe(
      'strategy down: name blue-v7-ref, kind process, healthy false, failures 2, restarts 1, last error strategy process "process:python3 s.py" exited (code 7), next restart at 2026-05-01T10:00:04.000Z',
    );
    const up = buildModel(
      input(
        await publishedTexts(view({ ts: T0, health: health({ strategy: { ...strategy, healthy: true } }) })),
      ),
    );
    expect(up.components.find((c) => c.name === 'strategy')?.ok).toBe(true);
    expect(up.alerts.filter((a) => a.code === 'unhealthy')).toEqual([]);
  });

  it('the link: not found, disconnected (keeps the last state), nothing published, bad JSON', async () => {
    const nf = buildModel(
      input(null, {
        link: {
          ok: false,
          kind: 'not-found',
          message: 'no PINK runtime found (discovery file x does not exist)',
        },
      }),
    );
    expect(nf.connection).toBe('not-found');
    expect(nf.alerts[0]).toMatchObject({
      code: 'not-found',
      text: expect.stringContaining('no PINK runtime found'),
    });
    expect(nf.posture).toBe('?');

    const texts = await publishedTexts(view({ ts: T0 }));
    const dc = buildModel(input(texts, { link: { ok: false, kind: 'error', message: 'ECONNREFUSED' } }));
    expect(dc.connection).toBe('disconnected');
    expect(dc.alerts[0]!.text).toBe(
      'disconnected from the runtime: ECONNREFUSED (showing the last state read)',
    );
    expect(dc.posture).toBe('RUNNING');

    const none = buildModel(
      input({ engineSnapshot: null, latestNautilus: null, capitalCheckpoint: null, pnlToday: null }),
    );
    expect(none.connection).toBe('no-state');
    expect(none.alerts.map((a) => a.text)).toEqual(['no engine_snapshot in DOLPHIN_STATE_PINK']);

    const bad = buildModel(input({ ...texts, latestNautilus: '{"posture":' }));
    expect(codes(bad)).toContain('bad-json');
    expect(bad.posture).toBe('RUNNING');
  });

  it('non-running posture is a warning; paused is shown', async () => {
    const m = buildModel(input(await publishedTexts(view({ ts: T0, posture: 'RECOVERING', paused: true }))));
    expect(m.alerts).toEqual([{ level: 'warning', code: 'posture', text: 'posture RECOVERING' }]);
    expect(m.paused).toBe(true);
  });

  it("the runtime's latency legs (published in microseconds) are shown in ms, slippage in bps, as a table", () => {
    const t = executionTable(
      {
        decision_to_submit_us: { orders: 12, p50: 41, p90: 180.4, max: 2_503 },
        submit_to_ack_us: { orders: 12, p50: 30_463, p90: 215_912, max: 1_250_000 },
      },
      { vs_reference_bps: { orders: 12, p50: 1.0492278, p90: 2.1231, max: 2.5 } },
      {
        '5s_bps': { orders: 9, p50: -0.41249, p90: 3.2, max: 7.777 },
        '300s_bps': { orders: 4, p50: 12.5, p90: 20, max: 20 },
      },
    );
    expect(t).toEqual({
      columns: ['orders', 'p50', 'p90', 'max'],
      rows: [
        { what: 'decision to submit', unit: 'ms', cells: ['12', '0.04', '0.18', '2.50'] },
        { what: 'submit to ack', unit: 'ms', cells: ['12', '30.5', '216', '1250'] },
        { what: 'vs reference', unit: 'bps', cells: ['12', '1.05', '2.12', '2.50'] },
        { what: 'markout 5s', unit: 'bps', cells: ['9', '-0.41', '3.20', '7.78'] },
        { what: 'markout 300s', unit: 'bps', cells: ['4', '12.50', '20.00', '20.00'] },
      ],
    });
  });

  it('latency, slippage and data rates are shown when published, and ROI when the runtime publishes it', () => {
    const snapshot = JSON.stringify({
      posture: 'RUNNING',
      ts: T0,
      published_at: T0,
      latency: { decision_to_submit: { p50: 3, p95: 9 }, submit_to_ack: { p50: 40, p95: 80 } },
      slippage: { vs_decision: { mean: 1.5 }, vs_arrival: { mean: 0.7 } },
      data_rates: { scans: 0.2, account_events: 0.23 },
      roi: { realized: 0.01, open_equity: 0.012, cost_adjusted: 0.009 },
      capital: 100,
    });
    const m = buildModel(
      input({ engineSnapshot: snapshot, latestNautilus: null, capitalCheckpoint: null, pnlToday: null }),
    );
    // Older publishers: legs already in ms, other statistics; the table takes what is there.
    expect(m.execution).toEqual({
      columns: ['mean', 'p50', 'p95'],
      rows: [
        { what: 'decision to submit', unit: 'ms', cells: ['', '3.00', '9.00'] },
        { what: 'submit to ack', unit: 'ms', cells: ['', '40.0', '80.0'] },
        { what: 'vs decision', unit: 'bps', cells: ['1.50', '', ''] },
        { what: 'vs arrival', unit: 'bps', cells: ['0.70', '', ''] },
      ],
    });
    expect(m.dataRates).toEqual(['data rates: scans 0.2, account events 0.23 (per s)']);
    expect(m.roi).toBe('ROI (published): realized 0.01, open equity 0.012, cost adjusted 0.009 (ratio)');
    expect(summarize(12.5, 'ms')).toBe('12.5 ms');
    expect(summarize(undefined, 'ms')).toBeNull();
  });

  it('read-only namespaces carry a notice naming their own map', async () => {
    const m = buildModel({
      ...input(await publishedTexts(view({ ts: T0 }), blue)),
      strategy: blue.strategy,
      stateMap: blue.stateMap,
      pnlMap: blue.pnlMap,
      commandQueue: blue.commandQueue,
      readOnly: true,
    });
    expect(m.title).toBe(`BLUE live state  namespace blue (${blue.stateMap})`);
    expect(m.readOnlyNotice).toContain(`blue surfaces (${blue.stateMap}) are shown read-only`);
  });

  it('mergeDecision keeps distinct decisions, newest last, bounded; describeReport prints the outcome record', () => {
    let h = mergeDecision([], { ts: 1, action: 'HOLD', asset: null, reason: 'a' });
    h = mergeDecision(h, { ts: 1, action: 'HOLD', asset: null, reason: 'a' });
    expect(h).toHaveLength(1);
    for (let i = 2; i < 12; i++) h = mergeDecision(h, { ts: i, action: 'ENTER', asset: 'X', reason: 'r' }, 5);
    expect(h.map((d) => d.ts)).toEqual([7, 8, 9, 10, 11]);
    expect(mergeDecision(h, null, 5)).toEqual(h);
    const r: CommandReport = {
      status: 'APPLIED',
      type: 'PAUSE',
      id: 'ctl-1',
      reason: 'paused: no new entries',
      lines: [],
    };
    expect(describeReport(r)).toBe('APPLIED PAUSE id=ctl-1: paused: no new entries');
    expect(describeReport({ ...r, status: 'NOT_SENT', id: null, reason: 'no runtime' })).toBe(
      'NOT SENT PAUSE: no runtime',
    );
  });
});

// ---------------------------------------------------------------------------------
// The Dashboard against a running harness.

class SmallRuntime extends InMemorySettlement implements RuntimeControl {
  paused = false;
  hasOpenPosition = true;
  flattens = 0;
  async pause() {
    this.paused = true;
  }
  async resume() {
    this.paused = false;
  }
  flatten() {
    this.flattens++;
    return { accepted: true, reason: 'exit submitted' };
  }
  setCapital(amount: number) {
    return { accepted: true, reason: `capital set to ${amount}` };
  }
}

interface Harness {
  varDir: string;
  mem: MemoryStateBus;
  bus: GuardedStateBus;
  publisher: StatePublisher;
  processor: CommandProcessor;
  server: StateServer | null;
  rt: SmallRuntime;
}

let h: Harness;
const closers: Array<() => Promise<void>> = [];

async function startHarness(v: EngineView = view()): Promise<Harness> {
  const varDir = mkdtempSync(path.join(root, 'var-'));
  const mem = new MemoryStateBus({ sweepMs: 0 });
  const bus = new GuardedStateBus(mem, new WriteGuard(pink));
  const publisher = new StatePublisher({ bus, ns: pink });
  await publisher.publish(v);
  const rt = new SmallRuntime();
  const processor = new CommandProcessor({ bus, ns: pink, control: rt });
  const harness: Harness = { varDir, mem, bus, publisher, processor, server: null, rt };
  closers.push(async () => {
    await harness.server?.close();
    await mem.close();
  });
  return harness;
}

async function serve(x: Harness): Promise<void> {
  x.server = await serveRuntime(x.bus, x.varDir, pink);
}

afterEach(async () => {
  cleanup();
  for (const c of closers.splice(0).reverse()) await c();
});

async function waitFor(cond: () => boolean | Promise<boolean>, what: () => string, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Rendered = ReturnType<typeof render>;
const frame = (r: Rendered) => stripVTControlCharacters(r.lastFrame() ?? '');
const until = (r: Rendered, needle: string | RegExp) =>
  waitFor(
    () => (typeof needle === 'string' ? frame(r).includes(needle) : needle.test(frame(r))),
    () => `${String(needle)} in\n${frame(r)}`,
  );
const settle = () => new Promise((r) => setTimeout(r, 150));

async function pinkSource(varDir: string): Promise<TuiSource> {
  const { source, readOnly } = await openSource({ env: { PINK_VAR_DIR: varDir }, commandTimeoutMs: 5000 });
  expect(readOnly).toBe(false);
  closers.push(() => source.close());
  return source;
}

describe('Dashboard (ink) over a running PINK', () => {
  beforeEach(async () => {
    h = await startHarness(
      view({
        health: health({
          clickhouse: {
            engine: 'server',
            reachable: false,
            spool_depth: 7,
            rows_written: 0,
            last_error: 'ECONNREFUSED',
          },
          // As pink run publishes them: legs in microseconds, slippage in bps.
          latency: { submit_to_ack_us: { orders: 3, p50: 30_463, p90: 215_912, max: 250_000 } },
          slippage: { vs_arrival_bps: { orders: 3, p50: 1.0492, p90: 2.1231, max: 2.5 } },
        }),
      }),
    );
    await serve(h);
  });

  it('shows posture, stage, position, capital and the health alerts from the published state', async () => {
    const r = render(<Dashboard source={await pinkSource(h.varDir)} refreshMs={50} staleAfterMs={15_000} />);
    await until(r, 'posture RUNNING');
    const f = frame(r);
    expect(f).toContain('PINK live state  namespace pink (DOLPHIN_STATE_PINK)');
    expect(f).toContain(`source pid ${process.pid} on 127.0.0.1:${h.server!.port}`);
    expect(f).toContain('stage OPEN');
    expect(f).toContain('SHORT BTCUSDT  size 0.5  entry 60,000');
    expect(f).toContain('capital 25,100.00  equity 25,110.00');
    expect(f).toContain('ROI realized 0.480 %');
    expect(f).toContain('ALERTS (2)');
    expect(f).toContain('!! clickhouse unreachable: engine server, reachable false, spool depth 7');
    expect(f).toContain('!  clickhouse spool depth 7: ledger rows waiting to be written');
    expect(f).toContain('FAIL clickhouse');
    expect(f).toContain('OK   state_bus');
    expect(f).toContain('HOLD   -          no signal');
    expect(f).toMatch(/latest orders\s+unit\s+orders\s+p50\s+p90\s+max/);
    expect(f).toMatch(/submit to ack\s+ms\s+3\s+30\.5\s+216\s+250\b/);
    expect(f).toMatch(/vs arrival\s+bps\s+3\s+1\.05\s+2\.12\s+2\.50/);
    expect(f).toContain('leverage 1.20x');
    expect(f).toContain('[p] pause  [r] resume  [f] flatten  [q] quit');
    expect(f).not.toContain('READ-ONLY');

    // A new publish reaches the screen on the next poll.
    await h.publisher.publish(view({ posture: 'PAUSED', paused: true, slot: null }));
    await until(r, 'posture PAUSED (paused)');
    expect(frame(r)).toContain('stage FLAT');
    expect(frame(r)).toContain('flat: the published slot is empty');
  });

  it("p asks for confirmation; 'n' sends nothing; 'y' offers PAUSE to pink_runtime_commands and shows the outcome", async () => {
    const r = render(<Dashboard source={await pinkSource(h.varDir)} refreshMs={50} staleAfterMs={15_000} />);
    await until(r, 'posture RUNNING');

    r.stdin.write('p');
    await until(r, 'Send PAUSE to pink_runtime_commands?');
    expect(frame(r)).toContain('[y/n]');
    await settle();
    expect(h.mem.queueSize(pink.commandQueue)).toBe(0);

    r.stdin.write('n');
    await until(r, 'PAUSE cancelled: nothing sent');
    expect(frame(r)).not.toContain('Send PAUSE');
    await settle();
    expect(h.mem.queueSize(pink.commandQueue)).toBe(0);

    r.stdin.write('p');
    await until(r, 'Send PAUSE to pink_runtime_commands?');
    r.stdin.write('y');
    await waitFor(
      () => h.mem.queueSize(pink.commandQueue) === 1,
      () => frame(r),
    );
    expect(frame(r)).toContain('sending PAUSE; waiting for its outcome');
    // Read the command from the real queue, then hand it to the real processor.
    const item = (await h.mem.queuePoll(pink.commandQueue))!;
    const command = JSON.parse(item) as Record<string, unknown>;
    expect(command).toMatchObject({ type: 'PAUSE', reason: 'pink tui' });
    expect(command.id).toMatch(/^ctl-\d+-[0-9a-f]{8}$/);
    expect(typeof command.issued_at).toBe('string');
    await h.mem.queueOffer(pink.commandQueue, item);
    await h.processor.poll();
    expect(h.rt.paused).toBe(true);
    await until(r, `outcome: APPLIED PAUSE id=${command.id}: paused: no new entries`);
  });

  it("f then 'y' sends FLATTEN; the position stays as published until the runtime publishes it closed", async () => {
    const loop = setInterval(() => void h.processor.poll(), 20);
    closers.push(async () => clearInterval(loop));
    const r = render(<Dashboard source={await pinkSource(h.varDir)} refreshMs={50} staleAfterMs={15_000} />);
    await until(r, 'stage OPEN');
    r.stdin.write('f');
    await until(r, 'Send FLATTEN to pink_runtime_commands? (close the open position now');
    r.stdin.write('y');
    await until(r, /outcome: APPLIED FLATTEN id=ctl-\S+: exit submitted/);
    expect(h.rt.flattens).toBe(1);
    expect(frame(r)).toContain('the position stays on screen until the runtime publishes it closed');
    await settle();
    expect(frame(r)).toContain('stage OPEN');
    expect(frame(r)).toContain('SHORT BTCUSDT  size 0.5');

    // r then y: RESUME reaches the runtime through the same path.
    r.stdin.write('r');
    await until(r, 'Send RESUME to pink_runtime_commands?');
    r.stdin.write('y');
    await until(r, /outcome: APPLIED RESUME id=ctl-\S+: already running; no change/);
  });

  it('q quits', async () => {
    let quit = 0;
    const r = render(
      <Dashboard
        source={await pinkSource(h.varDir)}
        refreshMs={50}
        staleAfterMs={15_000}
        onQuit={() => quit++}
      />,
    );
    await until(r, 'posture RUNNING');
    r.stdin.write('q');
    await waitFor(
      () => quit === 1,
      () => frame(r),
    );
  });

  it('the runtime going away raises the disconnected alert and keeps the last state on screen', async () => {
    const r = render(<Dashboard source={await pinkSource(h.varDir)} refreshMs={50} staleAfterMs={15_000} />);
    await until(r, 'posture RUNNING');
    await h.server!.close();
    h.server = null;
    await until(r, 'disconnected from the runtime');
    expect(frame(r)).toContain('posture RUNNING');
  });
});

describe('Dashboard on another namespace (blue): read-only', () => {
  it('says read-only, has no control keys, and p/r/f (and y) send nothing anywhere', async () => {
    const mem = new MemoryStateBus({ sweepMs: 0 });
    closers.push(() => mem.close());
    // BLUE's own writer (simulated): the TUI only reads these maps.
    await new StatePublisher({ bus: new GuardedStateBus(mem, new WriteGuard(blue)), ns: blue }).publish(
      view(),
    );
    let sends = 0;
    const spy = async (): Promise<CommandReport> => {
      sends++;
      return { status: 'APPLIED', type: 'PAUSE', id: 'x', reason: 'x', lines: [] };
    };
    const source = busSource({ bus: mem, ns: blue, where: 'in-process store', control: spy, owns: false });
    expect(source.control).toBeNull();
    const r = render(<Dashboard source={source} refreshMs={50} staleAfterMs={15_000} />);
    await until(r, 'posture RUNNING');
    expect(frame(r)).toContain(`BLUE live state  namespace blue (${blue.stateMap})`);
    expect(frame(r)).toContain(`READ-ONLY: blue surfaces (${blue.stateMap}) are shown read-only`);
    expect(frame(r)).toContain('[q] quit (read-only: no control keys)');
    expect(frame(r)).not.toContain('[p] pause');
    for (const key of ['p', 'y', 'r', 'y', 'f', 'y']) {
      r.stdin.write(key);
      await settle();
    }
    expect(frame(r)).toContain('read-only: FLATTEN not sent (blue cannot be controlled from PINK)');
    expect(frame(r)).not.toContain('[y/n]');
    expect(sends).toBe(0);
    expect(mem.queueSize(blue.commandQueue)).toBe(0);
    expect(mem.queueSize(pink.commandQueue)).toBe(0);
  });

  it('openSource for blue is read-only (no sender) and cannot write through its bus', async () => {
    const varDir = mkdtempSync(path.join(root, 'var-'));
    const { source, readOnly, ns } = await openSource({ strategy: 'blue', env: { PINK_VAR_DIR: varDir } });
    closers.push(() => source.close());
    expect(readOnly).toBe(true);
    expect(source.control).toBeNull();
    expect(ns.stateMap).toBe(blue.stateMap);
    const reading = await source.read();
    expect(reading).toMatchObject({
      kind: 'not-found',
      message: expect.stringContaining(
        `no BLUE runtime found (discovery file ${path.join(varDir, 'run', 'blue.json')}`,
      ),
    });
  });
});

describe('pink tui: no runtime', () => {
  it('exits 2 with "no PINK runtime found (discovery file ...)" unless --wait', async () => {
    const varDir = mkdtempSync(path.join(root, 'empty-'));
    const file = path.join(varDir, 'run', 'pink.json');
    const err = await prepareTui({}, { PINK_VAR_DIR: varDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    expect((err as CliError).message).toContain(
      `no PINK runtime found (discovery file ${file} does not exist)`,
    );

    // Through commander: the same message on stderr and exit code 2.
    const saved = process.env.PINK_VAR_DIR;
    const write = process.stderr.write;
    const errOut: string[] = [];
    process.env.PINK_VAR_DIR = varDir;
    process.stderr.write = ((t: string) => errOut.push(t) > 0) as typeof process.stderr.write;
    try {
      const program = new Command().exitOverride();
      register(program);
      await program.parseAsync(['tui', '--refresh-ms', '200'], { from: 'user' });
      expect(process.exitCode).toBe(2);
      expect(errOut.join('')).toContain('pink: no PINK runtime found (discovery file');
    } finally {
      process.stderr.write = write;
      process.env.PINK_VAR_DIR = saved;
      process.exitCode = 0;
    }
  });

  it('bad options exit 2', async () => {
    await expect(prepareTui({ refreshMs: 'fast' }, {})).rejects.toThrow(/--refresh-ms "fast"/);
    await expect(prepareTui({ strategy: 'prodpink' }, {})).rejects.toThrow(/prodpink/);
  });

  it('--wait shows the not-found message, then the runtime once it appears', async () => {
    h = await startHarness();
    const { opened, first, refreshMs } = await prepareTui(
      { wait: true, refreshMs: '100' },
      { PINK_VAR_DIR: h.varDir },
    );
    closers.push(() => opened.source.close());
    expect(first.kind).toBe('not-found');
    const r = render(
      <Dashboard source={opened.source} refreshMs={refreshMs} staleAfterMs={15_000} initial={first} />,
    );
    await until(r, 'no PINK runtime found (discovery file');
    expect(frame(r)).toContain('link not-found');
    await serve(h);
    await until(r, 'posture RUNNING');
    expect(frame(r)).toContain('link live');
    expect(frame(r)).not.toContain('no PINK runtime found');
  });
});
