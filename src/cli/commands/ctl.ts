/** `pink ctl ...`: operate a deployed PINK (PINK surfaces only). */

import { Command } from 'commander';
import { resolveEnvName } from '../../adapters/bingx/safety.js';
import { formatChecks, modeVerify } from '../../app/mode-verify.js';
import { loadStrategy } from '../../strategy/loader.js';
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
  const strategy = await loadStrategy(cfg.algorithm, cfg.algorithmParams);
  const checks = modeVerify({
    env: process.env,
    configStrategy: cfg.strategy,
    strategy,
    expectedParamHash: o.expectParamHash,
    resolveBingxEnv: (env) => ({ name: resolveEnvName(env) }),
  });
  process.stdout.write(`${formatChecks(checks)}\n`);
  return checks.every((c) => c.ok) ? EXIT.OK : EXIT.FAILED;
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
  registerStatusCommands(ctl);
  registerSupervisorCommands(ctl);
  registerCtlCommands(ctl);
  program.addCommand(ctl);
  return ctl;
}
