/**
 * `pink ctl pause|resume|flatten|set-capital|send` against a real in-process runtime
 * harness: MemoryStateBus behind the namespace guard, a CommandProcessor polling it,
 * the loopback state server and the discovery file, all on 127.0.0.1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDiscovery, writeDiscovery } from '../src/adapters/statebus/discovery.js';
import { GuardedStateBus } from '../src/adapters/statebus/guarded.js';
import { MemoryStateBus } from '../src/adapters/statebus/memory.js';
import { RemoteStateBus } from '../src/adapters/statebus/remote.js';
import type { StateServer } from '../src/adapters/statebus/state-server.js';
import { CommandProcessor, type RuntimeControl } from '../src/app/control/processor.js';
import {
  commandTextFromJson,
  type OperatorCliIo,
  offerCommandText,
  register,
  sendOperatorCommand,
} from '../src/cli/commands/ctl-commands.js';
import { CliError } from '../src/cli/errors.js';
import { lookupNamespace, WriteGuard } from '../src/domain/namespaces.js';
import { serveRuntime } from './support/serve-runtime.js';
import { InMemorySettlement } from './support/settlement.js';

const pink = lookupNamespace('pink');
const root = mkdtempSync(path.join(os.tmpdir(), 'pink-ctl-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

class SmallRuntime extends InMemorySettlement implements RuntimeControl {
  paused = false;
  hasOpenPosition = false;
  capital = 25_000;
  async pause() {
    this.paused = true;
  }
  async resume() {
    this.paused = false;
  }
  flatten() {
    this.hasOpenPosition = false;
    return { accepted: true, reason: 'exit submitted' };
  }
  setCapital(amount: number) {
    this.capital = amount;
    return { accepted: true, reason: `capital set to ${amount}` };
  }
}

let varDir: string;
let mem: MemoryStateBus;
let server: StateServer;
let loop: NodeJS.Timeout | null;
let rt: SmallRuntime;
let out: string[];
let io: OperatorCliIo;

async function startRuntime(polling = true) {
  mem = new MemoryStateBus();
  const bus = new GuardedStateBus(mem, new WriteGuard(pink));
  rt = new SmallRuntime();
  const proc = new CommandProcessor({ bus, ns: pink, control: rt });
  server = await serveRuntime(bus, varDir, pink);
  loop = polling ? setInterval(() => void proc.poll(), 10) : null;
}

beforeEach(async () => {
  varDir = mkdtempSync(path.join(root, 'var-'));
  out = [];
  io = { env: { PINK_VAR_DIR: varDir }, out: (t) => out.push(t) };
  await startRuntime();
});
afterEach(async () => {
  if (loop) clearInterval(loop);
  await server.close();
  await mem.close();
});

const cmd = (type: string, extra: Record<string, unknown> = {}) =>
  ({ id: `t-${Math.random().toString(36).slice(2)}`, type, ...extra }) as Parameters<
    typeof sendOperatorCommand
  >[0];

describe('pink ctl operator commands', () => {
  it('pause: prints the applied outcome and exits 0', async () => {
    const c = cmd('PAUSE');
    expect(await sendOperatorCommand(c, {}, io)).toBe(0);
    expect(rt.paused).toBe(true);
    expect(out.join('')).toContain(`sent PAUSE id=${c.id} to pink_runtime_commands (pid ${process.pid}`);
    expect(out.join('')).toContain(`APPLIED PAUSE id=${c.id}: paused: no new entries`);
  });

  it('flatten when flat: prints the refusal and exits 1', async () => {
    expect(await sendOperatorCommand(cmd('FLATTEN'), {}, io)).toBe(1);
    expect(out.join('')).toMatch(/REFUSED FLATTEN id=t-\w+: no open position to flatten/);
  });

  it('set-capital through commander: the amount reaches the runtime', async () => {
    const saved = process.env.PINK_VAR_DIR;
    const write = process.stdout.write;
    process.env.PINK_VAR_DIR = varDir;
    process.stdout.write = ((t: string) => out.push(t) > 0) as typeof process.stdout.write;
    try {
      const program = new Command().exitOverride();
      register(program);
      await program.parseAsync(['ctl', 'set-capital', '30000.5', '--reason', 'top-up', '--timeout', '3000'], {
        from: 'user',
      });
      expect(process.exitCode).toBe(0);
      expect(rt.capital).toBe(30_000.5);
      expect(out.join('')).toContain('APPLIED SET_CAPITAL');
      expect(JSON.parse((await mem.mapGet(pink.stateMap, pink.capitalMirrorKey))!)).toMatchObject({
        amount: 30_000.5,
        reason: 'top-up',
      });
    } finally {
      process.stdout.write = write;
      process.env.PINK_VAR_DIR = saved;
      process.exitCode = 0;
    }
  });

  it('send: the text goes to the runtime as written (an id added in front when missing); the runtime judges it', async () => {
    const text = commandTextFromJson('{"type":"CAPITAL_UPDATE","amount":26000}');
    expect(text).toMatch(/^\{"id":"ctl-[^"]+","type":"CAPITAL_UPDATE","amount":26000\}$/);
    expect(await offerCommandText(text, {}, io)).toBe(0);
    expect(rt.capital).toBe(26_000);
    // A key written twice reaches the runtime's duplicate-key check: refused there, not applied as SET_CAPITAL.
    const twice = '{"id":"twice-1","type":"PAUSE","type":"SET_CAPITAL","amount":1}';
    expect(commandTextFromJson(twice)).toBe(twice);
    expect(await offerCommandText(twice, {}, io)).toBe(1);
    expect(out.join('')).toMatch(/REFUSED \? id=twice-1: invalid command: .*"type".*twice/);
    expect(rt.capital).toBe(26_000);
    expect(rt.paused).toBe(false);
    expect(await offerCommandText('{"id":"force-1","type":"PAUSE","force":true}', {}, io)).toBe(1);
    expect(out.join('')).toMatch(/REFUSED PAUSE id=force-1: invalid command: .*force/);
    expect(() => commandTextFromJson('{oops')).toThrow(/not JSON/);
    expect(() => commandTextFromJson('[1]')).toThrow(/must be a JSON object/);
    expect(commandTextFromJson(' { } ')).toMatch(/^ \{"id":"ctl-[^"]+" \} $/);
  });

  it('no outcome in time: exit 1 naming the id and the timeout; the command stays queued', async () => {
    clearInterval(loop!);
    loop = null;
    const c = cmd('PAUSE');
    const err = await sendOperatorCommand(c, { timeout: '200' }, io).catch((e: CliError) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(1);
    expect((err as CliError).message).toContain(`no outcome for ${c.id} within 200 ms`);
    expect(mem.queueSize(pink.commandQueue)).toBe(1);
  });

  it('no discovery file / stale pid / bad --timeout: exit 2 with the reason', async () => {
    const empty = { env: { PINK_VAR_DIR: path.join(root, 'nothing-here') }, out: () => {} };
    await expect(sendOperatorCommand(cmd('PAUSE'), {}, empty)).rejects.toThrow(
      /no running PINK found for strategy "pink": .*nothing-here\/run\/pink\.json does not exist/,
    );
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    await writeDiscovery(path.join(varDir, 'run'), pink, {
      pid: dead,
      statePort: server.port,
      startedAt: 'then',
    });
    await expect(sendOperatorCommand(cmd('PAUSE'), {}, io)).rejects.toThrow(
      new RegExp(`stale discovery file .*: process ${dead} is not running`),
    );
    await expect(sendOperatorCommand(cmd('PAUSE'), { timeout: 'soon' }, io)).rejects.toThrow(
      /--timeout "soon"/,
    );
    await expect(
      sendOperatorCommand(
        cmd('PAUSE'),
        {},
        { env: { PINK_VAR_DIR: varDir, DOLPHIN_STRATEGY_NAME: 'prodpink' }, out: () => {} },
      ),
    ).rejects.toThrow(/prodpink/);
  });

  it('HAZELCAST_MEMBERS set but unreachable: exit 2 naming the members', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const env = { HAZELCAST_MEMBERS: `127.0.0.1:${port}` };
    const err = await sendOperatorCommand(cmd('PAUSE'), { timeout: '300' }, { env, out: () => {} }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    expect((err as CliError).message).toContain(
      `cannot reach Hazelcast members 127.0.0.1:${port} (cluster "dev")`,
    );
  });
});

/** A separate process playing the runtime: in-process store, processor, state server, discovery file. */
const CHILD = `
import { removeDiscovery } from './src/adapters/statebus/discovery.js';
import { serveRuntime } from './test/support/serve-runtime.js';
import { GuardedStateBus } from './src/adapters/statebus/guarded.js';
import { MemoryStateBus } from './src/adapters/statebus/memory.js';
import { CommandProcessor } from './src/app/control/processor.js';
import { lookupNamespace, WriteGuard } from './src/domain/namespaces.js';
import { InMemorySettlement } from './test/support/settlement.js';
const ns = lookupNamespace('pink');
const bus = new GuardedStateBus(new MemoryStateBus(), new WriteGuard(ns));
const control = { paused: false, hasOpenPosition: false,
  async pause() { this.paused = true; }, async resume() { this.paused = false; },
  flatten() { return { accepted: false, reason: 'flat' }; },
  setCapital(a) { return { accepted: true, reason: 'capital set to ' + a }; } };
const settlement = new InMemorySettlement();
control.settle = (id, outcome) => settlement.settle(id, outcome);
control.settled = () => settlement.settled();
const proc = new CommandProcessor({ bus, ns, control });
const server = await serveRuntime(bus, process.env.VAR_DIR, ns);
const dir = process.env.RUN_DIR;
const loop = setInterval(() => void proc.poll(), 10);
process.stdout.write('ready\\n');
process.on('SIGTERM', async () => {
  clearInterval(loop);
  await removeDiscovery(dir, ns);
  await server.close();
  process.exit(0);
});
`;

describe('across processes', () => {
  it('pink ctl reaches a runtime in another process through its discovery file and state server', async () => {
    const runDir = path.join(varDir, 'run');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, RUN_DIR: runDir, VAR_DIR: varDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d) => String(d).includes('ready') && resolve());
        child.on('exit', () => reject(new Error(`child exited early: ${stderr}`)));
      });
      const found = await readDiscovery(runDir, pink);
      expect(found?.pid).toBe(child.pid);
      const c = cmd('SET_CAPITAL', { amount: 40_000 });
      expect(await sendOperatorCommand(c, { timeout: '5000' }, io)).toBe(0);
      expect(out.join('')).toContain(`APPLIED SET_CAPITAL id=${c.id}: capital set to 40000`);
      const remote = new RemoteStateBus({ baseUrl: `http://127.0.0.1:${found!.statePort}`, ns: pink });
      expect(JSON.parse((await remote.mapGet(pink.stateMap, pink.capitalMirrorKey))!)).toMatchObject({
        amount: 40_000,
      });
      expect(await sendOperatorCommand(cmd('FLATTEN'), {}, io)).toBe(1);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    expect(await readDiscovery(runDir, pink)).toBeNull();
  });
});
