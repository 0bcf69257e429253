/**
 * `pink ctl start|stop|restart [--program NAME] [--supervisor supervisord|systemd]`:
 * lifecycle of a deployed PINK through its process manager. Only this namespace's
 * programs are accepted (assertOwnProgram); the lead's `pink ctl` parent command
 * calls registerSupervisorCommands(ctl).
 */

import type { Command } from 'commander';
import { ProgramRefused } from '../../adapters/supervisor/own-program.js';
import {
  createSupervisor,
  SupervisorConfigError,
  SupervisorUnavailable,
  type SupervisorVerb,
  supervisorSettings,
} from '../../adapters/supervisor/supervisor.js';
import { NamespaceError } from '../../domain/namespaces.js';
import { action, CliError, EXIT } from '../errors.js';
import { runningNamespace } from '../running-namespace.js';

export interface SupervisorCliOptions {
  config?: string;
  program?: string;
  supervisor?: string;
}

export interface SupervisorCliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (text: string) => void;
}

const defaultIo = (): SupervisorCliIo => ({ env: process.env, out: (t) => process.stdout.write(t) });

/** Runs one verb; returns the exit code (0 done, 1 the manager reported failure, 2 could not run). */
export async function supervisorCommand(
  verb: SupervisorVerb,
  o: SupervisorCliOptions,
  io: SupervisorCliIo = defaultIo(),
): Promise<number> {
  try {
    const { ns } = runningNamespace({ use: 'act', file: o.config, env: io.env as NodeJS.ProcessEnv });
    const settings = supervisorSettings(io.env, ns, o);
    const sup = createSupervisor(settings.kind, {
      ns,
      env: io.env,
      scope: settings.scope,
      configFile: settings.configFile,
    });
    const r = await sup[verb](settings.program);
    io.out(`$ ${r.argv.join(' ')}\n`);
    if (r.stdout) io.out(r.stdout.endsWith('\n') ? r.stdout : `${r.stdout}\n`);
    if (r.exitCode !== 0)
      throw new CliError(
        `${settings.kind} could not ${verb} ${settings.program} (exit ${r.exitCode})${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`,
        EXIT.FAILED,
      );
    return EXIT.OK;
  } catch (err) {
    if (
      err instanceof ProgramRefused ||
      err instanceof SupervisorUnavailable ||
      err instanceof SupervisorConfigError ||
      err instanceof NamespaceError
    )
      throw new CliError(err.message, EXIT.BAD_INPUT);
    throw err;
  }
}

const VERBS: readonly [SupervisorVerb, string][] = [
  ['start', 'start the PINK program through its process manager'],
  ['stop', 'stop PINK cleanly (SIGTERM; waits for the ledger flush)'],
  ['restart', 'stop then start PINK (start-up recovery re-imports exchange positions)'],
];

export function registerSupervisorCommands(ctl: Command): void {
  for (const [verb, description] of VERBS) {
    ctl
      .command(verb)
      .description(description)
      .option(
        '--program <name>',
        'program or unit name (env PINK_PROGRAM; default pink for supervisord, pink-worker.service for systemd)',
      )
      .option('--config <file>', 'configuration file (JSON); only its namespace is used')
      .option(
        '--supervisor <kind>',
        'process manager: supervisord | systemd (env PINK_SUPERVISOR; default supervisord)',
      )
      .addHelpText(
        'after',
        "\nOnly this namespace's programs are accepted (e.g. pink, pink-worker.service, datastack-pink*).\n" +
          'Exit codes: 0 done, 1 the process manager reported a failure, 2 refused or the manager is not installed.',
      )
      .action(action((opts: SupervisorCliOptions) => supervisorCommand(verb, opts)));
  }
}
