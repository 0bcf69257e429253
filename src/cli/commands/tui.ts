/**
 * `pink tui [--strategy NAME] [--refresh-ms N] [--stale-ms N] [--wait]`: a live terminal
 * dashboard over the published state (DESIGN.md §6) of one namespace. PINK's own
 * namespace can be paused, resumed and flattened from it (through the `pink ctl` path);
 * any other registered strategy is shown read-only. Exit 0 on q, 2 when no runtime is
 * found (unless --wait) or an option is wrong.
 */

import type { Command } from 'commander';
import { type OpenedSource, openSource } from '../../tui/source.js';
import { action, asBadInput, CliError, EXIT } from '../errors.js';
import { numberArg } from '../numbers.js';
import { DEFAULT_TIMEOUT_MS } from './ctl-commands.js';

export interface TuiCliOptions {
  strategy?: string;
  refreshMs?: string;
  staleMs?: string;
  timeout?: string;
  wait?: boolean;
  config?: string;
}

export interface TuiIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: NodeJS.WriteStream;
  readonly stdin: NodeJS.ReadStream;
  readonly stderr: NodeJS.WriteStream;
}

const defaultIo = (): TuiIo => ({
  env: process.env,
  stdout: process.stdout,
  stdin: process.stdin,
  stderr: process.stderr,
});

function whole(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  return numberArg(name, raw, { integer: true, min, max });
}

/** Opens the source and checks a runtime is there; throws CliError (exit 2) when not and not --wait. */
export async function prepareTui(o: TuiCliOptions, env: TuiIo['env']) {
  const refreshMs = whole('--refresh-ms', o.refreshMs, 1000, 100, 60_000);
  const timeoutMs = whole('--timeout', o.timeout, DEFAULT_TIMEOUT_MS, 1, 3_600_000);
  let opened: OpenedSource;
  try {
    opened = await openSource({ strategy: o.strategy, config: o.config, env, commandTimeoutMs: timeoutMs });
  } catch (err) {
    throw asBadInput(err);
  }
  const staleAfterMs = whole(
    '--stale-ms',
    o.staleMs,
    Math.max(3 * opened.heartbeatMs, 5000),
    100,
    86_400_000,
  );
  const first = await opened.source.read();
  if (first.kind !== 'state' && !o.wait) {
    await opened.source.close();
    throw new CliError(
      `${first.message}; start \`pink run\`, point PINK_VAR_DIR at its var directory or set HAZELCAST_MEMBERS, or pass --wait`,
      EXIT.BAD_INPUT,
    );
  }
  return { opened, first, refreshMs, staleAfterMs };
}

export async function tuiCommand(o: TuiCliOptions, io: TuiIo = defaultIo()): Promise<number> {
  const { opened, first, refreshMs, staleAfterMs } = await prepareTui(o, io.env);
  try {
    // Loaded here so other commands do not pay for ink, react and yoga at start-up.
    const [{ render }, { createElement }, { Dashboard }] = await Promise.all([
      import('ink'),
      import('react'),
      import('../../tui/Dashboard.js'),
    ]);
    const app = render(
      createElement(Dashboard, { source: opened.source, refreshMs, staleAfterMs, initial: first }),
      { stdout: io.stdout, stdin: io.stdin, stderr: io.stderr, exitOnCtrlC: true },
    );
    await app.waitUntilExit();
  } finally {
    await opened.source.close();
  }
  return EXIT.OK;
}

export function register(program: Command): Command {
  return program
    .command('tui')
    .description(
      'live dashboard of the published state: posture, slot, capital, health, alerts; p/r/f pause/resume/flatten (with y/n), q quit',
    )
    .option(
      '--strategy <name>',
      'namespace to show (default: the configured strategy, pink); any strategy but pink is shown read-only, e.g. blue',
    )
    .option('--refresh-ms <ms>', 'how often the state is read (default 1000)')
    .option('--stale-ms <ms>', 'heartbeat age that raises an alert (default 3 x heartbeatMs, at least 5000)')
    .option('--timeout <ms>', `how long a command waits for its outcome (default ${DEFAULT_TIMEOUT_MS})`)
    .option('--wait', 'keep waiting for a runtime instead of exiting when none is found')
    .option('--config <file>', 'configuration file (JSON); var directory and Hazelcast settings come from it')
    .action(action((o: TuiCliOptions) => tuiCommand(o)));
}
