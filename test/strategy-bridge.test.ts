/**
 * BLUE's own strategy code, unported (issue #20): a strategy in another process behind the
 * Strategy port, over the bridge protocol (src/strategy/process-strategy.ts). The Python
 * reference client with ALGORITHM.md written against it decides exactly like the built-in
 * blue-v7-ref (pink parity, pink replay); a child that exits, hangs, answers garbage or
 * answers another scan ends the bridge with an error naming it, never a decision.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commandArgv,
  ProcessStrategy,
  StrategyProcessError,
  strategyEnv,
} from '../src/adapters/strategy/process-strategy.js';
import { syntheticScanLines } from '../src/app/simtest/synthetic-scans.js';
import { strategyFor } from '../src/app/strategies.js';
import type { Scan } from '../src/domain/scan.js';
import { type CliResult, pink } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pink-bridge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PYTHON_REF = 'process:python3 bridges/python/blue_v7_ref.py';
const env = { PINK_VAR_DIR: join(dir, 'var'), PINK_CLICKHOUSE_DIR: join(dir, 'var', 'clickhouse') };

const config = (name: string, values: object) => {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ strategy: 'pink', ...values }));
  return path;
};

describe('the Python reference strategy over the bridge', () => {
  const data: Record<string, string> = {};
  beforeAll(() => {
    data.simulated = join(dir, 'simulated.jsonl');
    expect(
      pink(['simulate', '--scans', '3000', '--assets', '6', '--seed', '11', '--out', data.simulated], env)
        .code,
    ).toBe(0);
    // Adversarial: bad lines among the scans, assets that come and go, signals at the thresholds.
    for (const seed of [3, 17]) {
      data[`synthetic-${seed}`] = join(dir, `synthetic-${seed}.jsonl`);
      writeFileSync(
        data[`synthetic-${seed}`]!,
        `${syntheticScanLines({
          scans: 1500,
          seed,
          badLines: new Map([
            [40, '{"scan": "x"}'],
            [41, 'not json'],
          ]),
        }).join('\n')}\n`,
      );
    }
  }, 120_000);

  it('pink parity: every decision identical to the built-in blue-v7-ref, on simulated and adversarial streams', () => {
    const cfg = config('bridge', { algorithm: PYTHON_REF });
    for (const [name, file] of Object.entries(data)) {
      const out = join(dir, `parity-${name}`);
      const r = pink(
        ['parity', '--data', file, '--config', cfg, '--reference-algorithm', 'blue-v7-ref', '--out', out],
        env,
      );
      expect(r.code, `${name}: ${r.stderr}\n${r.stdout}`).toBe(0);
      expect(r.stdout, name).toMatch(/PARITY: (\d+)\/\1 identical \(100\.0000 %\)/);
    }
    // Venue overrides reach the process (rejects, external closes), and its memory, as it
    // journals it, realigns the built-in reference path: the same JSON shape both ways.
    const faulted = pink(
      [
        'parity',
        '--data',
        data.simulated!,
        '--config',
        cfg,
        '--reference-algorithm',
        'blue-v7-ref',
        '--faults',
        'rejects-and-closes',
        '--out',
        join(dir, 'parity-faults'),
      ],
      env,
    );
    expect(faulted.code, `${faulted.stderr}\n${faulted.stdout}`).toBe(0);
    expect(Number(/(\d+) excused \(venue-made\), 0 divergent/.exec(faulted.stdout)?.[1])).toBeGreaterThan(0);
    // The harness is not blind to the process: one parameter changed there is caught.
    const altered = config('altered', { algorithm: `${PYTHON_REF} '{"STOP_BPS": 200}'` });
    const r = pink(
      [
        'parity',
        '--data',
        data.simulated!,
        '--config',
        altered,
        '--reference-algorithm',
        'blue-v7-ref',
        '--out',
        join(dir, 'parity-altered'),
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/DIVERGENCE|diverg/i);
  }, 300_000);

  it('pink replay: the same trades and decision chain hash as the built-in strategy', () => {
    const summary = (r: CliResult) =>
      r.stdout.split('\n').filter((l) => /^(trades|decision chain hash|realized PnL|capital)/.test(l));
    const builtin = pink(['replay', '--data', data.simulated!, '--no-ledger'], env);
    const bridged = pink(
      [
        'replay',
        '--data',
        data.simulated!,
        '--no-ledger',
        '--config',
        config('replay', { algorithm: PYTHON_REF }),
      ],
      env,
    );
    expect(builtin.code, builtin.stderr).toBe(0);
    expect(bridged.code, bridged.stderr).toBe(0);
    expect(summary(bridged)).toEqual(summary(builtin));
    expect(summary(builtin).length).toBe(4);
  }, 300_000);
});

describe('a strategy process that misbehaves', () => {
  const scan = (n: number): Scan => ({
    ts: 1_000 * n,
    scan: n,
    vel_div: 0,
    vol_ok: true,
    assets: { BTCUSDT: { price: 100, irp: 0.9 } },
  });
  /** A node child: says hello (unless told not to), then answers per `behaviour`. */
  const child = (behaviour: string, hello = true) => {
    const path = join(dir, `child-${Math.random().toString(36).slice(2)}.mjs`);
    writeFileSync(
      path,
      `import { createInterface } from 'node:readline';
const out = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
${hello ? `out({ v: 1, type: 'hello', strategy: 'fake', params: {}, params_hash: 'x' });` : ''}
let n = 0;
createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line); n += 1;
  const ok = { v: 1, type: 'decision', id: req.id, record: { scan: req.scan?.scan, ts: req.scan?.ts, fired: false, action: 'NONE', asset: '', side: '', leverage: 0, reason: 'NO_SIGNAL', bars_held: 0 }, order: null, open_trade_id: null, state: { n } };
  ${behaviour}
});`,
    );
    return `process:node ${path}`;
  };
  const start = (spec: string) => ProcessStrategy.start(spec, { deadlineMs: 500, startMs: 2_000 });

  it('answers in order: decisions, the memory and the open trade travel with every answer', async () => {
    const s = await start(child('out(ok);'));
    expect(s.name).toBe('fake');
    expect((await s.decide(scan(1), { capital: 1 })).record.reason).toBe('NO_SIGNAL');
    expect((await s.decide(scan(2), { capital: 1 })).record.scan).toBe(2);
    expect(s.saveState()).toEqual({ n: 2 });
    expect(s.openTradeId()).toBeNull();
    await s.close();
  });

  const cases: Array<[string, string, RegExp, boolean?]> = [
    ['exits mid-run', 'if (n === 2) process.exit(3); out(ok);', /exited \(code 3\)/],
    ['hangs past the deadline', 'if (n < 2) out(ok);', /no answer to decide \(scan 2\) within 500 ms/],
    [
      'answers garbage',
      "if (n === 2) { process.stdout.write('{oops\\n'); return; } out(ok);",
      /answered a line that is not JSON: \{oops/,
    ],
    [
      'answers another scan',
      'if (n === 2) ok.record.scan = 99; out(ok);',
      /decision for scan 2: the record is for scan 99/,
    ],
    [
      'answers another request',
      'if (n === 2) ok.id = 7; out(ok);',
      /answered request 7 where 2 \(decide\) was next/,
    ],
    [
      'enters on an asset the scan does not have',
      "if (n === 2) Object.assign(ok.record, { action: 'ENTER', asset: 'XYZUSDT', side: 'SHORT' }); out(ok);",
      /ENTER on asset "XYZUSDT", not in the scan/,
    ],
    [
      'refuses with an error',
      "if (n === 2) { out({ v: 1, type: 'error', id: req.id, message: 'KeyError: vel_div' }); return; } out(ok);",
      /refused decide: KeyError: vel_div/,
    ],
  ];
  for (const [what, behaviour, message] of cases)
    it(`${what}: the bridge fails with an error naming it, and stays failed`, async () => {
      const s = await start(child(behaviour));
      await s.decide(scan(1), { capital: 1 });
      const err = await s.decide(scan(2), { capital: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StrategyProcessError);
      expect(String((err as Error).message)).toMatch(message);
      await expect(s.decide(scan(3), { capital: 1 })).rejects.toBe(err);
      await s.close();
    });

  it('no hello, a wrong protocol version, a command that cannot run: refused at start, named', async () => {
    await expect(start(child('out(ok);', false))).rejects.toThrow(/no hello within 2000 ms/);
    const v2 = join(dir, 'v2.mjs');
    writeFileSync(
      v2,
      "process.stdout.write(JSON.stringify({ v: 2, type: 'hello', strategy: 'x', params: {}, params_hash: 'h' }) + '\\n'); setInterval(() => {}, 1000);",
    );
    await expect(start(`process:node ${v2}`)).rejects.toThrow(/speaks protocol 2, PINK speaks 1/);
    await expect(start('process:/nonexistent/strategy --x')).rejects.toThrow(
      /could not run: spawn \/nonexistent\/strategy ENOENT/,
    );
    const crash = join(dir, 'crash.py');
    writeFileSync(
      crash,
      'import sys\nsys.stderr.write("ImportError: no module named blue\\n")\nsys.exit(1)\n',
    );
    await expect(start(`process:python3 ${crash}`)).rejects.toThrow(
      /exited \(code 1\); its stderr ended: ImportError: no module named blue/,
    );
  });

  it("secrets: the child never gets PINK's credentials, and errors quoting its command line or stderr mask them", async () => {
    const secret = 'sk-bridge-test-0123456789abcdef';
    const token = 'tok-bridge-test-fedcba9876543210';
    const env = {
      ...process.env,
      BINGX_API_SECRET: secret,
      BINGX_API_KEY: 'ak-bridge-test-00112233',
      PINK_OPS_TOKEN: token,
    };
    // The child prints every variable whose value is a secret PINK holds, then its own argv, and exits.
    const leak = join(dir, 'leak.py');
    writeFileSync(
      leak,
      `import os, sys\nseen = sorted(k for k, v in os.environ.items() if v in (${JSON.stringify(secret)}, ${JSON.stringify(token)}))\nsys.stderr.write("seen=" + ",".join(seen) + " argv=" + sys.argv[1] + "\\n")\nsys.exit(4)\n`,
    );
    const err = await ProcessStrategy.start(`process:python3 ${leak} ${secret}`, { env }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(StrategyProcessError);
    expect(err!.message).toMatch(/exited \(code 4\); its stderr ended: seen= argv=\[REDACTED\]/);
    expect(err!.message).not.toContain(secret);
    expect(err!.message).toContain(`${leak} [REDACTED]`); // the command line, as quoted
    expect(strategyEnv(env)).not.toHaveProperty('BINGX_API_KEY');
    expect(strategyEnv(env)).not.toHaveProperty('PINK_OPS_TOKEN');
    expect(strategyEnv(env).PATH).toBe(process.env.PATH);
    expect(() => commandArgv(`process:python3 x.py ${secret} | tee log`, env)).toThrow(
      /^algorithm "process:python3 x.py \[REDACTED\] \| tee log": /,
    );
  });

  it('algorithmParams beside a strategy process are refused (they would not reach it), naming them', async () => {
    await expect(strategyFor(PYTHON_REF, { STOP_BPS: 200, TP_BPS: 50 })).rejects.toThrow(
      /algorithmParams \(STOP_BPS, TP_BPS\) do not reach a strategy process; give them to its command/,
    );
    const data = join(dir, 'params-scans.jsonl');
    writeFileSync(data, `${syntheticScanLines({ scans: 5, seed: 3 }).join('\n')}\n`);
    const r = pink(
      [
        'replay',
        '--data',
        data,
        '--config',
        config('params', { algorithm: PYTHON_REF, algorithmParams: { STOP_BPS: 200 } }),
      ],
      env,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/algorithmParams \(STOP_BPS\) do not reach a strategy process/);
  });

  it('the command is a plain command with arguments: quotes are kept, shell operators refused', () => {
    expect(commandArgv(`process:python3 x.py '{"STOP_BPS": 200}'`)).toEqual([
      'python3',
      'x.py',
      '{"STOP_BPS": 200}',
    ]);
    expect(() => commandArgv('process:python3 x.py | tee log')).toThrow(/no shell operators such as \|/);
    expect(() => commandArgv('process:   ')).toThrow(/no command after "process:"/);
  });
});
