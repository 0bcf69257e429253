/**
 * The attack suite (issue #16): each guarantee attacked from every entry point of
 * test/support/entry-points.ts, as an adversary who read the README would. Every attack
 * must be refused with a message naming the problem and must leave nothing behind: the
 * var directory (spool, journal, discovery, embedded ClickHouse databases) stays empty.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { baseUrlProblem } from '../src/adapters/bingx/hosts.js';
import { FileJournal, MemoryJournal } from '../src/adapters/files/journal.js';
import { commandTokenPath } from '../src/adapters/statebus/command-token.js';
import { GuardedStateBus } from '../src/adapters/statebus/guarded.js';
import { MemoryStateBus } from '../src/adapters/statebus/memory.js';
import type { CommandOutcome } from '../src/app/control/commands.js';
import { CommandProcessor } from '../src/app/control/processor.js';
import { runtimeControl } from '../src/app/control/runtime-control.js';
import { simVenueFor } from '../src/app/replay.js';
import { Runtime } from '../src/app/runtime.js';
import { stateMapLease, takeLease } from '../src/app/runtime-lease.js';
import { offerCommandText } from '../src/cli/commands/ctl-commands.js';
import type { EventSink } from '../src/domain/events.js';
import { lookupNamespace, WriteGuard } from '../src/domain/namespaces.js';
import { commandOutcomeKey } from '../src/ports/state-bus.js';
import { loadStrategy } from '../src/strategy/loader.js';
import { openSource } from '../src/tui/source.js';
import { CLI, cliEnv, REPO } from './support/cli.js';
import { ACTING_COMMANDS, FOREIGN_STRATEGIES } from './support/entry-points.js';
import { leaseLifecycle } from './support/lease-lifecycle.js';
import { serveRuntime } from './support/serve-runtime.js';
import { InMemorySettlement } from './support/settlement.js';
import { until } from './support/wait.js';

const PINK = lookupNamespace('pink');
const root = mkdtempSync(join(tmpdir(), 'pink-attack-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const scans = join(root, 'scans.jsonl');
writeFileSync(scans, '');

/** Runs `pink` in a fresh var directory and returns what it printed and what it left there. */
function attack(args: readonly string[], env: Record<string, string>, extraArgs: string[] = []) {
  const varDir = mkdtempSync(join(root, 'var-'));
  const argv = [...args.map((a) => a.replace('{{SCANS}}', scans)), ...extraArgs];
  const r = spawnSync(process.execPath, [CLI, ...argv], {
    cwd: REPO,
    env: cliEnv(varDir, env),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout, left: readdirSync(varDir) };
}

function configFile(values: object): string {
  const file = join(mkdtempSync(join(root, 'cfg-')), 'pink.json');
  writeFileSync(file, JSON.stringify(values));
  return file;
}

describe('guarantee: PINK runs only as pink', () => {
  it.each(ACTING_COMMANDS.map((c) => [c.join(' '), c] as const))(
    '`pink %s` refuses every other namespace from the environment and the config file, before opening anything',
    (_name, args) => {
      for (const strategy of FOREIGN_STRATEGIES) {
        const r = attack(args, { DOLPHIN_STRATEGY_NAME: strategy });
        expect(r.stderr, `${strategy} via environment`).toContain(
          `DOLPHIN_STRATEGY_NAME (environment) names strategy "${strategy}"`,
        );
        expect(r.stderr).toContain('PINK runs only as "pink"');
        expect(r.code).toBe(2);
        expect(r.left).toEqual([]);
      }
      // The config file names BLUE while the environment says pink: the file is not ignored.
      const file = configFile({ strategy: 'blue' });
      const r = attack(args, { DOLPHIN_STRATEGY_NAME: 'pink' }, ['--config', file]);
      if (args[0] === 'simtest' || args[0] === 'soak') {
        // These take no --config: commander refuses the unknown option.
        expect(r.stderr).toContain("unknown option '--config'");
      } else {
        expect(r.stderr).toContain(`config file ${file} ("strategy") names strategy "blue"`);
      }
      expect(r.code).toBe(2);
      expect(r.left).toEqual([]);
    },
    120_000,
  );

  it('namespace overrides pointing at another surface are refused with the variable named', () => {
    const r = attack(['run', '--scans', '1'], { DOLPHIN_STATE_MAP: 'DOLPHIN_STATE_BLUE' });
    expect(r.stderr).toContain('DOLPHIN_STATE_MAP="DOLPHIN_STATE_BLUE" does not belong to strategy "pink"');
    expect(r.code).toBe(2);
    expect(r.left).toEqual([]);
  });

  it('read-only commands may read another namespace, but sources that disagree are refused', () => {
    const green = configFile({ strategy: 'green' });
    const r = attack(['config', 'show'], { DOLPHIN_STRATEGY_NAME: 'blue' }, ['--config', green]);
    expect(r.stderr).toContain(
      `DOLPHIN_STRATEGY_NAME (environment) names strategy "blue" but config file ${green} ("strategy") names "green"`,
    );
    expect(r.code).toBe(2);
    const shown = attack(['config', 'show'], { DOLPHIN_STRATEGY_NAME: 'blue' });
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout).strategy).toBe('blue');
    expect(shown.left).toEqual([]);
  });

  it('flag: `pink tui --strategy pink` under DOLPHIN_STRATEGY_NAME=blue is refused, --strategy blue is read-only', async () => {
    const varDir = mkdtempSync(join(root, 'var-'));
    await expect(
      openSource({ strategy: 'pink', env: { PINK_VAR_DIR: varDir, DOLPHIN_STRATEGY_NAME: 'blue' } }),
    ).rejects.toThrow(
      'flag --strategy names strategy "pink" but DOLPHIN_STRATEGY_NAME (environment) names "blue"',
    );
    const opened = await openSource({ strategy: 'blue', env: { PINK_VAR_DIR: varDir } });
    expect(opened.readOnly).toBe(true);
    await opened.source.close();
    expect(readdirSync(varDir)).toEqual([]);
  });
});

