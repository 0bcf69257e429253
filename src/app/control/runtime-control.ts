/** The operator's levers on a running Runtime, as the command processor uses them. */
import type { Runtime } from '../runtime.js';
import type { RuntimeControl } from './processor.js';

export function runtimeControl(rt: Runtime): RuntimeControl {
  return {
    pause: () => rt.setPaused(true),
    resume: () => rt.setPaused(false),
    flatten: (reason) => rt.requestFlatten(reason),
    setCapital: (amount, kind) => rt.adjustCapital(amount, kind, ''),
    get paused() {
      return rt.pipeline.paused;
    },
    get hasOpenPosition() {
      return rt.pipeline.kernel.hasTrade;
    },
  };
}
