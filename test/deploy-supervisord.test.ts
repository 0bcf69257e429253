/**
 * deploy/supervisord/pink.conf under a real supervisord, driven by PINK's own supervisor
 * adapter. Runs only where `supervisord` and `supervisorctl` are on PATH (skipped otherwise).
 * The copy under test differs from the shipped file only where the host must differ:
 * the node binary (a stand-in that logs and handles SIGTERM), log/work directories, no
 * `user=` (tests do not run as root), and startsecs=1 to keep the test short.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSupervisor } from '../src/adapters/supervisor/supervisor.js';
import { lookupNamespace } from '../src/domain/namespaces.js';

const onPath = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const available = onPath('supervisord') && onPath('supervisorctl');
const REPO = fileURLToPath(new URL('..', import.meta.url));

describe.skipIf(!available)('supervisord runs deploy/supervisord/pink.conf', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pink-sd-'));
  const conf = path.join(dir, 'supervisord.conf');
  const outLog = path.join(dir, 'pink.out.log');
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
    const fakeNode = path.join(dir, 'fake-node');
    writeFileSync(
      fakeNode,
      '#!/bin/sh\necho "started $* strategy=$DOLPHIN_STRATEGY_NAME bingx=$DOLPHIN_BINGX_ENV"\n' +
        'trap \'echo "SIGTERM: flushing ledger"; sleep 0.5; echo "flushed"; exit 0\' TERM\n' +
        'while :; do sleep 0.1; done\n',
    );
    chmodSync(fakeNode, 0o755);
    const shipped = readFileSync(path.join(REPO, 'deploy/supervisord/pink.conf'), 'utf8');
    const local = shipped
      .replace(/^command=\/usr\/bin\/node /m, `command=${fakeNode} `)
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

  afterAll(() => {
    if (existsSync(path.join(dir, 'supervisord.pid'))) spawnSync('supervisorctl', ['-c', conf, 'shutdown']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('autostarts pink with the namespace and VST environment', async () => {
    expect(await waitFor('RUNNING')).toMatch(/^pink\s+RUNNING/);
    expect(readFileSync(outLog, 'utf8')).toContain(
      'started --env-file=/etc/pink/pink.env /opt/pink/dist/cli/main.js run --config /etc/pink/pink.json strategy=pink bingx=VST',
    );
  });

  it('stop sends SIGTERM and waits for the flush; start and restart bring it back', async () => {
    const stopped = await sup.stop('pink');
    expect(stopped.exitCode).toBe(0);
    expect(stopped.stdout).toMatch(/pink: stopped/);
    expect(readFileSync(outLog, 'utf8')).toMatch(/SIGTERM: flushing ledger\nflushed\n/);
    expect((await sup.start('pink')).stdout).toMatch(/pink: started/);
    const restarted = await sup.restart('pink');
    expect(restarted.stdout).toMatch(/pink: stopped\npink: started/);
    expect(await waitFor('RUNNING')).toMatch(/RUNNING/);
  });

  it('never reaches supervisord for another program', async () => {
    await expect(sup.stop('all')).rejects.toThrow(/refusing/);
    expect(await waitFor('RUNNING')).toMatch(/RUNNING/);
  });
});