describe('guarantee: the bingx venue reaches only VST or a loopback simulator', () => {
  // Each is what a user might paste; each names (after parsing) a host that is not loopback.
  const hostile = [
    ['production BingX', 'https://open-api.bingx.com', 'host "open-api.bingx.com"'],
    ['user info before a foreign host', 'http://127.0.0.1@evil.invalid:80', 'carries user info'],
    ['user info with a password', 'http://localhost:pw@evil.invalid', 'carries user info'],
    ['a look-alike name', 'http://127.0.0.1.evil.invalid', 'host "127.0.0.1.evil.invalid"'],
    ['localhost as a subdomain', 'http://localhost.evil.invalid', 'host "localhost.evil.invalid"'],
    ['an IPv4-mapped IPv6 address', 'http://[::ffff:10.0.0.1]/', 'host "[::ffff:a00:1]"'],
    ['a fragment hiding the host', 'http://evil.invalid#@127.0.0.1', 'host "evil.invalid"'],
    ['a websocket scheme', 'ws://127.0.0.1:9', 'must be an http:// or https:// URL'],
  ] as const;

  it.each(hostile)(
    '%s from the environment: `pink run` and `ctl mode-verify` refuse it before any network call',
    (_n, url, why) => {
      for (const args of [
        ['run', '--venue', 'bingx', '--scans', '1'],
        ['ctl', 'mode-verify'],
      ]) {
        const r = attack(args, { PINK_BINGX_BASE_URL: url, BINGX_API_KEY: 'k', BINGX_API_SECRET: 's' });
        expect(r.stderr).toContain('PINK_BINGX_BASE_URL: bingx.baseUrl:');
        expect(r.stderr).toContain(why);
        expect(r.code).toBe(2);
        expect(r.left).toEqual([]);
      }
    },
  );

  it('from the config file, named as the file', () => {
    const file = configFile({ venue: 'bingx', bingx: { baseUrl: 'http://127.0.0.1@evil.invalid' } });
    const r = attack(['run', '--scans', '1'], {}, ['--config', file]);
    expect(r.stderr).toContain(`${file}: bingx.baseUrl: "http://127.0.0.1@evil.invalid" carries user info`);
    expect(r.code).toBe(2);
    expect(r.left).toEqual([]);
  });

  it('loopback in every spelling the URL parser normalises is accepted', () => {
    for (const url of [
      'http://127.0.0.1:18080',
      'http://127.1:9',
      'http://localhost:9/',
      'http://[::1]:9',
      'http://2130706433/',
    ])
      expect(baseUrlProblem(url), url).toBeNull();
  });
});

/** A runtime's control plane as `pink run` serves it (memory store, processor, state server, token). */
async function controlPlane() {
  const varDir = mkdtempSync(join(root, 'var-'));
  const mem = new MemoryStateBus();
  const bus = new GuardedStateBus(mem, new WriteGuard(PINK));
  const settlement = new InMemorySettlement();
  const rt = {
    paused: false,
    hasOpenPosition: true,
    capital: 25_000,
    flattened: 0,
    settle: (id: string, outcome: string) => settlement.settle(id, outcome),
    settled: () => settlement.settled(),
    async pause() {
      this.paused = true;
    },
    async resume() {
      this.paused = false;
    },
    flatten() {
      this.flattened++;
      return { accepted: true, reason: 'flattening' };
    },
    setCapital(amount: number) {
      this.capital = amount;
      return { accepted: true, reason: `capital ${amount}` };
    },
  };
  const processor = new CommandProcessor({ bus, ns: PINK, control: rt });
  const server = await serveRuntime(bus, varDir, PINK);
  let held = false;
  const loop = setInterval(() => held || void processor.poll(), 10);
  const tokenFile = commandTokenPath(join(varDir, 'run'), PINK);
  const close = async () => {
    clearInterval(loop);
    await server.close();
    await mem.close();
  };
  /** While held, the runtime reads no command (they wait in the queue). */
  const hold = (on: boolean) => {
    held = on;
  };
  return { varDir, mem, rt, server, tokenFile, close, hold };
}

