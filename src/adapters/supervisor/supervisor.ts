/**
 * Process-manager control for a deployed PINK: `supervisorctl <verb> <program>` or
 * `systemctl --user <verb> <unit>`. Commands run as argument arrays (no shell), and
 * only after assertOwnProgram has accepted the name, so a typo or a hostile value can
 * never reach another strategy's program.
 */
import { execFile } from 'node:child_process';
import type { Namespace } from '../../domain/namespaces.js';
import { assertOwnProgram } from './own-program.js';

export type SupervisorKind = 'supervisord' | 'systemd';
export const SUPERVISOR_KINDS: readonly SupervisorKind[] = ['supervisord', 'systemd'];
export type SupervisorVerb = 'start' | 'stop' | 'restart' | 'status';

type Env = Readonly<Record<string, string | undefined>>;

export interface SupervisorOptions {
  readonly ns: Namespace;
  /** Environment of the child (its PATH finds the binary). Default: process.env. */
  readonly env?: Env;
  /** Binary to run; default `supervisorctl` or `systemctl` (PINK_SUPERVISORCTL / PINK_SYSTEMCTL). */
  readonly binary?: string;
  /** supervisord only: `supervisorctl -c FILE` (PINK_SUPERVISOR_CONF). */
  readonly configFile?: string;
  /** systemd only: `--user` (default) or the system manager (PINK_SYSTEMD_SCOPE=system). */
  readonly scope?: 'user' | 'system';
  /** Kill the command after this long; stop waits for the ledger flush (default 120 s). */
  readonly timeoutMs?: number;
}

export interface SupervisorResult {
  /** The argv that ran, binary first (for the operator and the tests). */
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Supervisor {
  readonly kind: SupervisorKind;
  start(program: string): Promise<SupervisorResult>;
  stop(program: string): Promise<SupervisorResult>;
  restart(program: string): Promise<SupervisorResult>;
  status(program: string): Promise<SupervisorResult>;
}

/** The process manager's command-line tool is missing or cannot be run. */
export class SupervisorUnavailable extends Error {
  override name = 'SupervisorUnavailable';
}

export class SupervisorConfigError extends Error {
  override name = 'SupervisorConfigError';
}

/** The argv for one verb, binary excluded. Pure, so it is tested without running anything. */
export function supervisorArgs(
  kind: SupervisorKind,
  verb: SupervisorVerb,
  program: string,
  opts: Pick<SupervisorOptions, 'configFile' | 'scope'> = {},
): string[] {
  if (kind === 'supervisord') return [...(opts.configFile ? ['-c', opts.configFile] : []), verb, program];
  return [...(opts.scope === 'system' ? [] : ['--user']), '--no-pager', verb, program];
}

function defaultBinary(kind: SupervisorKind, env: Env): string {
  if (kind === 'supervisord') return env.PINK_SUPERVISORCTL?.trim() || 'supervisorctl';
  return env.PINK_SYSTEMCTL?.trim() || 'systemctl';
}

function run(binary: string, args: string[], env: Env, timeoutMs: number): Promise<SupervisorResult> {
  const argv = [binary, ...args];
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      args,
      { env: env as NodeJS.ProcessEnv, timeout: timeoutMs, shell: false, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        const code = (err as NodeJS.ErrnoException | null)?.code;
        if (code === 'ENOENT' || code === 'EACCES') {
          reject(
            new SupervisorUnavailable(
              `${binary} ${code === 'ENOENT' ? 'was not found on PATH' : 'is not executable'} ` +
                `(is ${binary.includes('systemctl') ? 'systemd' : 'supervisor'} installed on this host?)`,
            ),
          );
          return;
        }
        const killed = (err as { killed?: boolean } | null)?.killed === true;
        if (killed) {
          reject(new SupervisorUnavailable(`${argv.join(' ')} did not finish within ${timeoutMs} ms`));
          return;
        }
        const exitCode = typeof code === 'number' ? code : err ? 1 : 0;
        resolve({ argv, exitCode, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

export function createSupervisor(kind: SupervisorKind, opts: SupervisorOptions): Supervisor {
  if (!SUPERVISOR_KINDS.includes(kind))
    throw new SupervisorConfigError(`supervisor "${kind}" is not one of ${SUPERVISOR_KINDS.join(', ')}`);
  const env = opts.env ?? process.env;
  const binary = opts.binary ?? defaultBinary(kind, env);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const act = async (verb: SupervisorVerb, program: string) => {
    assertOwnProgram(program, opts.ns);
    return run(binary, supervisorArgs(kind, verb, program, opts), env, timeoutMs);
  };
  return {
    kind,
    start: (p) => act('start', p),
    stop: (p) => act('stop', p),
    restart: (p) => act('restart', p),
    status: (p) => act('status', p),
  };
}

/** Settings from the environment: PINK_SUPERVISOR, PINK_PROGRAM and friends. */
export interface SupervisorSettings {
  readonly kind: SupervisorKind;
  readonly program: string;
  readonly configFile?: string;
  readonly scope: 'user' | 'system';
}

/** The program each manager knows PINK by when PINK_PROGRAM is unset. */
export function defaultProgram(kind: SupervisorKind, ns: Namespace): string {
  return kind === 'supervisord' ? ns.strategy : `${ns.strategy}-worker.service`;
}

export function supervisorSettings(
  env: Env,
  ns: Namespace,
  flags: { supervisor?: string; program?: string } = {},
): SupervisorSettings {
  const kindText = flags.supervisor ?? (env.PINK_SUPERVISOR?.trim() || 'supervisord');
  if (!SUPERVISOR_KINDS.includes(kindText as SupervisorKind)) {
    const origin = flags.supervisor !== undefined ? '--supervisor' : 'PINK_SUPERVISOR';
    throw new SupervisorConfigError(
      `${origin}="${kindText}" is not a supervisor (use ${SUPERVISOR_KINDS.join(' or ')})`,
    );
  }
  const kind = kindText as SupervisorKind;
  const scopeText = env.PINK_SYSTEMD_SCOPE?.trim() || 'user';
  if (scopeText !== 'user' && scopeText !== 'system')
    throw new SupervisorConfigError(`PINK_SYSTEMD_SCOPE="${scopeText}" must be user or system`);
  const program = flags.program ?? (env.PINK_PROGRAM?.trim() || defaultProgram(kind, ns));
  const configFile = env.PINK_SUPERVISOR_CONF?.trim() || undefined;
  return { kind, program, scope: scopeText, ...(configFile ? { configFile } : {}) };
}
