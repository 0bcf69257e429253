/**
 * `pink ctl pause|resume|flatten|set-capital <amount>|send <json>`: offers an operator
 * command to the running PINK's command queue and waits for its outcome. The runtime
 * is found through Hazelcast when HAZELCAST_MEMBERS is set, otherwise through its
 * discovery file `<varDir>/run/<strategy>.json` and its loopback state server.
 * Exit codes: 0 applied, 1 refused or no outcome in time, 2 could not send.
 */

import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Command } from 'commander';
import { commandTokenPath, readCommandToken } from '../../adapters/statebus/command-token.js';
import { isProcessAlive, readDiscovery } from '../../adapters/statebus/discovery.js';
import { GuardedStateBus } from '../../adapters/statebus/guarded.js';
import { connectHazelcastStateBus } from '../../adapters/statebus/hazelcast.js';
import { RemoteBusError, RemoteStateBus } from '../../adapters/statebus/remote.js';
import { waitForKey } from '../../adapters/statebus/state-server.js';
import {
  CommandSchema,
  type CommandType,
  itemDigest,
  type OperatorCommand,
  parseCommand,
} from '../../app/control/commands.js';
import { type Namespace, WriteGuard } from '../../domain/namespaces.js';
import { printable } from '../../observability/printable.js';
import { commandOutcomeKey, type StateBus } from '../../ports/state-bus.js';
import { action, asBadInput, CliError, EXIT } from '../errors.js';
import { numberArg } from '../numbers.js';
import { runningNamespace } from '../running-namespace.js';

export interface OperatorCliOptions {
  config?: string;
  timeout?: string;
  reason?: string;
  update?: boolean;
}

export interface OperatorCliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (text: string) => void;
}

const defaultIo = (): OperatorCliIo => ({ env: process.env, out: (t) => process.stdout.write(t) });

export const DEFAULT_TIMEOUT_MS = 10_000;

/** A connection to a running PINK able to offer a command and await its outcome. */
interface RuntimeLink {
  readonly describe: string;
  readonly bus: StateBus;
  waitForOutcome(id: string, waitMs: number): Promise<string | null>;
  close(): Promise<void>;
}

function parseTimeout(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_TIMEOUT_MS;
  return numberArg('--timeout', raw, { integer: true, min: 1, max: 3_600_000 });
}

async function linkViaHazelcast(ns: Namespace, members: string[], clusterName: string, timeoutMs: number) {
  const raw = await connectHazelcastStateBus({ members, clusterName }, Math.min(timeoutMs, 5000)).catch(
    (err: Error) => {
      throw new CliError(err.message);
    },
  );
  const bus = new GuardedStateBus(raw, new WriteGuard(ns));
  return {
    describe: `Hazelcast ${members.join(',')}`,
    bus,
    waitForOutcome: (id: string, waitMs: number) =>
      waitForKey(bus, ns.stateMap, commandOutcomeKey(id), waitMs),
    close: () => bus.close(),
  } satisfies RuntimeLink;
}