describe('guarantee: the control plane obeys only its operator', () => {
  it('state server HTTP: a command without the credential, or with a wrong one, is refused and nothing is queued; state stays readable', async () => {
    const cp = await controlPlane();
    try {
      const post = (headers: Record<string, string>) =>
        fetch(`${cp.server.url}/queue/${PINK.commandQueue}`, {
          method: 'POST',
          headers,
          body: '{"id":"evil-1","type":"FLATTEN"}',
        });
      const none = await post({});
      expect(none.status).toBe(401);
      expect(await none.text()).toContain('no credential');
      const wrong = await post({ authorization: `Bearer ${'0'.repeat(64)}` });
      expect(wrong.status).toBe(401);
      expect(await wrong.text()).toContain('wrong credential');
      const basic = await post({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
      expect(basic.status).toBe(401);
      await new Promise((r) => setTimeout(r, 50));
      expect(cp.rt.flattened).toBe(0);
      expect(cp.mem.queueSize(PINK.commandQueue)).toBe(0);
      expect((await fetch(`${cp.server.url}/health`)).status).toBe(200);
      expect((await fetch(`${cp.server.url}/map/${PINK.stateMap}`)).status).toBe(200);
      // The owner's credential works.
      const token = readFileSync(cp.tokenFile, 'utf8').trim();
      expect((await post({ authorization: `Bearer ${token}` })).status).toBe(202);
    } finally {
      await cp.close();
    }
  });

  it('token file: created 0600; opened up to group or others, ctl and the runtime both refuse it', async () => {
    const cp = await controlPlane();
    try {
      expect(statSync(cp.tokenFile).mode & 0o777).toBe(0o600);
      chmodSync(cp.tokenFile, 0o644);
      const r = attack(['ctl', 'pause'], { PINK_VAR_DIR: cp.varDir });
      expect(r.stderr).toContain(
        `command token ${cp.tokenFile} has mode 644: group or others could command the runtime`,
      );
      expect(r.code).toBe(2);
      const token = readFileSync(cp.tokenFile, 'utf8').trim();
      const res = await fetch(`${cp.server.url}/queue/${PINK.commandQueue}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: '{"id":"p1","type":"PAUSE"}',
      });
      expect(res.status).toBe(500);
      expect(cp.rt.paused).toBe(false);
    } finally {
      await cp.close();
    }
  });

  it('rotation: after `pink ctl rotate-token` the old credential is refused and ctl works with the new one', async () => {
    const cp = await controlPlane();
    try {
      const old = readFileSync(cp.tokenFile, 'utf8').trim();
      const rotated = spawnSync(process.execPath, [CLI, 'ctl', 'rotate-token'], {
        cwd: REPO,
        env: cliEnv(cp.varDir),
        encoding: 'utf8',
      });
      expect(rotated.stdout).toContain(`command token rotated: ${cp.tokenFile}`);
      expect(statSync(cp.tokenFile).mode & 0o777).toBe(0o600);
      const res = await fetch(`${cp.server.url}/queue/${PINK.commandQueue}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${old}` },
        body: '{"id":"p2","type":"PAUSE"}',
      });
      expect(res.status).toBe(401);
      const ok = spawn(process.execPath, [CLI, 'ctl', 'set-capital', '30000.1'], {
        cwd: REPO,
        env: cliEnv(cp.varDir),
      });
      const code = await new Promise((r) => ok.on('exit', r));
      expect(code).toBe(0);
      expect(cp.rt.capital).toBe(30_000.1);
      expect(cp.rt.paused).toBe(false);
    } finally {
      await cp.close();
    }
  });

  it('ctl: numbers are decimal only (no 0x10, no 1.5 where an integer is expected), refused before anything is sent', () => {
    const cases: [string[], string][] = [
      [['ctl', 'set-capital', '0x10'], 'amount (USDT) "0x10" is not a decimal number'],
      [['ctl', 'set-capital', '0b11'], 'amount (USDT) "0b11" is not a decimal number'],
      [['ctl', 'set-capital', '--', '-5'], 'amount (USDT) "-5" must be greater than 0'],
      [['ctl', 'set-capital', 'Infinity'], 'amount (USDT) "Infinity" is not a decimal number'],
      [['ctl', 'pause', '--timeout', '1.5'], '--timeout "1.5" is not a whole decimal number'],
      [['ctl', 'pause', '--timeout', '0x10'], '--timeout "0x10" is not a whole decimal number'],
      [['run', '--scans', '1e3'], '--scans "1e3" is not a whole decimal number'],
      [['simtest', '--seeds', '0x2'], '--seeds "0x2" is not a whole decimal number'],
    ];
    for (const [args, message] of cases) {
      const r = attack(args, {});
      expect(r.stderr, args.join(' ')).toContain(message);
      expect(r.code).toBe(2);
      expect(r.left).toEqual([]);
    }
  });
});

describe('guarantee: exactly-once commands and a durable posture (real runtime)', () => {
  async function startRuntime(journal: MemoryJournal, sinks: EventSink[] = []) {
    const rt = new Runtime({
      namespace: 'pink',
      strategy: await loadStrategy('blue-v7-ref'),
      capital: 25_000,
      journal,
      makeVenue: (marks) => simVenueFor(marks),
      source: (async function* () {})(),
      sinks,
      log: () => {},
    });
    await rt.start();
    return rt;
  }

  it('PAUSE survives a crash and a restart until RESUME; SET_CAPITAL sets exactly the amount', async () => {
    const journal = new MemoryJournal();
    const mem = new MemoryStateBus({ sweepMs: 0 });
    const bus = new GuardedStateBus(mem, new WriteGuard(PINK));
    const send = async (rt: Runtime, text: string) => {
      await mem.queueOffer(PINK.commandQueue, text);
      return (await new CommandProcessor({ bus, ns: PINK, control: runtimeControl(rt) }).poll()).outcomes[0];
    };
    const first = await startRuntime(journal);
    expect((await send(first, '{"id":"p-1","type":"PAUSE"}'))?.status).toBe('APPLIED');
    expect((await send(first, '{"id":"c-1","type":"SET_CAPITAL","amount":25000.1}'))?.status).toBe('APPLIED');
    expect(first.account.capital).toBe(25_000.1);
    // kill -9: the first runtime is abandoned without a stop; its supervisor starts another.
    const second = await startRuntime(journal);
    expect(second.posture).toBe('PAUSED');
    expect(second.pipeline.paused).toBe(true);
    expect(second.account.capital).toBe(25_000.1);
    expect((await send(second, '{"id":"r-1","type":"RESUME"}'))?.status).toBe('APPLIED');
    const third = await startRuntime(journal);
    expect(third.posture).toBe('RUNNING');
    for (const rt of [first, second, third]) await rt.stop('test over');
    await mem.close();
  });

  it('a command checkpointed, then kill -9 before its outcome or removal: the next runtime publishes that outcome and does not apply it again', async () => {
    const journal = new MemoryJournal();
    const mem = new MemoryStateBus({ sweepMs: 0 });
    const adjusted: string[] = [];
    const sink: EventSink = (e) => {
      if (e.type === 'capital_adjusted') adjusted.push(`${e.commandId} ${e.delta}`);
    };
    // The first process dies right after the journal write: its outcome put never happens.
    const dying = new Proxy(new GuardedStateBus(mem, new WriteGuard(PINK)), {
      get(target, prop, receiver) {
        if (prop === 'mapPut')
          return async (map: string, key: string, value: string, ttl?: number) => {
            if (key.startsWith('command_outcome:')) throw new Error('kill -9');
            return target.mapPut(map, key, value, ttl);
          };
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    await mem.queueOffer(PINK.commandQueue, '{"id":"cap-9","type":"SET_CAPITAL","amount":27000}');
    const first = await startRuntime(journal, [sink]);
    const control = runtimeControl(first);
    await expect(new CommandProcessor({ bus: dying, ns: PINK, control }).poll()).rejects.toThrow('kill -9');
    expect(first.account.capital).toBe(27_000);
    expect(mem.queueSize(PINK.commandQueue)).toBe(1); // still queued: it was never removed

    const second = await startRuntime(journal, [sink]);
    const bus = new GuardedStateBus(mem, new WriteGuard(PINK));
    const r = await new CommandProcessor({ bus, ns: PINK, control: runtimeControl(second) }).poll();
    expect(r).toEqual({ outcomes: [], duplicates: ['cap-9'] });
    expect(mem.queueSize(PINK.commandQueue)).toBe(0);
    expect(second.account.capital).toBe(27_000);
    expect(adjusted).toEqual(['cap-9 2000']); // one capital change, by the first runtime only
    const outcome = JSON.parse(
      (await mem.mapGet(PINK.stateMap, commandOutcomeKey('cap-9')))!,
    ) as CommandOutcome;
    expect(outcome).toMatchObject({ id: 'cap-9', status: 'APPLIED', reason: 'capital 27000 (delta 2000)' });
    for (const rt of [first, second]) await rt.stop('test over');
    await mem.close();
  });

  it('a command id seen before is answered DUPLICATE with the first outcome, never APPLIED again', async () => {
    const cp = await controlPlane();
    const out: string[] = [];
    const io = { env: { PINK_VAR_DIR: cp.varDir }, out: (t: string) => out.push(t) };
    try {
      expect(await offerCommandText('{"id":"cap-1","type":"SET_CAPITAL","amount":26000}', {}, io)).toBe(0);
      expect(cp.rt.capital).toBe(26_000);
      // Same id, another amount: not sent, not applied; the first outcome is the answer.
      expect(await offerCommandText('{"id":"cap-1","type":"SET_CAPITAL","amount":1}', {}, io)).toBe(1);
      expect(out.at(-1)).toMatch(
        /^DUPLICATE SET_CAPITAL id=cap-1: handled before, not sent again; the first time: APPLIED SET_CAPITAL: capital 26000/,
      );
      expect(cp.rt.capital).toBe(26_000);
      // Once the first outcome has expired, the runtime itself answers DUPLICATE.
      await cp.mem.mapRemove(PINK.stateMap, commandOutcomeKey('cap-1'));
      expect(await offerCommandText('{"id":"cap-1","type":"SET_CAPITAL","amount":2}', {}, io)).toBe(1);
      expect(out.at(-1)).toMatch(/^DUPLICATE SET_CAPITAL id=cap-1: command id handled before/);
      expect(cp.rt.capital).toBe(26_000);
    } finally {
      await cp.close();
    }
  });
  it('two senders of one id at the same time, with different commands: the one applied says APPLIED, the other DUPLICATE', async () => {
    const cp = await controlPlane();
    const outs: string[][] = [[], []];
    try {
      cp.hold(true); // both check for an earlier outcome (none) and send before the runtime reads either
      const texts = [26_500, 27_500].map(
        (amount) => `{"id":"cap-race","type":"SET_CAPITAL","amount":${amount}}`,
      );
      const sends = texts.map((text, i) =>
        offerCommandText(
          text,
          { timeout: '10000' },
          {
            env: { PINK_VAR_DIR: cp.varDir },
            out: (t: string) => outs[i]!.push(t),
          },
        ),
      );
      await until('both items queued', 10_000, async () => cp.mem.queueSize(PINK.commandQueue) === 2);
      cp.hold(false);
      const codes = await Promise.all(sends);
      const applied = cp.rt.capital === 26_500 ? 0 : 1;
      expect(cp.rt.capital).toBe([26_500, 27_500][applied]);
      expect(codes[applied]).toBe(0);
      expect(outs[applied]!.at(-1)).toMatch(/^APPLIED SET_CAPITAL id=cap-race: capital/);
      expect(codes[1 - applied]).toBe(1);
      expect(outs[1 - applied]!.at(-1)).toMatch(
        /^DUPLICATE SET_CAPITAL id=cap-race: another command with this id was handled first, this one not applied; that one: APPLIED SET_CAPITAL/,
      );
    } finally {
      await cp.close();
    }
  });
});

describe('guarantee: one runtime per namespace', () => {
  /** `pink run` kept running (until killed) with its own environment; resolves once it trades. */
  async function holdRunning(env: Record<string, string>, cwd = REPO) {
    const child = spawn(process.execPath, [CLI, 'run', '--interval-ms', '200'], {
      cwd,
      env: { ...process.env, CI: '1', PINK_METRICS_PORT: '0', PINK_LOG_FORMAT: 'text', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr?.on('data', (b: Buffer) => {
      log += b.toString();
    });
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 60_000;
    while (!/ready/.test(log)) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`pink run did not become ready:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { child, exit, log: () => log };
  }

  it('holds across var directories, working directories and spellings of a path; a kill -9 leaves no stale lock', async () => {
    const base = mkdtempSync(join(root, 'lock-'));
    const shared = join(base, 'ledger');
    // Started from another working directory with a relative var directory.
    const first = await holdRunning({ PINK_VAR_DIR: 'a', PINK_CLICKHOUSE_DIR: shared }, base);
    try {
      const twin = attack(['run', '--scans', '1'], {
        PINK_VAR_DIR: join(base, 'a'),
        PINK_CLICKHOUSE_DIR: shared,
      });
      expect(twin.stderr).toContain(`already running on var directory ${realpathSync(join(base, 'a'))}`);
      expect(twin.code).toBe(2);
      // Another var directory, another working directory, the same embedded ledger.
      const other = attack(['run', '--scans', '1'], { PINK_CLICKHOUSE_DIR: shared });
      expect(other.stderr).toContain(
        `PINK runtime for namespace "pink" is already running on embedded ClickHouse ${realpathSync(shared)} (pid ${first.child.pid}`,
      );
      expect(other.code).toBe(2);
      // The same var directory spelled through a symlink and `..`.
      symlinkSync(join(base, 'a'), join(base, 'alias'));
      const spelled = attack(['run', '--scans', '1'], {
        PINK_VAR_DIR: join(base, 'alias', '..', 'alias'),
        PINK_CLICKHOUSE_DIR: join(base, 'other-ledger'),
      });
      expect(spelled.stderr).toContain(`already running on var directory ${realpathSync(join(base, 'a'))}`);
      expect(spelled.code).toBe(2);
    } finally {
      first.child.kill('SIGKILL');
      await first.exit;
    }
    // kill -9 left the informational file behind, naming a dead pid: it neither blocks nor is trusted.
    expect(existsSync(join(base, 'a', 'run', 'pink.lock'))).toBe(true);
    writeFileSync(join(base, 'a', 'run', 'pink.lock'), JSON.stringify({ pid: 1, host: 'container' }));
    const again = attack(['run', '--scans', '2', '--interval-ms', '50'], {
      PINK_VAR_DIR: join(base, 'a'),
      PINK_CLICKHOUSE_DIR: shared,
    });
    expect(again.stderr).not.toContain('already running');
    expect(again.code, again.stderr).toBe(0);
  }, 120_000);

  it('across hosts sharing a state cluster: a live lease refuses, an expired one is taken over, a released one is free', async () => {
    const bus = new MemoryStateBus({ sweepMs: 0 });
    const store = stateMapLease(bus, PINK);
    expect(store.where).toBe('DOLPHIN_STATE_PINK[runtime_lease]');
    await leaseLifecycle(store, PINK);
    await bus.close();
  });

  it('a renewal in flight when the lease is released does not hold it again (a clean stop frees the namespace)', async () => {
    const mem = new MemoryStateBus({ sweepMs: 0 });
    // A cluster that answers writes slowly: the renewal is still on its way when release starts.
    let slow = 0;
    const bus = new Proxy(mem, {
      get(target, prop, receiver) {
        if (prop === 'mapPut')
          return async (...args: Parameters<MemoryStateBus['mapPut']>) => {
            await new Promise((r) => setTimeout(r, slow));
            return target.mapPut(...args);
          };
        return Reflect.get(target, prop, receiver);
      },
    });
    const holder = { pid: 1, host: 'host-a', varDir: '/var/lib/pink', startedAt: '2026-12-06T00:00:00Z' };
    const a = await takeLease({
      store: stateMapLease(bus, PINK),
      ns: PINK,
      holder,
      ttlMs: 15_000,
      settleMs: 0,
    });
    slow = 50;
    const renewing = a.renew();
    await a.release();
    await renewing;
    await a.renew(); // a tick of the renewal timer after the release changes nothing
    const b = await takeLease({
      store: stateMapLease(bus, PINK),
      ns: PINK,
      holder: { ...holder, host: 'host-b' },
      ttlMs: 15_000,
      settleMs: 0,
    });
    // Taken, not refused as held (the released record may already have expired).
    expect(b.release).toBeTypeOf('function');
    await mem.close();
  });
});

describe('inputs that can hurt', () => {
  it('unknown strategy parameters are refused with the list of known ones (--pink-param, algorithmParams)', () => {
    const flag = attack(['parity', '--data', scans, '--pink-param', 'STOPBPS=1'], {});
    expect(flag.stderr).toContain('unknown blue-v7-ref parameter "STOPBPS" (known: VEL_DIV_THRESHOLD');
    expect(flag.stderr).toContain('STOP_BPS');
    expect(flag.code).toBe(2);
    const file = configFile({ algorithmParams: { STOP_BPS: 100, MAX_HOLD: 5 } });
    const cfg = attack(['replay', '--data', scans], {}, ['--config', file]);
    expect(cfg.stderr).toContain('unknown blue-v7-ref parameter "MAX_HOLD" (known:');
    expect(cfg.code).toBe(2);
    expect(cfg.left).toEqual([]);
  });
});

describe('inputs that can hurt: journal, spool, paths, terminals', () => {
  const goodScan = (n: number, ts: unknown = 1_767_225_600_000 + n * 5000) =>
    JSON.stringify({
      ts,
      scan: n,
      vel_div: 0.01,
      vol_ok: true,
      assets: { BTCUSDT: { price: 90_000 + n, irp: 0.5 } },
    });

  it('journal: a field of the wrong type is refused with its name, never traded on', async () => {
    const dir = mkdtempSync(join(root, 'journal-'));
    const file = join(dir, 'pink-journal.json');
    const base = {
      version: 1,
      namespace: 'pink',
      strategyName: 'blue-v7-ref',
      savedAt: 1,
      lastScan: null,
      chainHash: '',
      strategyState: null,
      trade: null,
      account: {
        initial: 25_000,
        realized: 0,
        fees: 0,
        funding: 0,
        adjustments: 0,
        qty: 0,
        avgEntry: 0,
        mark: 0,
        ts: 0,
      },
      venuePositions: [],
    };
    writeFileSync(file, JSON.stringify(base));
    expect(await new FileJournal(file).load()).toMatchObject({ namespace: 'pink' });
    writeFileSync(file, JSON.stringify({ ...base, account: { ...base.account, realized: '120.5' } }));
    await expect(new FileJournal(file).load()).rejects.toThrow(
      `journal ${file}: field "account.realized": Invalid input: expected number, received string; refusing to trade on it`,
    );
    writeFileSync(file, JSON.stringify({ ...base, venuePositions: [['BTCUSDT', 'lots']] }));
    await expect(new FileJournal(file).load()).rejects.toThrow('field "venuePositions.0.1"');
    writeFileSync(file, JSON.stringify(base));
    writeFileSync(
      `${file}.intents`,
      `${JSON.stringify({ clientOrderId: 'pk1', tradeId: 't', asset: 'BTCUSDT', purpose: 'ENTRY', side: 'SELL', qty: '1', reason: '', leg: 0, attempt: 0, final: false, referencePrice: 1, ts: 1 })}\n{"cut short`,
    );
    await expect(new FileJournal(file).intents()).rejects.toThrow(
      `journal intents ${file}.intents line 1: field "qty"`,
    );
  });

  it('an output equal to an input is refused (replay --decisions = --data, also through a symlink); the input is intact', () => {
    const data = join(mkdtempSync(join(root, 'paths-')), 'scans.jsonl');
    writeFileSync(data, `${goodScan(1)}\n`);
    const same = attack(['replay', '--data', data, '--decisions', data], {});
    expect(same.stderr).toContain(`--decisions ${data} is the same file as --data ${data}`);
    expect(same.code).toBe(2);
    const link = `${data}.link`;
    symlinkSync(data, link);
    const linked = attack(['replay', '--data', data, '--decisions', link], {});
    expect(linked.stderr).toContain('is the same file as --data');
    expect(readFileSync(data, 'utf8')).toBe(`${goodScan(1)}\n`);
    expect(same.left).toEqual([]);
  });

  it('a --decisions path that cannot be written is refused before the replay, naming the flag (no crash)', () => {
    const dir = mkdtempSync(join(root, 'decisions-'));
    const data = join(dir, 'scans.jsonl');
    writeFileSync(data, `${goodScan(1)}\n`);
    const r = attack(['replay', '--data', data, '--decisions', dir], {});
    expect(r.stderr).toContain(`--decisions: decision log ${dir}: cannot write it (EISDIR`);
    expect(r.stderr).not.toContain('    at ');
    expect(r.code).toBe(2);
    expect(readFileSync(data, 'utf8')).toBe(`${goodScan(1)}\n`);
  });

  it('a decision log that cannot be written in full (a full disk) fails the replay, and the ledger still has every row', () => {
    const dir = mkdtempSync(join(root, 'decisions-full-'));
    const data = join(dir, 'scans.jsonl');
    writeFileSync(data, `${goodScan(1)}\n${goodScan(2)}\n`);
    const r = attack(['replay', '--data', data, '--decisions', '/dev/full'], {});
    expect(r.stderr).toContain('--decisions: decision log /dev/full: writing it failed (ENOSPC');
    expect(r.stderr).toContain('it is incomplete');
    expect(r.stdout).toMatch(/ledger .* \d+ rows written, spool depth 0/);
    expect(r.code).toBe(1);
  });

  it('a file of only bad scans is not success (exit 1)', () => {
    const data = join(mkdtempSync(join(root, 'bad-')), 'scans.jsonl');
    writeFileSync(data, `${goodScan(1, 'soon')}\n{"ts":\n`);
    const r = attack(['replay', '--data', data, '--no-ledger'], {});
    expect(r.stderr).toContain(`${data}: none of its 2 scans was valid`);
    expect(r.code).toBe(1);
  });

  it('spool: a batch naming a table outside the schema is quarantined and does not block the batches after it', () => {
    const varDir = mkdtempSync(join(root, 'var-'));
    const spool = join(varDir, 'spool');
    mkdirSync(spool, { recursive: true });
    writeFileSync(
      join(spool, '000000000001.jsonl'),
      `${JSON.stringify({ database: 'dolphin_pink', table: 'users', token: 't1', rows: 1 })}\n{"name":"x"}\n`,
    );
    const data = join(varDir, 'scans.jsonl');
    writeFileSync(data, `${goodScan(1)}\n${goodScan(2)}\n`);
    const r = attack(['replay', '--data', data], { PINK_VAR_DIR: varDir });
    expect(r.stdout).toContain('scans accepted      2');
    expect(r.code).toBe(0);
    expect(existsSync(join(spool, 'rejected', '000000000001.jsonl'))).toBe(true);
    expect(readdirSync(spool).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
  });

  it('terminal control characters from input are shown escaped, never sent raw to the terminal', () => {
    const r = attack(['ctl', 'set-capital', '\u001b[2J\u001b]0;owned\u0007'], {});
    const raw = [...r.stderr].filter((c) => c.charCodeAt(0) < 32 && c !== '\n' && c !== '\t');
    expect(raw).toEqual([]);
    expect(r.stderr).toContain('\\u{1b}[2J\\u{1b}]0;owned\\u{7}');
    const cfg = attack(['config', 'show'], { PINK_CAPITAL: '1\u001b[31m' });
    expect(cfg.stderr).toContain('PINK_CAPITAL="1\\u{1b}[31m" is not a number');
  });

  it('pink run --data validates ts as replay does and logs each rejected scan with its line', () => {
    const varDir = mkdtempSync(join(root, 'var-'));
    const data = join(varDir, 'scans.jsonl');
    writeFileSync(data, `${goodScan(1)}\n${goodScan(2, 'late')}\n${goodScan(3)}\n${goodScan(4)}\n`);
    const r = attack(['run', '--data', data, '--scans', '3', '--interval-ms', '10', '--log-format', 'text'], {
      PINK_VAR_DIR: varDir,
    });
    expect(r.stderr).toContain(`scan rejected at ${data}:2: "ts" must be an integer (epoch ms), got "late"`);
    expect(r.stderr).not.toMatch(/scan rejected at [^\n]*:[134]:/);
    expect(r.code).toBe(0);
  });
});

describe('honest failure reporting', () => {
  /** Gone or a zombie waiting for init to reap it: the process runs no more. */
  const runs = (pid: number) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };

  it('errors name the file and the cause: a directory, a truncated gzip with how far it got', () => {
    const dir = mkdtempSync(join(root, 'files-'));
    const asDir = attack(['replay', '--data', dir, '--no-ledger'], {});
    expect(asDir.stderr).toContain(`${dir}: is a directory, not a file`);
    expect(asDir.code).toBe(2);
    const lines = Array.from({ length: 4000 }, (_, i) =>
      JSON.stringify({
        ts: 1_767_225_600_000 + i,
        scan: i + 1,
        vel_div: 0.01,
        vol_ok: true,
        assets: { BTCUSDT: { price: 90_000 + (i % 97), irp: 0.5 } },
      }),
    ).join('\n');
    const gz = gzipSync(`${lines}\n`);
    const cut = join(dir, 'cut.jsonl.gz');
    writeFileSync(cut, gz.subarray(0, Math.floor(gz.length / 2)));
    const r = attack(['replay', '--data', cut, '--no-ledger'], {});
    expect(r.stderr).toMatch(
      new RegExp(
        `${cut.replaceAll('.', '\\.')}: gzip data truncated or corrupt \\(unexpected end of file\\) after \\d+ bytes read, \\d+ lines complete`,
      ),
    );
    expect(r.code).toBe(2);
  });

  it('secrets in CLICKHOUSE_URL user info appear nowhere: config show, errors, logs', () => {
    const url = 'http://pink:s3cret-in-url@127.0.0.1:9';
    const shown = attack(['config', 'show'], { CLICKHOUSE_URL: url });
    expect(shown.stdout).toContain('"url": "http://[redacted]@127.0.0.1:9"');
    const run = attack(['run', '--scans', '1'], { CLICKHOUSE_URL: url });
    expect(run.code).not.toBe(0);
    expect(`${run.stdout}${run.stderr}`).not.toContain('s3cret-in-url');
  });

  it('a broken pipe ends quietly; a parity child dies with its parent', async () => {
    const docs = spawn(process.execPath, [CLI, 'config', 'docs'], { cwd: REPO, env: cliEnv(root) });
    docs.stdout.destroy();
    let err = '';
    docs.stderr.on('data', (b: Buffer) => {
      err += String(b);
    });
    expect(await new Promise((r) => docs.on('exit', r))).toBe(0);
    expect(err).toBe('');

    const fifo = join(mkdtempSync(join(root, 'fifo-')), 'scans.fifo');
    spawnSync('mkfifo', [fifo]);
    const parent = spawn(
      process.execPath,
      [CLI, 'parity', '--data', fifo, '--out', join(root, 'parity-out')],
      {
        cwd: REPO,
        // The re-run with a larger young generation is asked for (off by default).
        env: { ...cliEnv(mkdtempSync(join(root, 'var-'))), PINK_BULK_SEMI_SPACE_MB: '64' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let child: number | null = null;
    for (let i = 0; i < 100 && child === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const found = spawnSync('pgrep', ['-P', String(parent.pid)], { encoding: 'utf8' }).stdout.trim();
      child = found ? Number(found.split('\n')[0]) : null;
    }
    expect(child).not.toBeNull();
    parent.kill('SIGKILL');
    for (let i = 0; i < 50 && runs(child!); i++) await new Promise((r) => setTimeout(r, 100));
    expect(
      runs(child!),
      (() => {
        try {
          return readFileSync(`/proc/${child}/stat`, 'utf8');
        } catch {
          return 'gone';
        }
      })(),
    ).toBe(false);
  }, 30_000);
});

/**
 * As another local user (nobody), the way root can act as one (setpriv): what the runtime
 * owner's 0600 files refuse them. Not root (a developer's machine): skipped, since one user
 * cannot be another without it; CI runs as root.
 */
const IS_ROOT = process.getuid?.() === 0;
function asNobody(args: readonly string[], env: Record<string, string>) {
  const varDir = mkdtempSync(join(root, 'nobody-'));
  chownSync(varDir, 65534, 65534);
  chmodSync(root, 0o755); // mkdtemp made it 0700: nobody must reach what is meant to be readable
  const r = spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, CLI, ...args],
    { cwd: REPO, env: cliEnv(varDir, env), encoding: 'utf8', timeout: 60_000 },
  );
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe.skipIf(!IS_ROOT)('another local user (EACCES), acting as nobody', () => {
  it("cannot read the runtime owner's 0600 command token: ctl is refused, nothing is queued", async () => {
    const cp = await controlPlane();
    try {
      // The discovery file and the read-only state are for anyone on the host.
      for (const d of [cp.varDir, join(cp.varDir, 'run')]) chmodSync(d, 0o755);
      const r = asNobody(['ctl', 'pause'], { PINK_VAR_DIR: cp.varDir });
      expect(r.stderr).toContain(
        `command token ${cp.tokenFile}: permission denied (commands are for the runtime's owner only)`,
      );
      expect(r.code).toBe(2);
      expect(cp.mem.queueSize(PINK.commandQueue)).toBe(0);
      expect(cp.rt.paused).toBe(false);
    } finally {
      await cp.close();
    }
  });

  it('a scan file or config file they cannot read: refused naming the file and the cause, exit 2', () => {
    const dir = mkdtempSync(join(root, 'owner-'));
    chmodSync(dir, 0o755);
    const data = join(dir, 'scans.jsonl');
    copyFileSync(scans, data);
    chmodSync(data, 0o600);
    const replay = asNobody(['replay', '--data', data], {});
    expect(replay.stderr).toContain(`${data}: permission denied`);
    expect(replay.code).toBe(2);
    const cfg = join(dir, 'pink.json');
    writeFileSync(cfg, '{}', { mode: 0o600 });
    const run = asNobody(['replay', '--data', scans, '--config', cfg], {});
    expect(run.stderr).toContain(`cannot read config file ${cfg}: EACCES: permission denied`);
    expect(run.code).toBe(2);
  });
});
