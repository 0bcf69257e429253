/** The operator's levers on a running Runtime, as the command processor uses them. */
import type { Runtime } from '../runtime.js';
import type { RuntimeControl } from './processor.js';

export function runtimeControl(rt: Runtime): RuntimeControl {
  return {
    // Effects change memory only; settle() checkpoints them with the command's outcome
    // before the outcome says APPLIED, so a crash keeps both or neither.
    pause: async () => rt.setPaused(true),
    resume: async () => rt.setPaused(false),
    flatten: (reason) => rt.requestFlatten(reason),
    setCapital: (amount, kind, commandId) => rt.adjustCapital(amount, kind, commandId),
    settle: async (commandId, outcome) => {
      try {
        await rt.settleCommand(commandId, outcome);
        return undefined;
      } catch (err) {
        return `NOT durable, the journal could not be written: ${(err as Error).message}`;
      }
    },
    settled: () => rt.settledCommands(),
    get paused() {
      return rt.pipeline.paused;
    },
    get hasOpenPosition() {
      return rt.pipeline.kernel.hasTrade;
    },
  };
}
