/**
 * The deployment files under deploy/ are read the way their tools read them and checked
 * for the keys those tools require, for PINK-only names, loopback-only ports, and secrets.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ini from 'ini';
import { describe, expect, it } from 'vitest';
import { parseUnitFile, type UnitFile, unitValue, unitValues } from '../src/adapters/supervisor/unit-file.js';
import { loadConfig } from '../src/app/config.js';
import { resolveNamespace } from '../src/domain/namespaces.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const DEPLOY = path.join(REPO, 'deploy');
const QUADLET = path.join(DEPLOY, 'quadlet');
const read = (...p: string[]) => readFileSync(path.join(DEPLOY, ...p), 'utf8');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

const unit = (name: string): UnitFile => parseUnitFile(read('quadlet', name), name);
const containers = readdirSync(QUADLET).filter((f) => f.endsWith('.container'));

/** KEY=VALUE lines of an env file (the subset both `node --env-file` and `podman --env-file` read alike). */
function envFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split('\n').forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(t);
    if (!m?.[1]) throw new Error(`pink.env.example:${i + 1}: not KEY=VALUE: ${t}`);
    out[m[1]] = m[2] ?? '';
  });
  return out;
}

/** supervisord `environment=` value: KEY="value",KEY2="value2". */
function supervisordEnv(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of value.matchAll(/([A-Za-z_][A-Za-z0-9_]*)="([^"]*)"/g)) if (m[1]) out[m[1]] = m[2] ?? '';
  return out;
}

describe('supervisord program file', () => {
  const conf = ini.parse(read('supervisord', 'pink.conf')) as Record<string, Record<string, string>>;
  const program = conf['program:pink'];

  it('declares [program:pink] and no other program', () => {
    expect(Object.keys(conf).filter((s) => s.startsWith('program:'))).toEqual(['program:pink']);
    expect(program).toBeDefined();
  });

  it('runs the PINK CLI with the config file and loads secrets from an env file', () => {
    const command = String(program?.command);
    expect(command).toMatch(/^\/usr\/bin\/node /);
    expect(command).toContain('/opt/pink/dist/cli/main.js run --config /etc/pink/pink.json');
    expect(command).toContain('--env-file=/etc/pink/pink.env');
  });

  it('has the lifecycle keys supervisord needs, with a stop wait long enough for the ledger flush', () => {
    expect(program?.autostart).toBe(true);
    expect(program?.autorestart).toBe(true);
    expect(program?.stopsignal).toBe('TERM');
    expect(Number(program?.stopwaitsecs)).toBeGreaterThanOrEqual(60);
    expect(Number(program?.startsecs)).toBeGreaterThan(0);
    expect(program?.stopasgroup).toBe(true);
  });

  it('rotates both log files', () => {
    for (const stream of ['stdout', 'stderr']) {
      expect(program?.[`${stream}_logfile`]).toMatch(/^\/var\/log\/pink\/pink\.\w+\.log$/);
      expect(program?.[`${stream}_logfile_maxbytes`]).toMatch(/^\d+MB$/);
      expect(Number(program?.[`${stream}_logfile_backups`])).toBeGreaterThan(0);
    }
  });

  it('pins the namespace and VST in its environment, with no credentials inline', () => {
    const env = supervisordEnv(String(program?.environment));
    expect(env).toMatchObject({ DOLPHIN_STRATEGY_NAME: 'pink', DOLPHIN_BINGX_ENV: 'VST' });
    expect(env.DOLPHIN_BINGX_ALLOW_MAINNET).toBe('0');
    expect(Object.keys(env).filter((k) => /KEY|SECRET|PASSWORD|TOKEN/.test(k))).toEqual([]);
  });
});

