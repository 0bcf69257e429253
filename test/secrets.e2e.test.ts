/**
 * Secrets never leave the process (issue #5 item 4): a full `pink run` through ccxt
 * against the loopback BingX simulator, with order rejects (errors), a failed start
 * with wrong credentials, `pink ctl status` and `pink report`, then every log line, every
 * file under the var directory, every ClickHouse row and every error is scanned for
 * the API key and secret.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BingxSim, startBingxSim } from '../src/adapters/bingx/sim-server.js';
import { writeSyntheticScans } from '../src/app/simtest/synthetic-scans.js';
import { genericContract } from '../src/app/venues.js';
import { CLI, cliEnv, REPO } from './support/cli.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
const KEY = 'SECRETSCANkey7f3a9c1e5b2d8f4a6c0e1b3d5f7a9c2e';
const SECRET = 'SECRETSCANsecret0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b';
// Shorter fragments catch a partially printed secret too.
const NEEDLES = [KEY, SECRET, KEY.slice(10, 30), SECRET.slice(16, 40)];

let sim: BingxSim;
const dir = mkdtempSync(join(tmpdir(), 'pink-secrets-'));
const varDir = join(dir, 'var');
const data = join(dir, 'scans.jsonl');

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return cliEnv(varDir, {
    PINK_BINGX_BASE_URL: sim.url,
    PINK_BINGX_POLL_MS: '40',
    DOLPHIN_BINGX_ENV: 'VST',
    BINGX_API_KEY: KEY,
    BINGX_API_SECRET: SECRET,
    ...extra,
  });
}

/** Asynchronous: the simulator lives in this process and must keep answering. */
function run(args: string[], extra: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: env(extra) });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
  });
}

function filesUnder(path: string): string[] {
  return readdirSync(path).flatMap((name) => {
    const p = join(path, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

function leaks(text: string): string[] {
  return NEEDLES.filter((n) => text.includes(n));
}

beforeAll(async () => {
  writeSyntheticScans(data, { scans: 300, seed: 11, symbols: SYMBOLS });
  sim = await startBingxSim({
    apiKey: KEY,
    apiSecret: SECRET,
    balance: 1_000_000,
    contracts: SYMBOLS.map(genericContract),
  });
  const first = JSON.parse(readFileSync(data, 'utf8').split('\n')[0] as string) as {
    assets: Record<string, { price: number }>;
  };
  for (const a of SYMBOLS) sim.control.setMark(`${a.slice(0, -4)}-USDT`, first.assets[a]?.price ?? 100);
});

afterAll(async () => {
  await sim?.close();
});

describe('secret material in a full run', () => {
  it('appears in no log line, error, report, file or ledger row', async () => {
    const outputs: string[] = [];
    // Wrong secret: the exchange refuses the signature; the error must not echo either credential.
    const wrong = await run(
      ['run', '--venue', 'bingx', '--data', data, '--interval-ms', '10', '--scans', '20'],
      {
        BINGX_API_SECRET: `${SECRET}x`,
      },
    );
    outputs.push(wrong.out);
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toMatch(/signature|auth/i);
    // A full run with rejected orders (errors on the venue path) to the end of the file.
    sim.control.rejectNextOrders(2, 101204, 'Insufficient margin');
    const full = await run(['run', '--venue', 'bingx', '--data', data, '--interval-ms', '10']);
    outputs.push(full.out);
    expect(full.code, `wrong: ${wrong.out.slice(-1500)}\nfull: ${full.out.slice(-2000)}`).toBe(0);
    expect(sim.control.books().orders.length).toBeGreaterThan(0);
    outputs.push((await run(['ctl', 'status'])).out);
    outputs.push((await run(['config', 'show'])).out);
    outputs.push((await run(['ctl', 'mode-verify'])).out);

    const texts: Array<[string, string]> = outputs.map((o, i) => [`command output ${i}`, o]);
    for (const f of filesUnder(varDir)) {
      if (f.includes(`${join('var', 'clickhouse')}`)) continue; // binary parts: checked as rows below
      texts.push([f, readFileSync(f, 'latin1')]);
    }
    const rows = execFileSync(
      process.execPath,
      [join(REPO, 'test/support/dump-ledger.mjs'), join(varDir, 'clickhouse'), 'dolphin_pink'],
      { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 },
    );
    expect(rows.split('\n').length).toBeGreaterThan(300);
    texts.push(['ledger rows', rows]);
    const found = texts.flatMap(([where, text]) => leaks(text).map((n) => `${where}: ${n.slice(0, 12)}…`));
    expect(found).toEqual([]);
  }, 600_000);
});
