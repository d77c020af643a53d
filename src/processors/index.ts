import { DataProcessorError, type Component } from '../contracts/index.js';
import { audioComponents } from './audio/index.js';
import { textComponents } from './text/index.js';
import { visualComponents } from './visual/index.js';

/** Every registered component, by processor. The orchestrator never special-cases one by name. */
export const COMPONENTS: readonly Component[] = [...audioComponents, ...textComponents, ...visualComponents];

export function findComponent(name: string): Component | undefined {
  return COMPONENTS.find((c) => c.name === name);
}

/** The component called `name`, or INPUT_INVALID naming the known ones. */
export function componentByName(name: string): Component {
  const component = findComponent(name);
  if (!component) {
    throw new DataProcessorError(
      'INPUT_INVALID',
      `Unknown component "${name}"; known: ${COMPONENTS.map((c) => c.name).join(', ')}.`,
    );
  }
  return component;
}
