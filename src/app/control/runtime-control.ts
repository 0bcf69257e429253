/** The operator's levers on a running Runtime, as the command processor uses them. */
import type { Runtime } from '../runtime.js';
import type { RuntimeControl } from './processor.js';

export function runtimeControl(rt: Runtime): RuntimeControl {
  return {
    // Posture is durable: checkpointed before the outcome says APPLIED, so a crash keeps it.
    pause: async () => {
      rt.setPaused(true);
      return durably(rt);
    },
    resume: async () => {
      rt.setPaused(false);
      return durably(rt);
    },
    flatten: (reason) => rt.requestFlatten(reason),
    setCapital: async (amount, kind, commandId) => {
      const r = rt.adjustCapital(amount, kind, commandId);
      if (!r.accepted) return r;
      const note = await durably(rt);
      return note ? { ...r, reason: `${r.reason}; ${note}` } : r;
    },
    get paused() {
      return rt.pipeline.paused;
    },
    get hasOpenPosition() {
      return rt.pipeline.kernel.hasTrade;
    },
  };
}

/** Checkpoints the posture; a journal that cannot be written is said, not hidden (the change holds in memory). */
async function durably(rt: Runtime): Promise<string | undefined> {
  try {
    await rt.saveJournal();
    return undefined;
  } catch (err) {
    return `NOT durable, the journal could not be written: ${(err as Error).message}`;
  }
}
