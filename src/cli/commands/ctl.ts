/** `pink ctl ...`: operate a deployed PINK (PINK surfaces only). */

import { join } from 'node:path';
import { Command } from 'commander';
import { plannedBingxEndpoints } from '../../adapters/bingx/ccxt-venue.js';
import { resolveEnvName } from '../../adapters/bingx/safety.js';
import { commandTokenPath, rotateCommandToken } from '../../adapters/statebus/command-token.js';
import type { PinkConfig } from '../../app/config.js';
import { formatChecks, type ModeVerifyInput, modeVerify } from '../../app/mode-verify.js';
import { strategyFor } from '../../app/strategies.js';
import { action, EXIT } from '../errors.js';
import { runningNamespace } from '../running-namespace.js';
import { registerCtlCommands } from './ctl-commands.js';
import { registerStatusCommands } from './ctl-status.js';
import { registerSupervisorCommands } from './ctl-supervisor.js';

interface ModeVerifyOptions {
  config?: string;
  expectParamHash?: string;
}

async function modeVerifyCommand(o: ModeVerifyOptions): Promise<number> {
  const { cfg } = runningNamespace({ use: 'act', file: o.config });
  const strategy = await strategyFor(cfg.algorithm, cfg.algorithmParams);
  const checks = modeVerify({
    endpoints: await plannedEndpoints(cfg),
    env: process.env,
    configStrategy: cfg.strategy,
    strategy,
    expectedParamHash: o.expectParamHash,
    resolveBingxEnv: (env) => ({ name: resolveEnvName(env) }),
  });
  process.stdout.write(`${formatChecks(checks)}\n`);
  return checks.every((c) => c.ok) ? EXIT.OK : EXIT.FAILED;
}

/** What the configured venue would connect to: computed from a configured ccxt exchange, no network. */
async function plannedEndpoints(cfg: PinkConfig): Promise<ModeVerifyInput['endpoints']> {
  if (cfg.venue === 'sim') return null;
  if (cfg.venue === 'bingx-sim') {
    // The run starts its own simulator on an ephemeral loopback port: check the same wiring on one.
    const r = await plannedBingxEndpoints('VST', 'http://127.0.0.1:1');
    return {
      venue: 'bingx-sim (loopback simulator started by the run)',
      hosts: r.endpoints,
      problems: r.problems,
    };
  }
  let envName: 'VST' | 'MAINNET';
  try {
    envName = resolveEnvName(process.env);
  } catch (err) {
    return { venue: 'bingx', hosts: [], problems: [(err as Error).message] };
  }
  const r = await plannedBingxEndpoints(envName, cfg.bingx.baseUrl);
  return { venue: `bingx ${envName}`, hosts: r.endpoints, problems: r.problems };
}

export function register(program: Command): Command {
  const ctl = new Command('ctl').description(
    'operate a deployed PINK: status, health, supervisor, operator commands',
  );
  ctl
    .command('mode-verify')
    .description(
      'check the namespace wiring, the VST guard and the strategy parameter hash; prints a pass/fail table',
    )
    .option('--config <file>', 'configuration file (JSON)')
    .option('--expect-param-hash <sha256>', 'fail unless the strategy parameter hash equals this')
    .action(action((o: ModeVerifyOptions) => modeVerifyCommand(o)));
  ctl
    .command('rotate-token')
    .description(
      'replace the command credential (<varDir>/run/<strategy>.token, mode 0600); a running PINK accepts only the new one from its next command',
    )
    .option('--config <file>', 'configuration file (JSON)')
    .action(
      action(async (o: { config?: string }) => {
        const { ns, cfg } = runningNamespace({ use: 'act', file: o.config });
        const file = commandTokenPath(join(cfg.varDir, 'run'), ns);
        rotateCommandToken(file);
        process.stdout.write(`command token rotated: ${file} (mode 600)\n`);
        return EXIT.OK;
      }),
    );
  registerStatusCommands(ctl);
  registerSupervisorCommands(ctl);
  registerCtlCommands(ctl);
  program.addCommand(ctl);
  return ctl;
}
