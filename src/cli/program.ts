/** The `pink` command line: each command lives in its own module under commands/. */
import { Command } from 'commander';
import { registerBenchChildren } from './commands/bench-children.js';
import { register as registerConfig } from './commands/config.js';
import { register as registerCtl } from './commands/ctl.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerParity } from './commands/parity.js';
import { register as registerReplay } from './commands/replay.js';
import { register as registerReport } from './commands/report.js';
import { register as registerRun } from './commands/run.js';
import { register as registerSchema } from './commands/schema.js';
import { register as registerSimtest } from './commands/simtest.js';
import { register as registerSimulate } from './commands/simulate.js';
import { register as registerSoak } from './commands/soak.js';
import { register as registerTui } from './commands/tui.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('pink')
    .description('PINK: isolated, exchange-led execution runtime for the BLUE decision algorithm')
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.exitOverride((err) => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(0);
    process.exit(2);
  });
  registerReplay(program);
  registerParity(program);
  registerSimtest(program);
  registerRun(program);
  registerCtl(program);
  registerConfig(program);
  registerSchema(program);
  registerSimulate(program);
  registerDemo(program);
  registerSoak(program);
  registerReport(program);
  registerTui(program);
  registerBenchChildren(program);
  return program;
}