describe('Quadlet units', () => {
  it('parses every unit file, keeping repeated keys', () => {
    for (const f of readdirSync(QUADLET)) expect(() => unit(f), f).not.toThrow();
    expect(unitValues(unit('datastack-pink.pod'), 'Pod', 'PublishPort').length).toBeGreaterThanOrEqual(2);
    expect(unitValues(unit('pink-worker.container'), 'Container', 'Environment').length).toBeGreaterThan(1);
  });

  it('the pod is named datastack-pink and publishes on loopback only', () => {
    const pod = unit('datastack-pink.pod');
    expect(pod.sections).toContain('Pod');
    expect(unitValue(pod, 'Pod', 'PodName')).toBe('datastack-pink');
    const ports = unitValues(pod, 'Pod', 'PublishPort');
    for (const p of ports) expect(p, p).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    expect(unitValues(pod, 'Install', 'WantedBy')).toEqual(['default.target']);
  });

  it('each container has Image, joins the pod, and has [Unit], [Service] and [Install]', () => {
    expect(containers.sort()).toEqual([
      'clickhouse-pink.container',
      'hazelcast-pink.container',
      'pink-worker.container',
    ]);
    for (const f of containers) {
      const u = unit(f);
      expect(u.sections, f).toEqual(expect.arrayContaining(['Unit', 'Container', 'Service', 'Install']));
      expect(unitValue(u, 'Unit', 'Description'), f).toBeTruthy();
      expect(unitValue(u, 'Container', 'Image'), f).toMatch(/^[\w.-]+\/[\w./-]+:[\w.-]+$/);
      expect(unitValue(u, 'Container', 'Pod'), f).toBe('datastack-pink.pod');
      expect(unitValues(u, 'Unit', 'Requires'), f).toContain('datastack-pink-pod.service');
      expect(unitValue(u, 'Service', 'Restart'), f).toBeTruthy();
      expect(unitValues(u, 'Install', 'WantedBy'), f).toEqual(['default.target']);
      // Containers in a pod cannot publish ports; the pod does.
      expect(unitValues(u, 'Container', 'PublishPort'), f).toEqual([]);
    }
  });

  it('pink-worker: env file, var volume, healthcheck, run command, stop timeouts covering the flush', () => {
    const w = unit('pink-worker.container');
    expect(unitValue(w, 'Container', 'EnvironmentFile')).toMatch(/pink\.env$/);
    expect(unitValues(w, 'Container', 'Environment')).toEqual(
      expect.arrayContaining([
        'DOLPHIN_STRATEGY_NAME=pink',
        'DOLPHIN_BINGX_ENV=VST',
        'PINK_VAR_DIR=/var/lib/pink',
      ]),
    );
    expect(unitValues(w, 'Container', 'Volume')).toContain('pink-var:/var/lib/pink:Z');
    expect(unitValue(w, 'Container', 'HealthCmd')).toBe('pink ctl healthcheck');
    expect(unitValue(w, 'Container', 'Exec')).toBe('run --config /etc/pink/pink.json');
    expect(unitValue(w, 'Container', 'Image')).toBe('localhost/pink-worker:latest');
    const stopTimeout = Number(unitValue(w, 'Container', 'StopTimeout'));
    expect(stopTimeout).toBeGreaterThanOrEqual(60);
    expect(Number(unitValue(w, 'Service', 'TimeoutStopSec'))).toBeGreaterThan(stopTimeout);
    expect(unitValues(w, 'Unit', 'Wants').join(' ')).toContain('clickhouse-pink.service');
  });

  it('clickhouse-pink and hazelcast-pink: official images, PINK database and cluster name', () => {
    const ch = unit('clickhouse-pink.container');
    expect(unitValue(ch, 'Container', 'Image')).toMatch(/^docker\.io\/clickhouse\/clickhouse-server:/);
    expect(unitValues(ch, 'Container', 'Environment')).toContain('CLICKHOUSE_DB=dolphin_pink');
    expect(unitValues(ch, 'Container', 'Volume').some((v) => v.includes(':/var/lib/clickhouse'))).toBe(true);
    const hz = unit('hazelcast-pink.container');
    expect(unitValue(hz, 'Container', 'Image')).toMatch(/^docker\.io\/hazelcast\/hazelcast:/);
    expect(unitValues(hz, 'Container', 'Environment')).toContain('HZ_CLUSTERNAME=pink');
  });

  it('the pod publishes the ports the example config uses', () => {
    const cfg = JSON.parse(read('pink.example.json')) as { metricsPort: number; statePort: number };
    const published = unitValues(unit('datastack-pink.pod'), 'Pod', 'PublishPort').map((p) =>
      Number(p.split(':')[2]),
    );
    expect(published).toEqual(expect.arrayContaining([cfg.metricsPort, cfg.statePort]));
  });

  it('the unit parser reports bad lines with file and line', () => {
    expect(() => parseUnitFile('[Unit]\nDescription=x\nnonsense\n', 'bad.container')).toThrow(
      'bad.container:3: expected KEY=VALUE or [Section], got "nonsense"',
    );
    expect(() => parseUnitFile('Image=x\n', 'early.container')).toThrow(
      /early.container:1: "Image=" appears before/,
    );
    const u = parseUnitFile('[C]\nV=a\nV=b\nV=\nV=c \\\n  d\n', 'reset');
    expect(unitValues(u, 'C', 'V')).toEqual(['c d']);
  });
});

