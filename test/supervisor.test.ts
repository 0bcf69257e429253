import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertOwnProgram, ProgramRefused } from '../src/adapters/supervisor/own-program.js';
import {
  createSupervisor,
  SupervisorUnavailable,
  supervisorArgs,
  supervisorSettings,
} from '../src/adapters/supervisor/supervisor.js';
import { supervisorCommand } from '../src/cli/commands/ctl-supervisor.js';
import { CliError } from '../src/cli/errors.js';
import { lookupNamespace } from '../src/domain/namespaces.js';

const pink = lookupNamespace('pink');
const dir = mkdtempSync(path.join(os.tmpdir(), 'pink-supervisor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Fake {
  readonly env: Record<string, string>;
  readonly argvFile: string;
  /** The argv the fake tool was called with, or undefined if it never ran. */
  argv(): string[] | undefined;
}

/** A stand-in `name` placed first on PATH: records its argv (one per line), prints, exits FAKE_EXIT. */
function installFake(name: string, extraEnv: Record<string, string> = {}): Fake {
  const bin = path.join(dir, `bin-${name}-${Math.random().toString(36).slice(2)}`);
  const argvFile = path.join(bin, 'argv.txt');
  mkdirSync(bin, { recursive: true });
  const script = path.join(bin, name);
  writeFileSync(
    script,
    `#!/bin/sh\nprintf '%s\\n' "$@" > "$FAKE_ARGV_FILE"\necho "${name} says: $*"\n` +
      `echo "${name} complains" >&2\nexit "\${FAKE_EXIT:-0}"\n`,
  );
  chmodSync(script, 0o755);
  return {
    env: { PATH: `${bin}:${process.env.PATH ?? ''}`, FAKE_ARGV_FILE: argvFile, ...extraEnv },
    argvFile,
    argv: () => (existsSync(argvFile) ? readFileSync(argvFile, 'utf8').trimEnd().split('\n') : undefined),
  };
}

function refusal(program: string, strategy = 'pink'): string {
  try {
    assertOwnProgram(program, lookupNamespace(strategy));
  } catch (err) {
    expect(err).toBeInstanceOf(ProgramRefused);
    return (err as Error).message;
  }
  throw new Error(`expected "${program}" to be refused`);
}

describe('assertOwnProgram (pure)', () => {
  it('accepts the names the deploy/ files define for pink', () => {
    for (const name of [
      'pink',
      'pink-worker',
      'pink-worker.service',
      'datastack-pink',
      'datastack-pink-pod.service',
      'datastack-pink.pod',
      'clickhouse-pink',
      'clickhouse-pink.service',
      'hazelcast-pink.service',
    ])
      expect(() => assertOwnProgram(name, pink), name).not.toThrow();
  });

  it('refuses other strategies by name, saying whose they are', () => {
    expect(refusal('blue')).toMatch(/"blue": it belongs to strategy "blue"/);
    expect(refusal('dolphin-blue')).toMatch(/belongs to strategy "blue"/);
    expect(refusal('green-worker.service')).toMatch(/belongs to strategy "green"/);
    expect(refusal('prodgreen')).toMatch(/belongs to strategy "prodgreen"/);
    expect(refusal('datastack-prodgreen-pod.service')).toMatch(/belongs to strategy "prodgreen"/);
  });

  it('refuses BLUE-era programs, "all", look-alikes and option injection', () => {
    expect(refusal('nautilus_event_trader')).toMatch(/not a program of strategy "pink"/);
    expect(refusal('all')).toMatch(/"all" would act on every program/);
    for (const name of [
      'pinky',
      'pink2',
      'datastack-pinkish',
      'pink-worker.service;rm',
      '--all',
      'pink:*',
      'PINK',
    ])
      expect(refusal(name)).toMatch(/refusing to act on/);
    expect(refusal(' pink')).toMatch(/surrounding spaces/);
    expect(refusal('')).toMatch(/empty/);
  });

  it('lists the allowed names in the refusal', () => {
    expect(refusal('blue')).toContain('pink, pink-worker, pink-worker.service, datastack-pink*');
  });

  it('computes the names from the namespace, so another strategy gets its own set', () => {
    expect(() => assertOwnProgram('green-worker.service', lookupNamespace('green'))).not.toThrow();
    expect(refusal('pink', 'green')).toMatch(/belongs to strategy "pink"/);
    // green is not mistaken for prodgreen's owner (or the reverse)
    expect(refusal('prodgreen', 'green')).toMatch(/belongs to strategy "prodgreen"/);
  });
});

describe('supervisorArgs and settings (pure)', () => {
  it('builds supervisorctl and systemctl argv', () => {
    expect(supervisorArgs('supervisord', 'stop', 'pink')).toEqual(['stop', 'pink']);
    expect(supervisorArgs('supervisord', 'start', 'pink', { configFile: '/etc/s.conf' })).toEqual([
      '-c',
      '/etc/s.conf',
      'start',
      'pink',
    ]);
    expect(supervisorArgs('systemd', 'restart', 'pink-worker.service')).toEqual([
      '--user',
      '--no-pager',
      'restart',
      'pink-worker.service',
    ]);
    expect(supervisorArgs('systemd', 'status', 'pink-worker', { scope: 'system' })).toEqual([
      '--no-pager',
      'status',
      'pink-worker',
    ]);
  });

  it('defaults to supervisord/pink, systemd/pink-worker.service; flags beat env', () => {
    expect(supervisorSettings({}, pink)).toMatchObject({
      kind: 'supervisord',
      program: 'pink',
      scope: 'user',
    });
    expect(supervisorSettings({ PINK_SUPERVISOR: 'systemd' }, pink).program).toBe('pink-worker.service');
    expect(
      supervisorSettings({ PINK_SUPERVISOR: 'systemd', PINK_PROGRAM: 'x' }, pink, {
        supervisor: 'supervisord',
      }),
    ).toMatchObject({ kind: 'supervisord', program: 'x' });
    expect(() => supervisorSettings({ PINK_SUPERVISOR: 'runit' }, pink)).toThrow(
      /PINK_SUPERVISOR="runit" is not a supervisor/,
    );
    expect(() => supervisorSettings({}, pink, { supervisor: 'docker' })).toThrow(/--supervisor="docker"/);
    expect(() => supervisorSettings({ PINK_SYSTEMD_SCOPE: 'global' }, pink)).toThrow(/PINK_SYSTEMD_SCOPE/);
  });
});

describe('createSupervisor runs the real binary found on PATH (a recording fake)', () => {
  it('runs supervisorctl <verb> pink and reports its output and exit code', async () => {
    const fake = installFake('supervisorctl');
    const sup = createSupervisor('supervisord', { ns: pink, env: fake.env });
    const r = await sup.stop('pink');
    expect(fake.argv()).toEqual(['stop', 'pink']);
    expect(r.argv).toEqual(['supervisorctl', 'stop', 'pink']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('supervisorctl says: stop pink\n');
    expect(r.stderr).toBe('supervisorctl complains\n');
  });

  it('passes -c and argument values with spaces untouched (no shell)', async () => {
    const fake = installFake('supervisorctl');
    const conf = path.join(dir, 'a conf; echo hacked.conf');
    await createSupervisor('supervisord', { ns: pink, env: fake.env, configFile: conf }).restart('pink');
    expect(fake.argv()).toEqual(['-c', conf, 'restart', 'pink']);
  });

  it('propagates a non-zero exit', async () => {
    const fake = installFake('supervisorctl', { FAKE_EXIT: '7' });
    const r = await createSupervisor('supervisord', { ns: pink, env: fake.env }).status('pink');
    expect(r.exitCode).toBe(7);
    expect(fake.argv()).toEqual(['status', 'pink']);
  });

  it('runs systemctl --user --no-pager <verb> <unit>', async () => {
    const fake = installFake('systemctl');
    await createSupervisor('systemd', { ns: pink, env: fake.env }).start('pink-worker.service');
    expect(fake.argv()).toEqual(['--user', '--no-pager', 'start', 'pink-worker.service']);
  });

  it('refuses a foreign program before anything runs', async () => {
    const fake = installFake('supervisorctl');
    const sup = createSupervisor('supervisord', { ns: pink, env: fake.env });
    await expect(sup.stop('blue')).rejects.toThrow(ProgramRefused);
    await expect(sup.restart('all')).rejects.toThrow(/"all"/);
    expect(fake.argv()).toBeUndefined();
  });

  it('says the tool is missing when it is not on PATH', async () => {
    const empty = path.join(dir, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    const sup = createSupervisor('supervisord', { ns: pink, env: { PATH: empty } });
    await expect(sup.start('pink')).rejects.toThrow(SupervisorUnavailable);
    await expect(sup.start('pink')).rejects.toThrow(
      /supervisorctl was not found on PATH \(is supervisor installed/,
    );
  });
});

describe('pink ctl start|stop|restart (command function)', () => {
  function capture(env: Record<string, string>) {
    const out: string[] = [];
    return { io: { env, out: (t: string) => out.push(t) }, text: () => out.join('') };
  }

  it('stops pink via supervisorctl and echoes what ran', async () => {
    const fake = installFake('supervisorctl');
    const c = capture(fake.env);
    expect(await supervisorCommand('stop', {}, c.io)).toBe(0);
    expect(fake.argv()).toEqual(['stop', 'pink']);
    expect(c.text()).toBe('$ supervisorctl stop pink\nsupervisorctl says: stop pink\n');
  });

  it('uses --supervisor systemd and --program', async () => {
    const fake = installFake('systemctl');
    const c = capture(fake.env);
    expect(await supervisorCommand('restart', { supervisor: 'systemd', program: 'pink-worker' }, c.io)).toBe(
      0,
    );
    expect(fake.argv()).toEqual(['--user', '--no-pager', 'restart', 'pink-worker']);
  });

  it("exit 1 with the manager's stderr when it reports failure", async () => {
    const fake = installFake('supervisorctl', { FAKE_EXIT: '1' });
    const err = await supervisorCommand('start', {}, capture(fake.env).io).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(1);
    expect((err as CliError).message).toBe(
      'supervisord could not start pink (exit 1): supervisorctl complains',
    );
  });

  it('exit 2 when refused, when the tool is missing, or when the namespace is not pink-like', async () => {
    const fake = installFake('supervisorctl');
    const refused = (await supervisorCommand('stop', { program: 'dolphin-blue' }, capture(fake.env).io).catch(
      (e: unknown) => e,
    )) as CliError;
    expect(refused.exitCode).toBe(2);
    expect(refused.message).toMatch(/belongs to strategy "blue"/);
    expect(fake.argv()).toBeUndefined();

    const missing = (await supervisorCommand(
      'stop',
      {},
      capture({ PATH: path.join(dir, 'nowhere') }).io,
    ).catch((e: unknown) => e)) as CliError;
    expect(missing.exitCode).toBe(2);
    expect(missing.message).toMatch(/supervisorctl was not found on PATH/);

    const badNs = (await supervisorCommand(
      'stop',
      {},
      capture({ ...fake.env, DOLPHIN_STRATEGY_NAME: 'prodpink' }).io,
    ).catch((e: unknown) => e)) as CliError;
    expect(badNs.exitCode).toBe(2);
    expect(badNs.message).toMatch(/"prodpink" refused/);
  });
});
