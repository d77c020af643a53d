// Fault injection for the orchestrator's error-path tests: a test double behind the component
// registry port (RunEnvironment.components), never a field of the production request.
import { DataProcessorError, type Component, type ErrorCode } from '../../src/contracts/index.js';
import { COMPONENTS } from '../../src/processors/index.js';

export interface Fault {
  /** Thrown instead of running, on the first `times` attempts. */
  code?: ErrorCode;
  /** @defaultValue 1 */
  times?: number;
  /** Waits this long before each attempt. */
  delayMs?: number;
}

/** The registered components, with `faults` injected into the named ones. */
export function componentsWithFaults(faults: Readonly<Record<string, Fault>>): Component[] {
  return COMPONENTS.map((component) => {
    const fault = faults[component.name];
    if (!fault) return component;
    let attempts = 0;
    return {
      ...component,
      async run(ctx) {
        attempts += 1;
        if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
        if (fault.code && attempts <= (fault.times ?? 1))
          throw new DataProcessorError(fault.code, `injected fault (attempt ${attempts})`);
        return component.run(ctx);
      },
    } satisfies Component;
  });
}