/** Containerfile instructions, continuation lines joined. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const sp = l.indexOf(' ');
      return { op: l.slice(0, sp).toUpperCase(), args: l.slice(sp + 1).trim() };
    });
}

describe('Containerfile', () => {
  const ins = instructions(read('Containerfile'));
  const last = (op: string) => ins.filter((i) => i.op === op).at(-1)?.args;

  it('builds on node:20-slim in two stages', () => {
    expect(ins.find((i) => i.op === 'ARG')?.args).toBe('NODE_IMAGE=docker.io/library/node:20-slim');
    const froms = ins.filter((i) => i.op === 'FROM').map((i) => i.args);
    expect(froms).toHaveLength(2);
    expect(froms[0]).toMatch(/^\$\{NODE_IMAGE\} AS build$/);
    expect(froms[1]).toMatch(/^\$\{NODE_IMAGE\} AS runtime$/);
  });

  it('installs production dependencies, chDB kept unless WITH_CHDB=0', () => {
    const install = ins.find((i) => i.op === 'RUN' && i.args.includes('--omit=dev'))?.args ?? '';
    expect(ins.some((i) => i.op === 'ARG' && i.args === 'WITH_CHDB=1')).toBe(true);
    expect(install).toMatch(/"\$WITH_CHDB" = "1" \]; then npm ci --omit=dev /);
    expect(install).toContain('npm ci --omit=dev --omit=optional');
  });

  it('ships what the runtime reads at run time: the schema files and the lock-file stand-ins', () => {
    const copies = ins.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toContain('schema ./schema');
    expect(copies.filter((c) => c === 'vendor ./vendor')).toHaveLength(2);
  });

  it('runs as a non-root user with the CLI as entrypoint and `run` as default command', () => {
    const user = last('USER');
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    const lastUserAt = ins.findLastIndex((i) => i.op === 'USER');
    expect(ins.findIndex((i) => i.op === 'ENTRYPOINT')).toBeGreaterThan(lastUserAt);
    expect(JSON.parse(last('ENTRYPOINT') ?? 'null')).toEqual(['node', 'dist/cli/main.js']);
    expect(JSON.parse(last('CMD') ?? 'null')).toEqual(['run']);
    expect(last('STOPSIGNAL')).toBe('SIGTERM');
  });

  it('puts `pink` on PATH for the healthcheck and matches the uid the secret mount uses', () => {
    expect(read('Containerfile')).toContain('ln -s /opt/pink/dist/cli/main.js /usr/local/bin/pink');
    const uid = /useradd [^\n]*--uid (\d+)/.exec(read('Containerfile'))?.[1];
    const secret = unitValue(unit('pink-worker.container'), 'Container', 'Secret') ?? '';
    expect(secret).toContain(`uid=${uid}`);
  });
});

describe('example configuration', () => {
  const env = envFile(read('pink.env.example'));

  it('pink.example.json is accepted by the runtime config schema and names the pink namespace', () => {
    const cfg = loadConfig({ file: path.join(DEPLOY, 'pink.example.json'), env: {} });
    expect(cfg.strategy).toBe('pink');
    expect(cfg.clickhouse.database).toBe('dolphin_pink');
    expect(resolveNamespace({ DOLPHIN_STRATEGY_NAME: cfg.strategy }).clickhouseDb).toBe('dolphin_pink');
  });

  it('pink.env.example is plain KEY=value (no quotes) and valid for the config and namespace', () => {
    for (const [k, v] of Object.entries(env)) expect(v, k).not.toMatch(/^["']/);
    expect(env).toMatchObject({
      DOLPHIN_STRATEGY_NAME: 'pink',
      DOLPHIN_BINGX_ENV: 'VST',
      DOLPHIN_BINGX_ALLOW_MAINNET: '0',
    });
    expect(() => resolveNamespace(env)).not.toThrow();
    expect(loadConfig({ file: path.join(DEPLOY, 'pink.example.json'), env }).hazelcast.clusterName).toBe(
      'pink',
    );
    expect(env.BINGX_API_KEY).toBeUndefined();
    expect(env.BINGX_API_SECRET).toBeUndefined();
  });
});

/** Lines in deploy/ that look like a credential value rather than a name, path or placeholder. */
function secretLookingLines(text: string): string[] {
  const placeholder = /^(|CHANGE_ME|<[^>]*>|\.\.\.|\/\S*|%h\/\S*)$/;
  return text.split('\n').filter((line) => {
    const t = line.trim();
    if (t.startsWith('#') || t.startsWith(';'))
      return /[A-Za-z0-9+/_-]{32,}/.test(t) && !/https?:\/\//.test(t);
    const m =
      /(?:^|[\s,"=])([A-Za-z_]*(?:API_?KEY|SECRET|PASSWORD|PASSWD|TOKEN|apiKey|apiSecret)[A-Za-z_]*)"?\s*[=:]\s*"?([^",\s]*)/i.exec(
        t,
      );
    // Quadlet `Secret=NAME,…` names a podman secret; it is a reference, not a value.
    if (m && m[1] !== 'Secret' && !placeholder.test(m[2] ?? '')) return true;
    return /[A-Za-z0-9+/]{40,}={0,2}/.test(t); // long base64/hex-ish blobs
  });
}

