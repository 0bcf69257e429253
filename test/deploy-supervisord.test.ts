/**
 * deploy/supervisord/pink.conf under a real supervisord (Debian's `supervisor` package,
 * installed when missing; under CI=true a missing one fails the run), running the real
 * PINK runtime, driven by PINK's own supervisor adapter. The copy under test differs from
 * the shipped file only where the host must differ: paths (node, the checkout, env file,
 * config, var and log directories), no `user=` (no `pink` user here), and startsecs=1 to
 * keep the test short. The config runs on embedded defaults (sim venue, embedded ledger).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSupervisor } from '../src/adapters/supervisor/supervisor.js';
import { lookupNamespace } from '../src/domain/namespaces.js';
import { supervisorUnavailable } from './support/debian-tools.js';
import { until } from './support/wait.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
const missing = supervisorUnavailable();
if (missing && process.env.CI === 'true') throw new Error(`CI needs supervisord: ${missing}`);

describe.skipIf(missing !== null)(
  `supervisord runs deploy/supervisord/pink.conf${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pink-sd-'));
    const conf = path.join(dir, 'supervisord.conf');
    const errLog = path.join(dir, 'pink.err.log');
    const log = () => (existsSync(errLog) ? readFileSync(errLog, 'utf8') : '');
    const sup = createSupervisor('supervisord', {
      ns: lookupNamespace('pink'),
      configFile: conf,
      timeoutMs: 30_000,
    });

    async function waitFor(state: string): Promise<string> {
      let last = '';
      for (let i = 0; i < 50; i++) {
        last = (await sup.status('pink')).stdout;
        if (last.includes(state)) return last;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`pink never reached ${state}; last status: ${last}`);
    }

    beforeAll(() => {
      writeFileSync(path.join(dir, 'pink.env'), 'PINK_SCAN_INTERVAL_MS=100\nPINK_METRICS_PORT=0\n');
      writeFileSync(
        path.join(dir, 'pink.json'),
        JSON.stringify({ strategy: 'pink', venue: 'sim', capital: 25_000, metricsPort: -1 }),
      );
      const shipped = readFileSync(path.join(REPO, 'deploy/supervisord/pink.conf'), 'utf8');
      const local = shipped
        .replace(/^command=\/usr\/bin\/node /m, `command=${process.execPath} `)
        .replaceAll('/etc/pink/pink.env', path.join(dir, 'pink.env'))
        .replaceAll('/opt/pink/dist/cli/main.js', path.join(REPO, 'dist/cli/main.js'))
        .replaceAll('/etc/pink/pink.json', path.join(dir, 'pink.json'))
        .replaceAll('/var/lib/pink', path.join(dir, 'var'))
        .replaceAll('/var/log/pink', dir)
        .replace(/^directory=.*$/m, `directory=${dir}`)
        .replace(/^user=.*\n/m, '')
        .replace(/^startsecs=\d+$/m, 'startsecs=1');
      writeFileSync(path.join(dir, 'pink.conf'), local);
      writeFileSync(
        conf,
        [
          '[unix_http_server]',
          `file=${dir}/sup.sock`,
          '[supervisord]',
          `logfile=${dir}/supervisord.log`,
          `pidfile=${dir}/supervisord.pid`,
          '[rpcinterface:supervisor]',
          'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
          '[supervisorctl]',
          `serverurl=unix://${dir}/sup.sock`,
          '[include]',
          `files=${dir}/pink.conf`,
          '',
        ].join('\n'),
      );
      execFileSync('supervisord', ['-c', conf]); // daemonizes; stopped in afterAll
    });

    afterAll(async () => {
      const pidFile = path.join(dir, 'supervisord.pid');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        spawnSync('supervisorctl', ['-c', conf, 'shutdown']);
        // shutdown returns at once; supervisord exits once its program has stopped (the
        // runtime flushes and closes its embedded ledger first): only then is the directory free.
        await until('supervisord to exit', 60_000, async () => !alive(pid));
      }
      rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
    }, 90_000);

    const readyLines = () =>
      log()
        .split('\n')
        .filter((l) => /"msg":"ready: /.test(l));

    it('autostarts the runtime with the namespace and VST pinned in its environment', async () => {
      const status = await waitFor('RUNNING');
      await until('pink to be ready under supervisord', 60_000, async () => readyLines().length === 1);
      expect(readyLines()[0]).toMatch(/"namespace":"pink"/);
      const pid = Number(/pid (\d+)/.exec(status)?.[1]);
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      expect(environ).toEqual(
        expect.arrayContaining([
          'DOLPHIN_STRATEGY_NAME=pink',
          'DOLPHIN_BINGX_ENV=VST',
          'DOLPHIN_BINGX_ALLOW_MAINNET=0',
          `PINK_VAR_DIR=${path.join(dir, 'var')}`,
        ]),
      );
    });

    it('stop sends SIGTERM and waits for the ledger flush; start and restart bring it back', async () => {
      const stopped = await sup.stop('pink');
      expect(stopped.exitCode).toBe(0);
      expect(stopped.stdout).toMatch(/pink: stopped/);
      expect(log()).toMatch(/SIGTERM received: stopping new entries, flushing the ledger/);
      expect(log()).toMatch(/"msg":"stopped"/);
      expect(existsSync(path.join(dir, 'var', 'run', 'pink.stopped'))).toBe(true);
      expect((await sup.start('pink')).stdout).toMatch(/pink: started/);
      const restarted = await sup.restart('pink');
      expect(restarted.stdout).toMatch(/pink: stopped\npink: started/);
      expect(await waitFor('RUNNING')).toMatch(/RUNNING/);
      await until('ready after each start', 60_000, async () => readyLines().length === 3);
    });

    it('never reaches supervisord for another program', async () => {
      await expect(sup.stop('all')).rejects.toThrow(/refusing/);
      expect(await waitFor('RUNNING')).toMatch(/RUNNING/);
    });
  },
);