async function linkViaDiscovery(ns: Namespace, varDir: string): Promise<RuntimeLink> {
  const dir = path.join(varDir, 'run');
  const found = await readDiscovery(dir, ns);
  const file = path.join(dir, `${ns.strategy}.json`);
  if (!found)
    throw new CliError(
      `no running PINK found for strategy "${ns.strategy}": ${file} does not exist (start \`pink run\`, set PINK_VAR_DIR to its var directory, or set HAZELCAST_MEMBERS)`,
    );
  if (!isProcessAlive(found.pid))
    throw new CliError(
      `stale discovery file ${file}: process ${found.pid} is not running (started ${found.startedAt})`,
    );
  let commandToken: string;
  try {
    commandToken = readCommandToken(commandTokenPath(dir, ns));
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const bus = new RemoteStateBus({ baseUrl: `http://${found.host}:${found.statePort}`, ns, commandToken });
  return {
    describe: `pid ${found.pid} on ${found.host}:${found.statePort}`,
    bus,
    waitForOutcome: (id, waitMs) => bus.waitForOutcome(id, waitMs),
    close: () => bus.close(),
  };
}

async function connect(o: OperatorCliOptions, io: OperatorCliIo, timeoutMs: number) {
  const { ns, cfg } = runningNamespace({ use: 'act', file: o.config, env: io.env });
  const link = cfg.hazelcast.members.length
    ? await linkViaHazelcast(ns, cfg.hazelcast.members, cfg.hazelcast.clusterName, timeoutMs)
    : await linkViaDiscovery(ns, cfg.varDir);
  return { ns, link };
}

interface OutcomeRecord {
  id: string;
  type: string | null;
  status: string;
  reason: string;
  ts?: number;
  item_digest?: string;
}

/** Offers one command built by `pink ctl` (checked here first) and waits for its outcome. */
export async function sendOperatorCommand(
  command: OperatorCommand,
  o: OperatorCliOptions,
  io: OperatorCliIo = defaultIo(),
): Promise<number> {
  const checked = CommandSchema.safeParse(command);
  if (!checked.success)
    throw new CliError(
      `command refused before sending: ${checked.error.issues.map((i) => `${i.path.join('.') || 'command'}: ${i.message}`).join('; ')}`,
    );
  return offerCommandText(JSON.stringify(checked.data), o, io);
}

/**
 * Offers the operator's text exactly as given (the runtime is the one judge of it: a key
 * written twice, an unknown field, a bad amount get its REFUSED outcome) and waits.
 */
export async function offerCommandText(
  text: string,
  o: OperatorCliOptions,
  io: OperatorCliIo = defaultIo(),
): Promise<number> {
  const timeoutMs = parseTimeout(o.timeout);
  const parsed = parseCommand(text);
  // The id the runtime will file the outcome under (its own for an unusable id).
  const command = parsed.ok
    ? { id: parsed.command.id, type: parsed.command.type }
    : { id: parsed.id, type: parsed.type ?? 'command' };
  let ns: Namespace;
  let link: RuntimeLink;
  try {
    ({ ns, link } = await connect(o, io, timeoutMs));
  } catch (err) {
    throw asBadInput(err);
  }
  try {
    // An id handled before is not sent again: its first outcome is the answer.
    const first = await link.bus.mapGet(ns.stateMap, commandOutcomeKey(command.id));
    if (first !== null) {
      const was = JSON.parse(first) as OutcomeRecord;
      io.out(
        `${printable(`DUPLICATE ${command.type} id=${command.id}: handled before, not sent again; the first time: ${was.status} ${was.type ?? '?'}: ${was.reason}${was.ts ? ` (${new Date(was.ts).toISOString()})` : ''}`)}\n`,
      );
      return EXIT.FAILED;
    }
    const offered = await link.bus.queueOffer(ns.commandQueue, text).catch((err: Error) => {
      throw new CliError(
        `could not send ${command.type} to ${ns.commandQueue} (${link.describe}): ${err.message}`,
      );
    });
    if (!offered)
      throw new CliError(
        `${ns.commandQueue} did not accept ${command.type} (${link.describe}): ${link.bus.health().lastError || 'queue full'}`,
      );
    io.out(
      `sent ${command.type} id=${command.id} to ${ns.commandQueue} (${link.describe}); waiting up to ${timeoutMs} ms\n`,
    );
    const answer = await link.waitForOutcome(command.id, timeoutMs).catch((err: Error) => {
      throw new CliError(
        `lost contact while waiting for the outcome of ${command.id}: ${err.message}`,
        EXIT.FAILED,
      );
    });
    if (answer === null)
      throw new CliError(
        `no outcome for ${command.id} within ${timeoutMs} ms: the command stays queued and will be applied once when the runtime reads it (is the runtime running its loop?)`,
        EXIT.FAILED,
      );
    const outcome = JSON.parse(answer) as OutcomeRecord;
    if (outcome.item_digest && outcome.item_digest !== itemDigest(text)) {
      // Another sender's item with this id came first: ours was the repeat, not applied.
      io.out(
        `${printable(`DUPLICATE ${command.type} id=${command.id}: another command with this id was handled first, this one not applied; that one: ${outcome.status} ${outcome.type ?? '?'}: ${outcome.reason}`)}\n`,
      );
      return EXIT.FAILED;
    }
    io.out(printable(`${outcome.status} ${outcome.type ?? '?'} id=${outcome.id}: ${outcome.reason}`) + '\n');
    return outcome.status === 'APPLIED' ? EXIT.OK : EXIT.FAILED;
  } catch (err) {
    if (err instanceof RemoteBusError) throw new CliError(err.message, EXIT.BAD_INPUT);
    throw err;
  } finally {
    await link.close();
  }
}

export function newCommandId(): string {
  return `ctl-${Date.now()}-${randomUUID().slice(0, 8)}`;
}

function build(type: CommandType, o: OperatorCliOptions, amount?: number): OperatorCommand {
  return {
    id: newCommandId(),
    type,
    ...(amount !== undefined ? { amount } : {}),
    ...(o.reason ? { reason: o.reason } : {}),
    issued_at: new Date().toISOString(),
  };
}

function parseAmount(raw: string): number {
  return numberArg('amount (USDT)', raw, { above: 0 });
}

/**
 * `send <json>`: the text must be a JSON object. It is sent as written; only a missing
 * id is added, as a first key in front of the rest, which stays byte for byte.
 */
export function commandTextFromJson(text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CliError(`command is not JSON: ${(err as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new CliError('command must be a JSON object like {"type":"PAUSE"}');
  if ('id' in json) return text;
  const open = text.indexOf('{');
  const rest = text.slice(open + 1);
  const sep = /^\s*}/.test(rest) ? '' : ',';
  return `${text.slice(0, open + 1)}"id":${JSON.stringify(newCommandId())}${sep}${rest}`;
}

function withCommonOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'configuration file (JSON); var directory and Hazelcast settings come from it')
    .option('--timeout <ms>', `how long to wait for the outcome (default ${DEFAULT_TIMEOUT_MS})`);
}

/** Adds the operator commands to an existing `ctl` command. */
export function registerCtlCommands(ctl: Command): void {
  const run = (make: (o: OperatorCliOptions, arg?: string) => OperatorCommand) =>
    action(async (...args: unknown[]) => {
      const cmd = args.find(
        (a) => typeof a === 'object' && a !== null && !Array.isArray(a),
      ) as OperatorCliOptions;
      const arg = typeof args[0] === 'string' ? args[0] : undefined;
      return sendOperatorCommand(make(cmd, arg), cmd);
    });
  const simple: [string, CommandType, string][] = [
    ['pause', 'PAUSE', 'stop opening new trades (an open trade keeps being managed)'],
    ['resume', 'RESUME', 'allow new entries again'],
    ['flatten', 'FLATTEN', 'close the open position now (refused when flat)'],
  ];
  for (const [name, type, description] of simple)
    withCommonOptions(ctl.command(name).description(description))
      .option('--reason <text>', 'free text recorded with the command')
      .action(run((o) => build(type, o)));
  withCommonOptions(
    ctl
      .command('set-capital <amount>')
      .description('set the trading capital (USDT); --update sends CAPITAL_UPDATE instead of SET_CAPITAL'),
  )
    .option('--update', 'send CAPITAL_UPDATE (BLUE workflow) instead of SET_CAPITAL')
    .option('--reason <text>', 'free text recorded with the command')
    .action(
      run((o, amount) => build(o.update ? 'CAPITAL_UPDATE' : 'SET_CAPITAL', o, parseAmount(amount ?? ''))),
    );
  withCommonOptions(
    ctl
      .command('send <json>')
      .description(
        'send a raw command, e.g. \'{"type":"SET_CAPITAL","amount":25000}\' (an id is added when missing)',
      ),
  ).action(
    action(async (json: string, o: OperatorCliOptions) => offerCommandText(commandTextFromJson(json), o)),
  );
}

/** Stand-alone registration: adds (or reuses) `pink ctl` and attaches the operator commands. */
export function register(program: Command): Command {
  const ctl = program.commands.find((c) => c.name() === 'ctl') ?? program.command('ctl');
  registerCtlCommands(ctl);
  return ctl;
}