describe('names and secrets across deploy/', () => {
  const files = filesUnder(DEPLOY);

  it('no file names another strategy or its programs', () => {
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      expect(text, f).not.toMatch(/\b(blue|green|prodgreen)\b/i);
      expect(text, f).not.toMatch(/nautilus|dolphin_(green|prodgreen)\b|\bdolphin\b(?!_)/i);
    }
  });

  it('no file holds a secret-looking value', () => {
    for (const f of files) expect(secretLookingLines(readFileSync(f, 'utf8')), f).toEqual([]);
  });

  it('the secret detector does catch real-looking credentials', () => {
    expect(secretLookingLines('BINGX_API_KEY=Ab12Cd34Ef56')).toHaveLength(1);
    expect(secretLookingLines('environment=BINGX_API_SECRET="s3cr3t-value"')).toHaveLength(1);
    expect(secretLookingLines('CLICKHOUSE_PASSWORD=hunter2')).toHaveLength(1);
    expect(secretLookingLines('{"apiKey": "abcDEF123"}')).toHaveLength(1);
    expect(secretLookingLines('# key: 0123456789abcdef0123456789abcdef0123')).toHaveLength(1);
    expect(secretLookingLines('CLICKHOUSE_PASSWORD=CHANGE_ME\nBINGX_CREDENTIALS_FILE=/etc/pink/x')).toEqual(
      [],
    );
  });
});
