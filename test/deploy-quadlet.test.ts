/**
 * deploy/quadlet/ under Podman's own Quadlet generator (issue #17, 7): the dry run must
 * accept every unit and generate the four services, with the settings the files mean
 * (pod, env file, loopback ports, stop timeouts). The generator is Debian 13's (Debian 12's
 * podman has none), fetched when missing (test/support/debian-tools.ts); under CI=true a
 * missing one fails the run. A unit with an unknown key is refused, naming file and key, so
 * a pass means the generator read the files.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { quadlet } from './support/debian-tools.js';

const QUADLET_UNITS = fileURLToPath(new URL('../deploy/quadlet', import.meta.url));
const generator = quadlet();
if ('unavailable' in generator && process.env.CI === 'true')
  throw new Error(`CI needs the Quadlet generator: ${generator.unavailable}`);
const why = 'unavailable' in generator ? generator.unavailable : '';

/** `quadlet -dryrun` over a copy of deploy/quadlet (edited by `edit`): exit code, services, messages. */
function dryRun(edit: (dir: string) => void = () => undefined) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pink-quadlet-'));
  cpSync(QUADLET_UNITS, dir, { recursive: true });
  edit(dir);
  const r = spawnSync((generator as { path: string }).path, ['-dryrun'], {
    env: { ...process.env, QUADLET_UNIT_DIRS: dir },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const services = new Map<string, string>();
  const parts = r.stdout.split(/^---(.+)---$/m);
  for (let i = 1; i < parts.length; i += 2) services.set(parts[i]!, parts[i + 1] ?? '');
  return { code: r.status, services, stderr: r.stderr };
}

const line = (unit: string, key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1] ?? '';
const execStart = (unit: string) => line(unit, 'ExecStart');

describe.skipIf(why !== '')(
  `Quadlet generator accepts deploy/quadlet${why ? ` (skipped: ${why})` : ''}`,
  () => {
    it('generates the pod and the three containers, exit 0', () => {
      const r = dryRun();
      expect(r.code, r.stderr).toBe(0);
      expect([...r.services.keys()].sort()).toEqual([
        'clickhouse-pink.service',
        'datastack-pink-pod.service',
        'hazelcast-pink.service',
        'pink-worker.service',
      ]);
      expect(r.stderr).not.toMatch(/unsupported|error|warning/i);
    });

    it('the generated services mean what the files say', () => {
      const { services } = dryRun();
      // The pod is created before it starts.
      const pod = line(services.get('datastack-pink-pod.service')!, 'ExecStartPre');
      expect(pod).toMatch(/--name datastack-pink\b/);
      for (const port of pod.match(/--publish \S+/g) ?? []) expect(port).toMatch(/^--publish 127\.0\.0\.1:/);
      expect(pod.match(/--publish \S+/g)?.length).toBeGreaterThanOrEqual(2);
      const worker = services.get('pink-worker.service')!;
      const run = execStart(worker);
      expect(run).toMatch(/--pod-id-file %t\/datastack-pink-pod\.pod-id/);
      expect(run).toMatch(/--env-file \S*pink\.env/);
      expect(run).toMatch(/--env DOLPHIN_STRATEGY_NAME=pink/);
      expect(run).toMatch(/--env DOLPHIN_BINGX_ENV=VST/);
      expect(run).toMatch(/--read-only/);
      expect(run).toMatch(/ localhost\/pink-worker:latest run --config \/etc\/pink\/pink\.json$/);
      // Long enough for the ledger flush on SIGTERM.
      expect(Number(/--stop-timeout (\d+)/.exec(run)?.[1])).toBeGreaterThanOrEqual(60);
      expect(execStart(services.get('hazelcast-pink.service')!)).toMatch(/HZ_CLUSTERNAME=pink/);
      expect(execStart(services.get('clickhouse-pink.service')!)).toMatch(/CLICKHOUSE_DB=dolphin_pink/);
    });

    it('refuses a unit with a key Podman does not know, naming file and key (the files are really read)', () => {
      const r = dryRun((dir) => {
        const file = path.join(dir, 'pink-worker.container');
        writeFileSync(file, readFileSync(file, 'utf8').replace('[Container]', '[Container]\nBogusKey=1'));
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /unsupported key 'BogusKey' in group 'Container' in \S*pink-worker\.container/,
      );
    });
  },
);
